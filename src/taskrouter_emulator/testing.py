"""An emulator for tests: start one in-process on a free port, on a throw-away database.

The pytest plugin (`taskrouter_emulator.pytest_plugin`) is built on this; it is a plain module so
that test code can import these helpers without importing the plugin itself.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from taskrouter_emulator import config

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

    from taskrouter_emulator.clock import EmulatorClock
    from taskrouter_emulator.config import Settings

__all__ = [
    "DATABASE_URL_VARIABLE",
    "Account",
    "LiveServer",
    "free_port",
    "fresh_database",
    "start_server",
]

# Selects the backend of the fixtures' databases: unset or SQLite → a file in a temp directory;
# a PostgreSQL URL → a new database on that server, dropped afterwards.
DATABASE_URL_VARIABLE = "TASKROUTER_TEST_DATABASE_URL"


@dataclass(frozen=True)
class Account:
    """Credentials of one account on the emulator."""

    sid: str
    token: str

    @classmethod
    def fresh(cls) -> Account:
        """Return a random Account SID and token: an account nobody has used yet."""
        return cls(sid=f"AC{uuid.uuid4().hex}", token=uuid.uuid4().hex)


@dataclass
class LiveServer:
    """A running emulator and what tests need to reach it."""

    url: str
    clock: EmulatorClock
    settings: Settings
    app: FastAPI
    statuses: list[tuple[str, str, int]] = field(default_factory=list)

    def server_errors(self) -> list[tuple[str, str, int]]:
        """Return every request (method, path, status) answered with a 5xx status."""
        return [entry for entry in self.statuses if entry[2] >= 500]

    def advance(self, seconds: float, account: Account | None = None) -> datetime:
        """Move the emulated clock forward, firing due timers in order; return the new time."""
        auth = (account.sid, account.token) if account else None
        response = httpx.post(
            f"{self.url}/emulator/clock", data={"Advance": str(seconds)}, auth=auth, timeout=60
        )
        response.raise_for_status()
        return datetime.fromisoformat(response.json()["now"])


class _StatusRecorder:
    """ASGI middleware that remembers the status of every response."""

    def __init__(self, app: Any, sink: list[tuple[str, str, int]]) -> None:
        self.app = app
        self.sink = sink

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def recording_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.sink.append((scope["method"], scope["path"], message["status"]))
            await send(message)

        await self.app(scope, receive, recording_send)


def free_port() -> int:
    """Return a TCP port on the loopback interface that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def postgres_database(server_url: str, *, prefix: str = "tre_test") -> Iterator[str]:
    """Create a new, empty database `<prefix>_<random>` on a PostgreSQL server; drop it afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin_url = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def database_on(
    server_url: str | None, directory: Path, *, prefix: str = "tre_test"
) -> Iterator[str]:
    """Create an empty database: a SQLite file in `directory` unless `server_url` names a
    PostgreSQL server, where a new database `<prefix>_<random>` is made (and dropped afterwards)."""
    from sqlalchemy.engine import make_url

    if not server_url or make_url(server_url).get_backend_name() == "sqlite":
        yield f"sqlite:///{directory / f'taskrouter-{uuid.uuid4().hex[:8]}.db'}"
        return
    with postgres_database(server_url, prefix=prefix) as url:
        yield url


@contextmanager
def fresh_database(directory: Path) -> Iterator[str]:
    """Create an empty database on the configured backend (SQLite file or a new Postgres database)."""
    with database_on(os.environ.get(DATABASE_URL_VARIABLE), directory) as url:
        yield url


def start_server(
    settings: Settings, clock: EmulatorClock
) -> tuple[LiveServer, uvicorn.Server, threading.Thread]:
    """Start the emulator in a daemon thread on a free port and wait until it accepts connections."""
    import uvicorn

    from taskrouter_emulator.app import create_app

    app = create_app(settings, clock=clock)
    statuses: list[tuple[str, str, int]] = []
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            _StatusRecorder(app, statuses),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            timeout_keep_alive=config.KEEP_ALIVE_SECONDS,
        )
    )
    thread = threading.Thread(target=server.run, name="taskrouter-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the emulator did not start")
        time.sleep(0.01)
    live = LiveServer(
        url=f"http://127.0.0.1:{port}", clock=clock, settings=settings, app=app, statuses=statuses
    )
    return live, server, thread


@contextmanager
def serving(settings: Settings, clock: EmulatorClock) -> Iterator[LiveServer]:
    """Run a server of its own for the block; stop it afterwards and check it answered no 5xx."""
    live, server, thread = start_server(settings, clock)
    try:
        yield live
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert not live.server_errors(), live.server_errors()
