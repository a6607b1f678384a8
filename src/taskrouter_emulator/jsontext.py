"""Strict JSON for client documents (standard library only).

Python's `json` accepts `NaN`, `Infinity` and `-Infinity`, which are not JSON (RFC 8259 §6) and
which JavaScript's `JSON.parse` rejects; a document stored with them would be echoed back broken.
"""

from __future__ import annotations

import json
from typing import Any


def loads_strict(text: str) -> Any:
    """Parse JSON like `json.loads`, but raise `json.JSONDecodeError` on NaN and ±Infinity."""

    def refuse(constant: str) -> Any:
        raise json.JSONDecodeError(
            f"{constant} is not a valid JSON value", text, text.find(constant)
        )

    return json.loads(text, parse_constant=refuse)
