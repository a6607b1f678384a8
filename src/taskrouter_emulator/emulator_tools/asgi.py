"""Helpers for the emulator tools' ASGI middleware: who is calling, and answering with an error."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.types import Scope, Send

from taskrouter_emulator.errors import TwilioError, error_body

_CALLER = "taskrouter_caller_account"


async def caller_account(scope: Scope) -> str | None:
    """Return the account the request authenticates as, or None (the route then answers 401).

    Several middleware layers ask; the answer is kept in the request's scope.
    """
    if _CALLER in scope:
        known: str | None = scope[_CALLER]
        return known
    account = await _authenticate(scope)
    scope[_CALLER] = account
    return account


async def _authenticate(scope: Scope) -> str | None:
    header = None
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            header = value.decode("latin-1")
            break
    if header is None:
        return None
    authenticator: Any = scope["app"].state.authenticator
    try:
        account: str = await authenticator.authenticate(header)
    except (TwilioError, DBAPIError, PoolTimeoutError):
        # Refused credentials, or a database that cannot answer: the route's own handling
        # answers (401, or 503 from the error handler).
        return None
    return account


_DATA_VERSION = "taskrouter_data_version"


async def data_version_of(scope: Scope) -> object | None:
    """Return the database's data version as read when this request arrived (`db.data_version`).

    Read once per request and shared by the middleware layers that ask.
    """
    if _DATA_VERSION not in scope:
        scope[_DATA_VERSION] = await scope["app"].state.data_version.current()
    version: object | None = scope[_DATA_VERSION]
    return version


async def send_error(send: Send, *, status: int, code: int, message: str) -> None:
    """Answer with Twilio's error JSON."""
    body = json.dumps(error_body(status, code, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
