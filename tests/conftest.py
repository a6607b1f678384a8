"""Test fixtures: the live emulator of the project's pytest plugin, checked for 5xx, and clients.

The live-server machinery is `taskrouter_emulator.pytest_plugin` (on `taskrouter_emulator.testing`) (also what users get through the
`pytest11` entry point). Set TASKROUTER_TEST_DATABASE_URL to a PostgreSQL URL to run the suite on
Postgres: a fresh database is created for the run and dropped afterwards. Without it, a temporary
SQLite file is used.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from twilio.rest import Client

from taskrouter_emulator.config import Settings
from taskrouter_emulator.testing import Account, LiveServer, fresh_database, serving, start_server

# The plugin is normally loaded by its entry point; naming it here also covers
# PYTEST_DISABLE_PLUGIN_AUTOLOAD=1, and is a no-op otherwise (the entry point has the module's name).
pytest_plugins = ["taskrouter_emulator.pytest_plugin", "pytester"]

__all__ = ["Account", "AccountClock", "LiveServer", "serving", "start_server"]

# The helper libraries corrupt a local base URL when an edge or region is set.
for _name in ("TWILIO_EDGE", "TWILIO_REGION"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def database_url(taskrouter_database_url: str) -> str:
    """A fresh, empty database for this test run (the session emulator's)."""
    return taskrouter_database_url


@pytest.fixture
def private_database(tmp_path: Path) -> Iterator[str]:
    """A database of its own, for tests that stop and start servers (restarts)."""
    with fresh_database(tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def taskrouter_settings(taskrouter_database_url: str) -> Settings:
    """The suite's server: frozen clock, fast scheduler, short callback time-outs and retries."""
    return Settings(
        database_url=taskrouter_database_url,
        clock="frozen",
        scheduler_interval=0.05,
        assignment_callback_timeout=1.0,
        event_callback_timeout=1.0,
        webhook_retry_delay=0.1,
    )


@pytest.fixture(scope="session")
def taskrouter_emulator(taskrouter_emulator: LiveServer) -> Iterator[LiveServer]:
    """The plugin's emulator; the run fails if any request was answered with a 5xx."""
    yield taskrouter_emulator
    errors = taskrouter_emulator.server_errors()
    assert not errors, f"requests answered with 5xx: {errors}"


@pytest.fixture(scope="session")
def live_server(taskrouter_emulator: LiveServer) -> LiveServer:
    """The emulator under test, with a frozen clock that tests move explicitly."""
    return taskrouter_emulator


@pytest.fixture
def account() -> Account:
    """Credentials of a fresh account: every test gets its own, so data never collides."""
    return Account.fresh()


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
