"""Test fixtures: a live emulator (uvicorn in a thread) on SQLite or PostgreSQL, and Twilio clients.

Set TASKROUTER_TEST_DATABASE_URL to a PostgreSQL URL to run the suite on Postgres: a fresh database
is created for the run and dropped afterwards. Without it, a temporary SQLite file is used.
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
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from twilio.rest import Client

from taskrouter_emulator.app import create_app
from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.config import Settings

# The helper libraries corrupt a local base URL when an edge or region is set.
for _name in ("TWILIO_EDGE", "TWILIO_REGION"):
    os.environ.pop(_name, None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def fresh_database(directory: Path) -> Iterator[str]:
    """Create an empty database on the configured backend (SQLite file or a new Postgres database)."""
    configured = os.environ.get("TASKROUTER_TEST_DATABASE_URL")
    if not configured or make_url(configured).get_backend_name() == "sqlite":
        yield f"sqlite:///{directory / f'taskrouter-{uuid.uuid4().hex[:8]}.db'}"
        return
    admin_url = make_url(configured).set(drivername="postgresql+psycopg")
    name = f"tre_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database for this test run."""
    with fresh_database(Path(tmp_path_factory.mktemp("db"))) as url:
        yield url


@pytest.fixture
def private_database(tmp_path: Path) -> Iterator[str]:
    """A database of its own, for tests that stop and start servers (restarts)."""
    with fresh_database(tmp_path) as url:
        yield url


@dataclass
class LiveServer:
    """A running emulator and what the tests need to reach it."""

    url: str
    clock: EmulatorClock
    settings: Settings
    app: Any
    statuses: list[tuple[str, str, int]] = field(default_factory=list)

    def server_errors(self) -> list[tuple[str, str, int]]:
        """Return every request answered with a 5xx status."""
        return [entry for entry in self.statuses if entry[2] >= 500]


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


def start_server(
    settings: Settings, clock: EmulatorClock
) -> tuple[LiveServer, uvicorn.Server, threading.Thread]:
    """Start the emulator in a daemon thread and wait until it accepts connections."""
    app = create_app(settings, clock=clock)
    statuses: list[tuple[str, str, int]] = []
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            _StatusRecorder(app, statuses), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
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


@pytest.fixture(scope="session")
def live_server(database_url: str) -> Iterator[LiveServer]:
    """The emulator under test, with a frozen clock that tests move explicitly."""
    settings = Settings(
        database_url=database_url,
        clock="frozen",
        scheduler_interval=0.05,
        assignment_callback_timeout=1.0,
        event_callback_timeout=1.0,
        webhook_retry_delay=0.1,
    )
    live, server, thread = start_server(settings, EmulatorClock(frozen=True))
    yield live
    server.should_exit = True
    thread.join(timeout=10)
    errors = live.server_errors()
    assert not errors, f"requests answered with 5xx: {errors}"


@dataclass(frozen=True)
class Account:
    """Credentials of a fresh account: every test gets its own, so data never collides."""

    sid: str
    token: str


@pytest.fixture
def account() -> Account:
    return Account(sid=f"AC{uuid.uuid4().hex}", token=uuid.uuid4().hex)


@pytest.fixture
def client(live_server: LiveServer, account: Account) -> Client:
    """An official twilio-python client pointed at the emulator."""
    twilio = Client(account.sid, account.token)
    twilio.taskrouter.base_url = live_server.url
    return twilio


@pytest.fixture
def http(live_server: LiveServer, account: Account) -> Iterator[httpx.Client]:
    """A raw HTTP client with the same credentials, for what the helper library cannot send."""
    with httpx.Client(
        base_url=live_server.url, auth=(account.sid, account.token), timeout=30
    ) as raw:
        yield raw


class AccountClock:
    """The emulated time of the test's account, read and moved through `/emulator/clock`."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def now(self) -> datetime:
        response = self._http.get("/emulator/clock")
        assert response.status_code == 200, response.text
        return datetime.fromisoformat(response.json()["now"].replace("Z", "+00:00"))

    def advance(self, seconds: float) -> datetime:
        response = self._http.post("/emulator/clock", data={"Advance": str(seconds)})
        assert response.status_code == 200, response.text
        return datetime.fromisoformat(response.json()["now"].replace("Z", "+00:00"))


@pytest.fixture
def clock(http: httpx.Client) -> AccountClock:
    """The test account's clock."""
    return AccountClock(http)
