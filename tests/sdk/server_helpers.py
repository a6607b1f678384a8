"""A server of a test module's own (for settings the shared server does not use) and its clients."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from twilio.rest import Client

from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.config import Settings
from tests.conftest import Account, LiveServer, fresh_database, start_server


@contextmanager
def own_server(directory: Path, **settings: Any) -> Iterator[LiveServer]:
    """Run an emulator on a fresh database with the given settings (quiet scheduler and webhooks)."""
    with fresh_database(directory) as url:
        options: dict[str, Any] = {"scheduler_interval": 0, "webhook_workers": 0, **settings}
        live, server, thread = start_server(
            Settings(database_url=url, **options), EmulatorClock(frozen=True)
        )
        try:
            yield live
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def twilio_client(live: LiveServer, account: Account) -> Client:
    """A twilio-python client of the account pointed at the server."""
    client = Client(account.sid, account.token)
    client.taskrouter.base_url = live.url
    return client


def raw_client(live: LiveServer, account: Account) -> httpx.Client:
    """An httpx client of the account (use it as a context manager)."""
    return httpx.Client(base_url=live.url, auth=(account.sid, account.token), timeout=30)
