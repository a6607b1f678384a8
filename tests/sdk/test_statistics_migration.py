"""Events recorded before the statistics columns existed count the same once migrated.

The migration that adds the typed `event` columns the statistics aggregate fills them from
`event_data` for the rows already there. This test records real events through the API, undoes
that migration (dropping the columns), migrates again (the backfill) and reads every cumulative
figure that depends on the columns on a restarted server: they must not change.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
from alembic import command
from alembic.script import ScriptDirectory
from twilio.rest import Client

from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.config import Settings
from taskrouter_emulator.db.migrate import alembic_config
from tests.conftest import Account, LiveServer, serving
from tests.sdk.routing_helpers import make_setup, single_queue

STATISTICS_COLUMNS_REVISION = "7014aaec486f"


@contextmanager
def running(database_url: str, start: datetime | None) -> Iterator[LiveServer]:
    clock = EmulatorClock(frozen=True) if start is None else EmulatorClock(frozen=True, start=start)
    with serving(Settings(database_url=database_url, scheduler_interval=0), clock) as live:
        yield live


def figures(live: LiveServer, account: Account, workspace_sid: str, sids: dict[str, str]) -> Any:
    """Every cumulative object whose figures come from the extracted columns."""
    paths = {
        "workspace": "/CumulativeStatistics?SplitByWaitTime=5,30",
        "queue": f"/TaskQueues/{sids['queue']}/CumulativeStatistics",
        "workflow": f"/Workflows/{sids['workflow']}/CumulativeStatistics",
        "workers": "/Workers/CumulativeStatistics",
        "worker": f"/Workers/{sids['worker']}/Statistics",
    }
    base = f"{live.url}/v1/Workspaces/{workspace_sid}"
    with httpx.Client(auth=(account.sid, account.token), timeout=30) as http:
        bodies = {name: http.get(base + path).json() for name, path in paths.items()}
    for body in bodies.values():
        body.pop("url")  # names the server's port, which changes with the restart
    return bodies


def test_backfilled_events_give_the_same_statistics(private_database: str) -> None:
    account = Account(sid=f"AC{uuid.uuid4().hex}", token=uuid.uuid4().hex)
    with running(private_database, None) as live:
        client = Client(account.sid, account.token)
        client.taskrouter.base_url = live.url
        with httpx.Client(base_url=live.url, auth=(account.sid, account.token), timeout=30) as http:
            setup = make_setup(client, http)
            queue, workflow = single_queue(setup)
            worker = setup.worker("Alice", activity="Offline")
            accepted = setup.task({"n": 1}, workflow_sid=workflow.sid)
            canceled = setup.task({"n": 2}, workflow_sid=workflow.sid)
            setup.advance(7)
            setup.api.tasks(canceled.sid).update(assignment_status="canceled")
            setup.advance(5)
            setup.api.workers(worker.sid).update(activity_sid=setup.activities["Available"])
            setup.advance(30)
            [reservation] = setup.reservations(accepted.sid, "pending")
            setup.api.tasks(accepted.sid).reservations(reservation.sid).update(
                reservation_status="accepted"
            )
            setup.advance(20)
            setup.api.workers(worker.sid).update(activity_sid=setup.activities["Unavailable"])
            setup.advance(10)
        sids = {"queue": queue.sid, "workflow": workflow.sid, "worker": worker.sid}
        now = live.clock.now()
        before = figures(live, account, setup.ws.sid, sids)

    # The figures are the ones the scenario implies (so they are not zeros on both sides).
    workspace = before["workspace"]
    assert workspace["wait_duration_until_accepted"] == {
        "avg": 42,
        "min": 42,
        "max": 42,
        "total": 42,
    }
    assert workspace["wait_duration_until_canceled"] == {"avg": 7, "min": 7, "max": 7, "total": 7}
    assert workspace["split_by_wait_time"]["30"] == {
        "above": {"tasks_canceled": 0, "reservations_accepted": 1},
        "below": {"tasks_canceled": 1, "reservations_accepted": 0},
    }
    assert before["queue"]["wait_duration_in_queue_until_accepted"]["max"] == 42
    durations = {
        d["friendly_name"]: d for d in before["worker"]["cumulative"]["activity_durations"]
    }
    assert durations["Available"]["total"] == 50
    assert durations["Unavailable"]["total"] == 10

    config = alembic_config(private_database)
    previous = ScriptDirectory.from_config(config).get_revision(STATISTICS_COLUMNS_REVISION)
    assert isinstance(previous.down_revision, str)
    command.downgrade(config, previous.down_revision)
    with running(private_database, now) as live:  # upgrades again: the backfill
        after = figures(live, account, setup.ws.sid, sids)
    assert after == before
