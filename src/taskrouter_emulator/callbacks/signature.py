"""`X-Twilio-Signature`: HMAC-SHA1 over the URL and the sorted POST parameters, base64-encoded.

The same algorithm as twilio-python's `RequestValidator.compute_signature`, so applications can
validate our callbacks with Twilio's own helpers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence


def compute_signature(auth_token: str, url: str, params: Mapping[str, str | Sequence[str]]) -> str:
    """Sign a request: URL, then each parameter name followed by each of its values, names sorted."""
    payload = url
    for name in sorted(set(params)):
        value = params[name]
        values = [value] if isinstance(value, str) else list(value)
        for item in sorted(set(values)):
            payload += name + item
    digest = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def strip_fragment(url: str) -> str:
    """Drop a `#…` connection-override fragment: it configures the request and is never sent."""
    return url.split("#", 1)[0]
