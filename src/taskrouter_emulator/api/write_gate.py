"""Queue writes in the event loop, before they take a worker thread.

FastAPI runs each sync dependency and the endpoint of a request in separate calls to its thread
pool. A write that holds a workspace's lock (a Postgres advisory lock, or SQLite's single write slot)
needs another pool thread for its next step; if every pool thread were taken by writes waiting for
that same lock, nobody could proceed. So writes wait here, as coroutines, until no other write of the
same workspace (on SQLite: no other write at all, as it has one writer) is running in this process;
at most one thread per workspace then waits on the database lock, for a holder in another process.
"""

from __future__ import annotations

import asyncio
import json
import re

from starlette.types import ASGIApp, Receive, Scope, Send

from taskrouter_emulator.errors import error_body

_WORKSPACE_PATH = re.compile(r"^/v1/Workspaces/(WS[0-9a-fA-F]{32})")
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_EVERYTHING = "*"


class WriteGate:
    """ASGI middleware: one write at a time per workspace (or per database, on SQLite)."""

    def __init__(self, app: ASGIApp, *, single_writer: bool) -> None:
        self.app = app
        self.single_writer = single_writer
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self._key(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        lock = self._acquire_ref(key)
        try:
            async with lock:
                await self.app(scope, receive, send)
        finally:
            self._release_ref(key)

    def _key(self, scope: Scope) -> str | None:
        if scope["type"] != "http" or scope["method"] in _READS:
            return None
        if self.single_writer:
            return _EVERYTHING
        match = _WORKSPACE_PATH.match(scope["path"])
        return match.group(1) if match else None

    def _acquire_ref(self, key: str) -> asyncio.Lock:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        return lock

    def _release_ref(self, key: str) -> None:
        lock, users = self._locks[key]
        if users <= 1:
            del self._locks[key]
        else:
            self._locks[key] = (lock, users - 1)



class Admission:
    """ASGI middleware: at most `limit` requests inside the app at once; others wait here.

    A request takes a database connection in its first dependency and keeps it until its last step,
    needing a pool thread for each step in between. Admitting no more requests than there are pool
    threads means every admitted request can always get a thread and a connection, so a burst of
    hundreds of connections queues here (as coroutines) instead of exhausting the pool. A request
    that waits longer than `timeout` seconds is answered 503 with Twilio's error JSON.
    """

    def __init__(self, app: ASGIApp, *, limit: int, timeout: float) -> None:
        self.app = app
        self.timeout = timeout
        self._slots = asyncio.Semaphore(limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=self.timeout)
        except TimeoutError:
            await _saturated(send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()


async def _saturated(send: Send) -> None:
    body = json.dumps(
        error_body(503, 20503, "The emulator is saturated: try again shortly")
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"1"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
