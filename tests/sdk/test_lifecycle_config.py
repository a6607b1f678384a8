"""The lifecycle's settings (task and event retention) belong to each app, not to a module.

Two emulators in one process (the suite's and a private one) keep finished tasks for as long as
their own settings say; a session that did not come from `make_sessionmaker` has no such settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.config import LifecycleConfig, Settings
from taskrouter_emulator.db.session import lifecycle_config, make_sessionmaker
from taskrouter_emulator.testing import Account, LiveServer, start_server


def test_each_session_factory_carries_its_own_config() -> None:
    engine = create_engine("sqlite://")
    short = LifecycleConfig(task_retention=timedelta(seconds=10), event_retention=timedelta(days=1))
    default = LifecycleConfig.from_settings(Settings())
    assert default == LifecycleConfig(
        task_retention=timedelta(seconds=300), event_retention=timedelta(days=30)
    )
    with (
        make_sessionmaker(engine, config=short)() as a,
        make_sessionmaker(engine, config=default)() as b,
    ):
        assert (lifecycle_config(a), lifecycle_config(b)) == (short, default)
    with Session(engine) as plain, pytest.raises(RuntimeError):
        lifecycle_config(plain)
    engine.dispose()


@pytest.fixture
def short_retention_server(private_database: str) -> Iterator[LiveServer]:
    """A second emulator in this process that keeps finished tasks for 10 seconds."""
    live, server, thread = start_server(
        Settings(
            database_url=private_database,
            scheduler_interval=0.05,
            clock="frozen",
            task_retention_seconds=10,
        ),
        EmulatorClock(frozen=True),
    )
    yield live
    server.should_exit = True
    thread.join(timeout=10)


def _canceled_task(http: httpx.Client) -> str:
    """Create a FIFO workspace with one task, cancel the task and return its path."""
    workspace = http.post("/v1/Workspaces", data={"FriendlyName": "retention", "Template": "FIFO"})
    assert workspace.status_code == 201, workspace.text
    tasks = f"/v1/Workspaces/{workspace.json()['sid']}/Tasks"
    task = http.post(tasks, data={"Attributes": "{}"})
    assert task.status_code == 201, task.text
    path = f"{tasks}/{task.json()['sid']}"
    canceled = http.post(path, data={"AssignmentStatus": "canceled"})
    assert canceled.status_code == 200, canceled.text
    return path


def test_two_apps_keep_finished_tasks_for_their_own_retention(
    short_retention_server: LiveServer, live_server: LiveServer
) -> None:
    account = Account.fresh()
    auth = (account.sid, account.token)
    with (
        httpx.Client(base_url=short_retention_server.url, auth=auth, timeout=30) as short,
        httpx.Client(base_url=live_server.url, auth=auth, timeout=30) as shared,
    ):
        short_task, shared_task = _canceled_task(short), _canceled_task(shared)
        for http in (short, shared):
            moved = http.post("/emulator/clock", data={"Advance": "10"})
            assert moved.status_code == 200, moved.text
        assert short.get(short_task).status_code == 404
        assert shared.get(shared_task).json()["assignment_status"] == "canceled"
