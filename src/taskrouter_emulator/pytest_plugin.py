"""pytest plugin: the emulator as an in-process test fixture, and a twilio client on a fresh account.

Installed with the package and loaded by pytest through the `pytest11` entry point, so a test suite
only has to ask for the fixtures:

- `taskrouter_emulator` (session): a live emulator on a free loopback port, SQLite in a temporary
  directory, frozen clock. Its `url`, `settings`, `clock` and `advance()` are what tests need.
- `taskrouter_account` / `taskrouter_client` (per test): a random Account SID and token (accounts
  never see each other's data, so every test starts empty) and an official twilio-python `Client`
  pointed at the emulator.
- `taskrouter_advance_clock` (per test): `advance(seconds)` moves the emulated time and fires
  every timer that falls due, through `POST /emulator/clock`.

Override `taskrouter_settings` (session) to change the server's settings, or set
`TASKROUTER_TEST_DATABASE_URL` to a PostgreSQL URL to run on a throw-away Postgres database.
Heavy imports (the app, twilio) happen inside the fixtures so loading the plugin costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from taskrouter_emulator.testing import Account, LiveServer, fresh_database, start_server

if TYPE_CHECKING:
    from taskrouter_emulator.config import Settings


@pytest.fixture(scope="session")
def taskrouter_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database for the session's emulator."""
    with fresh_database(Path(tmp_path_factory.mktemp("taskrouter-db"))) as url:
        yield url


@pytest.fixture(scope="session")
def taskrouter_settings(taskrouter_database_url: str) -> Settings:
    """The session emulator's settings; override this fixture to change them."""
    from taskrouter_emulator.config import Settings

    # Only the database and the clock are pinned; the rest follows TASKROUTER_* variables and defaults.
    # A short scheduler interval makes timers due by the wall clock (none while frozen) fire promptly.
    return Settings(database_url=taskrouter_database_url, clock="frozen", scheduler_interval=0.05)


@pytest.fixture(scope="session")
def taskrouter_emulator(taskrouter_settings: Settings) -> Iterator[LiveServer]:
    """A live emulator for the whole session, in this process, with a frozen clock."""
    from taskrouter_emulator.clock import EmulatorClock

    live, server, thread = start_server(
        taskrouter_settings, EmulatorClock(frozen=taskrouter_settings.clock == "frozen")
    )
    try:
        yield live
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def taskrouter_account(taskrouter_emulator: LiveServer) -> Account:
    """Credentials for this test: a fresh account, or the configured pair in strict-auth mode."""
    settings = taskrouter_emulator.settings
    if settings.auth_token is not None:
        return Account(sid=settings.account_sid, token=settings.auth_token)
    return Account.fresh()


@pytest.fixture
def taskrouter_client(taskrouter_emulator: LiveServer, taskrouter_account: Account) -> Any:
    """An official twilio-python `Client` on the test's account, pointed at the emulator."""
    try:
        from twilio.rest import Client
    except ImportError as missing:  # pragma: no cover - depends on the user's environment
        raise RuntimeError(
            "taskrouter_client needs the twilio package: pip install twilio"
        ) from missing
    # An empty environment: TWILIO_EDGE/TWILIO_REGION would rewrite the host and miss the emulator.
    client = Client(taskrouter_account.sid, taskrouter_account.token, environment={})
    client.taskrouter.base_url = taskrouter_emulator.url
    return client


@pytest.fixture
def taskrouter_advance_clock(
    taskrouter_emulator: LiveServer, taskrouter_account: Account
) -> Callable[[float], datetime]:
    """`advance(seconds)`: move the emulated time forward and fire due timers; returns the new time."""

    def advance(seconds: float) -> datetime:
        return taskrouter_emulator.advance(seconds, taskrouter_account)

    return advance
