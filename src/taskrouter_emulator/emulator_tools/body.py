"""Request bodies of the control endpoints that take a document rather than form parameters."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from taskrouter_emulator.errors import InvalidParameter

MAX_DOCUMENT_BYTES = 256 * 1024 * 1024


async def raw_body(request: Request) -> bytes:
    """Return the request body, refusing an empty one."""
    body = await request.body()
    if not body.strip():
        raise InvalidParameter("The request body is empty: send the document as the body")
    if len(body) > MAX_DOCUMENT_BYTES:
        raise InvalidParameter(f"The document is larger than {MAX_DOCUMENT_BYTES} bytes")
    return body


async def json_body(request: Request) -> Any:
    """Return the request body parsed as JSON, or raise a 400 naming the line and column."""
    body = await raw_body(request)
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise InvalidParameter("The request body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InvalidParameter(
            f"The request body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
