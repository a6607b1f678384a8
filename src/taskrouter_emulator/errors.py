"""The `TwilioError` hierarchy and the handlers that render every failure as Twilio error JSON.

twilio-python builds `TwilioRestException` from exactly the keys `code`, `message`, `more_info` and
`status`, so every error response (ours, FastAPI's validation errors, unknown routes, crashes) uses them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)


class TwilioError(Exception):
    """A failure with a Twilio error code and an HTTP status."""

    status: int = 400
    code: int = 20001

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers: dict[str, str] = {}


class InvalidParameter(TwilioError):
    """A parameter value is invalid or an operation is illegal in the current state (400/20001)."""


class InvalidFriendlyName(TwilioError):
    """FriendlyName is missing or longer than 64 characters (400/20002)."""

    code = 20002


class ResourceNotFound(TwilioError):
    """The requested resource does not exist or belongs to another account (404/20404)."""

    status = 404
    code = 20404

    def __init__(self, path: str) -> None:
        super().__init__(f"The requested resource {path} was not found")


class Conflict(TwilioError):
    """The resource is not in a state that allows the modification (409/20409)."""

    status = 409
    code = 20409


class MethodNotAllowed(TwilioError):
    """The path exists but not for this HTTP method (405/20004, with an `Allow` header)."""

    status = 405
    code = 20004

    def __init__(self, method: str, path: str, allowed: Iterable[str]) -> None:
        super().__init__(f"Method {method} not allowed on {path}")
        self.headers = {"Allow": ", ".join(ordered_methods(allowed))}


class PreconditionFailed(TwilioError):
    """The If-Match header does not match the resource's ETag (412/20412)."""

    status = 412
    code = 20412


class AuthenticationFailed(TwilioError):
    """Credentials are missing or wrong (401/20003)."""

    status = 401
    code = 20003

    def __init__(self, message: str = "Authentication Error - invalid username") -> None:
        super().__init__(message)
        self.headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'}


class PageSizeTooLarge(TwilioError):
    """PageSize above 1000 (400/20007)."""

    code = 20007


class ServiceUnavailable(TwilioError):
    """The emulator cannot serve the request now: saturated or its database is down (503/20503)."""

    status = 503
    code = 20503

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": "1"}


class AbsolutePagingNotAllowed(TwilioError):
    """`Page` greater than zero without a `PageToken` (400/40153)."""

    code = 40153


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def ordered_methods(methods: Iterable[str]) -> list[str]:
    """Return HTTP methods without duplicates in a stable, conventional order."""
    unique = {m.upper() for m in methods}
    return sorted(unique, key=lambda m: (_METHOD_ORDER.index(m) if m in _METHOD_ORDER else 99, m))


def leaf_routes(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """Yield every endpoint route, looking inside included routers."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from leaf_routes(included.routes)
        else:
            yield route


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on the request's path (RFC 9110 `Allow`)."""
    methods: set[str] = set()
    for route in leaf_routes(request.app.router.routes):
        route_methods = getattr(route, "methods", None)
        if route_methods and not getattr(route, "guards_method", False):
            match, _ = route.matches(request.scope)
            if match != Match.NONE:
                methods.update(route_methods)
    return ordered_methods(methods)


def error_body(status: int, code: int, message: str) -> dict[str, Any]:
    """Return Twilio's error JSON for the given status, code and message."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _response(
    status: int, code: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(status, code, message), status_code=status, headers=headers)


def _describe_validation_error(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        location = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        name = ".".join(location) or "request"
        parts.append(f"{name}: {err.get('msg', 'invalid value')}")
    return "Invalid parameters: " + "; ".join(parts)


_GENERIC_CODES = {
    400: 20001,
    401: 20003,
    403: 20403,
    409: 20409,
    413: 20413,
    429: 20429,
    503: 20503,
}


def _is_unavailable(exc: DBAPIError) -> bool:
    """Tell whether a driver error means the database cannot be reached or is busy, not a bug."""
    if "database is locked" in str(exc.orig).lower():
        return True
    # psycopg raises OperationalError for lost connections, refused connections and shutdowns.
    driver_error = type(exc.orig)
    return driver_error.__module__.startswith("psycopg") and any(
        klass.__name__ == "OperationalError" for klass in driver_error.__mro__
    )


def register_error_handlers(app: FastAPI) -> None:
    """Render every exception the app can raise as Twilio error JSON."""

    @app.exception_handler(TwilioError)
    async def _twilio_error(_request: Request, exc: TwilioError) -> JSONResponse:
        return _response(exc.status, exc.code, exc.message, exc.headers or None)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _response(400, 20001, _describe_validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return _response(404, 20404, f"The requested resource {request.url.path} was not found")
        if exc.status_code == 405:
            rejected = MethodNotAllowed(request.method, request.url.path, allowed_methods(request))
            return _response(405, rejected.code, rejected.message, rejected.headers)
        code = _GENERIC_CODES.get(exc.status_code, 20500 if exc.status_code >= 500 else 20001)
        return _response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(PoolTimeoutError)
    async def _pool_exhausted(request: Request, exc: PoolTimeoutError) -> JSONResponse:
        logger.warning("no database connection for %s %s: %s", request.method, request.url.path, exc)
        return _response(503, 20503, "The emulator is saturated: no database connection was free")

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated or _is_unavailable(exc):
            logger.warning("database unavailable for %s %s: %s", request.method, request.url.path, exc.orig)
            return _response(503, 20503, "The emulator's database is unavailable")
        logger.exception("database error on %s %s", request.method, request.url.path, exc_info=exc)
        return _response(500, 20500, "Internal Server Error")

    app.add_middleware(RefuseNulInPaths)
    app.add_middleware(RenderCrashes)


class RefuseNulInPaths:
    """Answer 404 for a path containing NUL (`%00`): no resource has such a name or SID.

    Paths may carry names (TaskChannels, WorkerChannels) that are looked up in the database, and
    PostgreSQL text cannot hold NUL while SQLite can: refusing them here answers alike on both.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "\x00" in scope["path"]:
            path = scope["path"].replace("\x00", "%00")
            await _response(404, 20404, f"The requested resource {path} was not found")(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)


class RenderCrashes:
    """Answer an unhandled exception with Twilio's 500 JSON, keeping the connection usable.

    Starlette's catch-all `Exception` handler sends its response and then re-raises, so uvicorn
    logs "Exception in ASGI application" and closes the keep-alive connection under the client.
    This middleware sits inside that one and ends the request itself.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:  # too late for an error body: let the server abort the response
                raise
            logger.exception(
                "unhandled error on %s %s", scope.get("method"), scope.get("path"), exc_info=exc
            )
            await _response(500, 20500, "Internal Server Error")(scope, receive, send)
