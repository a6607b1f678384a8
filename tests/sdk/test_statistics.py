"""Statistics end to end: one known scenario, then every statistics endpoint checked to the number.

Timeline (T = the frozen clock once the four workers exist, all Offline; Alice's default channel
has capacity 6, the others 1):

    T+0..9   tasks t1..t10 created, one per second (t_i at T+i-1), all pending
    T+20     t9 canceled while pending (age 12)        T+21  t9 deleted
    T+25     Alice -> Available: reserved t1..t6       T+26  Rita -> Available: t7
    T+27     Tim -> Available: t8                      T+28  Carl -> Available: t10
    T+29     t10 canceled while reserved (age 20, its reservation canceled); Carl -> Offline
    T+30..55 Alice accepts t1..t6 every 5 s (ages 30, 34, 38, 42, 46, 50)
    T+58     t1 completed
    T+60     Rita rejects t7 and goes Unavailable; t7 is offered to Alice at once
    T+70     t2 wrapping
    T+147    Tim's reservation for t8 times out (Tim -> Offline); t8 pending again
    T+148    t8 priority 5
    T+150    checkpoint: every test of TestScenario reads the statistics now
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.conftest import Account, LiveServer
from tests.sdk.routing_helpers import Setup, account_now, make_setup, single_queue

STATUSES = ("pending", "reserved", "assigned", "wrapping", "completed", "canceled")
RESERVATION_KEYS = (
    "reservations_created",
    "reservations_accepted",
    "reservations_rejected",
    "reservations_timed_out",
    "reservations_canceled",
    "reservations_rescinded",
)
_COMMON = {"account_sid", "workspace_sid", "url"}
_TASK_RT = {
    "longest_task_waiting_age",
    "longest_task_waiting_sid",
    "tasks_by_priority",
    "tasks_by_status",
    "total_tasks",
}
_CUMULATIVE = {
    "avg_task_acceptance_time",
    "start_time",
    "end_time",
    *RESERVATION_KEYS,
    "split_by_wait_time",
    "wait_duration_until_accepted",
    "wait_duration_until_canceled",
    "tasks_canceled",
    "tasks_completed",
    "tasks_deleted",
    "tasks_moved",
}
_WORKERS_CUMULATIVE = {"start_time", "end_time", "activity_durations", *RESERVATION_KEYS}
# Top-level keys of the spec's response schemas, used when ../shared/spec is not next to the clone.
FALLBACK_SCHEMA_KEYS: dict[str, set[str]] = {
    "workspace_statistics": {*_COMMON, "realtime", "cumulative"},
    "workspace_real_time_statistics": {*_COMMON, *_TASK_RT, "activity_statistics", "total_workers"},
    "workspace_cumulative_statistics": {
        *_COMMON,
        *_CUMULATIVE,
        "tasks_created",
        "tasks_timed_out_in_workflow",
    },
    "task_queue.task_queue_statistics": {*_COMMON, "task_queue_sid", "realtime", "cumulative"},
    "task_queue.task_queues_statistics": {
        "account_sid",
        "workspace_sid",
        "task_queue_sid",
        "realtime",
        "cumulative",
    },
    "task_queue.task_queue_real_time_statistics": {
        *_COMMON,
        *_TASK_RT,
        "task_queue_sid",
        "activity_statistics",
        "longest_relative_task_age_in_queue",
        "longest_relative_task_sid_in_queue",
        "total_available_workers",
        "total_eligible_workers",
    },
    "task_queue.task_queue_cumulative_statistics": {
        *_COMMON,
        *_CUMULATIVE,
        "task_queue_sid",
        "tasks_entered",
        "wait_duration_in_queue_until_accepted",
    },
    "task_queue.task_queue_bulk_real_time_statistics": {
        *_COMMON,
        "task_queue_data",
        "task_queue_response_count",
    },
    "worker.worker_statistics": {*_COMMON, "realtime", "cumulative"},
    "worker.workers_real_time_statistics": {*_COMMON, "activity_statistics", "total_workers"},
    "worker.workers_cumulative_statistics": {*_COMMON, *_WORKERS_CUMULATIVE},
    "worker.worker_instance_statistics": {*_COMMON, "worker_sid", "cumulative"},
    "workflow.workflow_statistics": {*_COMMON, "workflow_sid", "realtime", "cumulative"},
    "workflow.workflow_real_time_statistics": {*_COMMON, *_TASK_RT, "workflow_sid"},
    "workflow.workflow_cumulative_statistics": {
        *_COMMON,
        *_CUMULATIVE,
        "workflow_sid",
        "tasks_entered",
        "tasks_timed_out_in_workflow",
    },
}
SPEC_PATH = Path(__file__).resolve().parents[3] / "shared/spec/twilio_taskrouter_v1.json"


def schema_keys(name: str) -> set[str]:
    """Top-level keys of `taskrouter.v1.workspace.<name>`: from the spec when present, else the copy."""
    if SPEC_PATH.exists():
        schemas = json.loads(SPEC_PATH.read_text())["components"]["schemas"]
        return set(schemas[f"taskrouter.v1.workspace.{name}"]["properties"])
    return FALLBACK_SCHEMA_KEYS[name]


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def whole(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def duration(avg: int, low: int, high: int, total: int) -> dict[str, int]:
    return {"avg": avg, "min": low, "max": high, "total": total}


ZERO = duration(0, 0, 0, 0)


def by_status(**counts: int) -> dict[str, int]:
    return {status: counts.get(status, 0) for status in STATUSES}


class Body:
    """What twilio-python's bulk create expects: an object with `to_dict()` (sent as JSON)."""

    def __init__(self, sids: list[str]) -> None:
        self.sids = sids

    def to_dict(self) -> dict[str, Any]:
        return {"queueSids": self.sids}


@dataclass
class Scenario:
    setup: Setup
    http: httpx.Client
    t0: datetime
    everyone: Any
    sales: Any
    workflow: Any
    workers: dict[str, str]
    tasks: list[str]
    activities: dict[str, str]
    activity_order: list[str]

    @property
    def base(self) -> str:
        return f"/v1/Workspaces/{self.setup.ws.sid}"

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.http.get(self.base + path, params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def activity_counts(self, **counts: int) -> list[dict[str, Any]]:
        return [
            {"sid": self.activities[name], "friendly_name": name, "workers": counts.get(name, 0)}
            for name in self.activity_order
        ]

    def durations(self, **entries: dict[str, int]) -> list[dict[str, Any]]:
        return [
            {"sid": self.activities[name], "friendly_name": name, **entries.get(name, ZERO)}
            for name in self.activity_order
        ]


@pytest.fixture(scope="module")
def scenario(live_server: LiveServer) -> Any:
    account = Account(sid=f"AC{uuid.uuid4().hex}", token=uuid.uuid4().hex)
    client = Client(account.sid, account.token)
    client.taskrouter.base_url = live_server.url
    with httpx.Client(
        base_url=live_server.url, auth=(account.sid, account.token), timeout=30
    ) as http:
        # Start on a whole second so whole-second StartDate/EndDate values fall exactly on the timeline.
        aligned = whole(account_now(http)) + timedelta(seconds=1)
        assert http.post("/emulator/clock", data={"Set": iso(aligned)}).status_code == 200
        setup = make_setup(client, http)
        everyone, workflow = single_queue(setup)
        sales = setup.queue("Sales", "skills HAS 'sales'")
        workers = {
            "Alice": setup.worker("Alice", {"skills": ["sales"]}, activity="Offline").sid,
            "Rita": setup.worker("Rita", activity="Offline").sid,
            "Tim": setup.worker("Tim", {"skills": ["sales"]}, activity="Offline").sid,
            "Carl": setup.worker("Carl", activity="Offline").sid,
        }
        setup.api.workers(workers["Alice"]).worker_channels("default").update(capacity=6)
        t0 = setup.now()
        assert t0 == aligned
        elapsed = 0

        def at(second: int) -> None:
            nonlocal elapsed
            if second > elapsed:
                setup.advance(second - elapsed)
                elapsed = second

        def activity(name: str, activity_name: str) -> None:
            setup.api.workers(workers[name]).update(activity_sid=setup.activities[activity_name])

        def reservation(task_sid: str) -> str:
            [pending] = setup.reservations(task_sid, "pending")
            return str(pending.sid)

        tasks = []
        for i in range(10):
            at(i)
            tasks.append(setup.task({"n": i + 1}).sid)
        at(20)
        setup.api.tasks(tasks[8]).update(assignment_status="canceled")
        at(21)
        setup.api.tasks(tasks[8]).delete()
        at(25)
        activity("Alice", "Available")
        at(26)
        activity("Rita", "Available")
        at(27)
        activity("Tim", "Available")
        at(28)
        activity("Carl", "Available")
        at(29)
        setup.api.tasks(tasks[9]).update(assignment_status="canceled")
        activity("Carl", "Offline")
        for i in range(6):
            at(30 + 5 * i)
            setup.api.tasks(tasks[i]).reservations(reservation(tasks[i])).update(
                reservation_status="accepted"
            )
        at(58)
        setup.api.tasks(tasks[0]).update(assignment_status="completed")
        at(60)
        setup.api.workers(workers["Rita"]).reservations(reservation(tasks[6])).update(
            reservation_status="rejected", worker_activity_sid=setup.activities["Unavailable"]
        )
        at(70)
        setup.api.tasks(tasks[1]).update(assignment_status="wrapping")
        at(147)
        at(148)
        setup.api.tasks(tasks[7]).update(priority=5)
        at(150)
        order = [a.friendly_name for a in setup.api.activities.list()]
        yield Scenario(
            setup=setup,
            http=http,
            t0=t0,
            everyone=everyone,
            sales=sales,
            workflow=workflow,
            workers=workers,
            tasks=tasks,
            activities=setup.activities,
            activity_order=order,
        )


# Expected figures at the checkpoint (T+150).
WORKSPACE_COUNTS = {
    "reservations_created": 10,
    "reservations_accepted": 6,
    "reservations_rejected": 1,
    "reservations_timed_out": 1,
    "reservations_canceled": 1,
    "reservations_rescinded": 0,
    "tasks_canceled": 2,
    "tasks_completed": 1,
    "tasks_deleted": 1,
    "tasks_moved": 0,
}
ACCEPTED = duration(40, 30, 50, 240)
CANCELED = duration(16, 12, 20, 32)
STATUS_AT_CHECKPOINT = by_status(
    pending=1, reserved=1, assigned=4, wrapping=1, completed=1, canceled=1
)
PRIORITY_AT_CHECKPOINT = {"5": 1, "0": 6}


class TestScenario:
    """Every test reads the statistics at T+150 (none of them moves the clock)."""

    def test_clock_is_at_the_checkpoint(self, scenario: Scenario, live_server: LiveServer) -> None:
        assert account_now(scenario.http) - scenario.t0 == timedelta(seconds=150)

    def test_workspace_statistics(
        self, scenario: Scenario, client: Client, live_server: LiveServer
    ) -> None:
        api = scenario.setup.api
        now = account_now(scenario.http)
        stats = api.statistics().fetch()
        assert stats.account_sid == scenario.setup.ws.account_sid
        assert stats.workspace_sid == scenario.setup.ws.sid
        assert stats.url == f"{live_server.url}{scenario.base}/Statistics"
        realtime = stats.realtime
        assert realtime["tasks_by_status"] == STATUS_AT_CHECKPOINT
        assert realtime["tasks_by_priority"] == PRIORITY_AT_CHECKPOINT
        assert realtime["total_tasks"] == 7
        assert (realtime["longest_task_waiting_sid"], realtime["longest_task_waiting_age"]) == (
            scenario.tasks[6],
            144,
        )
        assert realtime["total_workers"] == 4
        assert realtime["activity_statistics"] == scenario.activity_counts(
            Offline=2, Available=1, Unavailable=1
        )
        cumulative = stats.cumulative
        assert (cumulative["start_time"], cumulative["end_time"]) == (
            iso(now - timedelta(minutes=15)),
            iso(now),
        )
        assert {k: cumulative[k] for k in WORKSPACE_COUNTS} == WORKSPACE_COUNTS
        assert (cumulative["tasks_created"], cumulative["tasks_timed_out_in_workflow"]) == (10, 0)
        assert cumulative["avg_task_acceptance_time"] == 40
        assert cumulative["wait_duration_until_accepted"] == ACCEPTED
        assert cumulative["wait_duration_until_canceled"] == CANCELED
        assert cumulative["split_by_wait_time"] is None

        rt = api.real_time_statistics().fetch()
        assert rt.tasks_by_status == STATUS_AT_CHECKPOINT
        assert rt.tasks_by_priority == PRIORITY_AT_CHECKPOINT
        assert (rt.total_tasks, rt.total_workers) == (7, 4)
        assert (rt.longest_task_waiting_sid, rt.longest_task_waiting_age) == (
            scenario.tasks[6],
            144,
        )
        assert rt.activity_statistics == realtime["activity_statistics"]

        cu = api.cumulative_statistics().fetch(minutes=15)
        assert (cu.start_time, cu.end_time) == (whole(now - timedelta(minutes=15)), whole(now))
        assert cu.reservations_created == 10
        assert cu.reservations_accepted == 6
        assert (cu.reservations_rejected, cu.reservations_timed_out, cu.reservations_canceled) == (
            1,
            1,
            1,
        )
        assert cu.reservations_rescinded == 0
        assert (cu.tasks_created, cu.tasks_canceled, cu.tasks_completed, cu.tasks_deleted) == (
            10,
            2,
            1,
            1,
        )
        assert (cu.tasks_moved, cu.tasks_timed_out_in_workflow) == (0, 0)
        assert cu.avg_task_acceptance_time == 40
        assert cu.wait_duration_until_accepted == ACCEPTED
        assert cu.wait_duration_until_canceled == CANCELED

    def test_split_by_wait_time(self, scenario: Scenario) -> None:
        body = scenario.get("/CumulativeStatistics", SplitByWaitTime="35,45")
        assert body["split_by_wait_time"] == {
            "35": {
                "above": {"tasks_canceled": 0, "reservations_accepted": 4},
                "below": {"tasks_canceled": 2, "reservations_accepted": 2},
            },
            "45": {
                "above": {"tasks_canceled": 0, "reservations_accepted": 2},
                "below": {"tasks_canceled": 2, "reservations_accepted": 4},
            },
        }
        edge = scenario.get("/CumulativeStatistics", SplitByWaitTime="12, 30,12")
        assert list(edge["split_by_wait_time"]) == ["12", "30"]
        assert edge["split_by_wait_time"]["12"]["below"] == {
            "tasks_canceled": 1,
            "reservations_accepted": 0,
        }
        assert edge["split_by_wait_time"]["30"]["below"] == {
            "tasks_canceled": 2,
            "reservations_accepted": 1,
        }

    def test_explicit_window(self, scenario: Scenario) -> None:
        start, end = scenario.t0 + timedelta(seconds=30), scenario.t0 + timedelta(seconds=100)
        body = scenario.get("/CumulativeStatistics", StartDate=iso(start), EndDate=iso(end))
        assert (body["start_time"], body["end_time"]) == (iso(start), iso(end))
        assert {
            k: body[k]
            for k in (*RESERVATION_KEYS, "tasks_created", "tasks_completed", "tasks_canceled")
        } == {
            "reservations_created": 1,
            "reservations_accepted": 6,
            "reservations_rejected": 1,
            "reservations_timed_out": 0,
            "reservations_canceled": 0,
            "reservations_rescinded": 0,
            "tasks_created": 0,
            "tasks_completed": 1,
            "tasks_canceled": 0,
        }
        # EndDate alone: the 15 minutes before it.
        only_end = scenario.get("/CumulativeStatistics", EndDate=iso(end))
        assert only_end["start_time"] == iso(end - timedelta(minutes=15))
        assert only_end["tasks_created"] == 10

    def test_task_queue_statistics(self, scenario: Scenario, live_server: LiveServer) -> None:
        api = scenario.setup.api
        queue = api.task_queues(scenario.everyone.sid)
        stats = queue.statistics().fetch()
        assert stats.task_queue_sid == scenario.everyone.sid
        assert (
            stats.url
            == f"{live_server.url}{scenario.base}/TaskQueues/{scenario.everyone.sid}/Statistics"
        )
        rt = stats.realtime
        assert rt["tasks_by_status"] == STATUS_AT_CHECKPOINT
        assert rt["tasks_by_priority"] == PRIORITY_AT_CHECKPOINT
        assert rt["total_tasks"] == 7
        assert (rt["longest_task_waiting_sid"], rt["longest_task_waiting_age"]) == (
            scenario.tasks[6],
            144,
        )
        assert (
            rt["longest_relative_task_sid_in_queue"],
            rt["longest_relative_task_age_in_queue"],
        ) == (scenario.tasks[6], 144)
        assert (rt["total_eligible_workers"], rt["total_available_workers"]) == (4, 1)
        assert rt["activity_statistics"] == scenario.activity_counts(
            Offline=2, Available=1, Unavailable=1
        )
        cu = stats.cumulative
        assert {k: cu[k] for k in WORKSPACE_COUNTS} == WORKSPACE_COUNTS
        assert cu["tasks_entered"] == 10
        assert cu["avg_task_acceptance_time"] == 40
        assert cu["wait_duration_until_accepted"] == ACCEPTED
        assert cu["wait_duration_in_queue_until_accepted"] == ACCEPTED
        assert cu["wait_duration_until_canceled"] == CANCELED

        real_time = queue.real_time_statistics().fetch()
        assert (
            real_time.total_eligible_workers,
            real_time.total_available_workers,
            real_time.total_tasks,
        ) == (4, 1, 7)
        assert real_time.tasks_by_status == STATUS_AT_CHECKPOINT
        assert real_time.longest_relative_task_sid_in_queue == scenario.tasks[6]
        cumulative = queue.cumulative_statistics().fetch(split_by_wait_time="40")
        assert (
            cumulative.tasks_entered,
            cumulative.reservations_created,
            cumulative.tasks_deleted,
        ) == (10, 10, 1)
        assert cumulative.split_by_wait_time == {
            "40": {
                "above": {"tasks_canceled": 0, "reservations_accepted": 3},
                "below": {"tasks_canceled": 2, "reservations_accepted": 3},
            }
        }

        sales = api.task_queues(scenario.sales.sid).statistics().fetch()
        assert sales.realtime["tasks_by_status"] == by_status()
        assert sales.realtime["tasks_by_priority"] == {}
        assert (
            sales.realtime["longest_task_waiting_age"],
            sales.realtime["longest_task_waiting_sid"],
        ) == (0, None)
        assert (
            sales.realtime["total_eligible_workers"],
            sales.realtime["total_available_workers"],
        ) == (2, 1)
        assert sales.realtime["activity_statistics"] == scenario.activity_counts(
            Offline=1, Available=1
        )
        assert all(
            sales.cumulative[k] == 0 for k in (*RESERVATION_KEYS, "tasks_entered", "tasks_canceled")
        )
        assert sales.cumulative["wait_duration_in_queue_until_accepted"] == ZERO

    def test_task_queues_statistics_list(self, scenario: Scenario) -> None:
        api = scenario.setup.api
        entries = api.task_queues.statistics.list()
        assert [e.task_queue_sid for e in entries] == [scenario.everyone.sid, scenario.sales.sid]
        everyone, sales = entries
        assert everyone.realtime["tasks_by_status"] == STATUS_AT_CHECKPOINT
        assert everyone.cumulative["tasks_entered"] == 10
        assert sales.realtime["total_eligible_workers"] == 2
        named = api.task_queues.statistics.list(friendly_name="Sales")
        assert [e.task_queue_sid for e in named] == [scenario.sales.sid]
        paged = api.task_queues.statistics.list(page_size=1)
        assert [e.task_queue_sid for e in paged] == [scenario.everyone.sid, scenario.sales.sid]
        # Each page is computed in one batch; it must agree with the single-queue resource.
        listed = scenario.get("/TaskQueues/Statistics", SplitByWaitTime="40", TaskChannel="default")
        for entry in listed["task_queues_statistics"]:
            single = scenario.get(
                f"/TaskQueues/{entry['task_queue_sid']}/Statistics",
                SplitByWaitTime="40",
                TaskChannel="default",
            )
            assert (entry["realtime"], entry["cumulative"]) == (
                single["realtime"],
                single["cumulative"],
            )
        assert (
            listed["task_queues_statistics"][0]["cumulative"][
                "wait_duration_in_queue_until_accepted"
            ]
            == ACCEPTED
        )
        body = scenario.get("/TaskQueues/Statistics", PageSize=1)
        assert body["meta"]["key"] == "task_queues_statistics"
        assert body["meta"]["next_page_url"] is not None

    def test_bulk_real_time_statistics(self, scenario: Scenario, live_server: LiveServer) -> None:
        unknown = f"WQ{uuid.uuid4().hex}"
        bulk = scenario.setup.api.task_queues.bulk_real_time_statistics.create(
            body=Body([scenario.everyone.sid, unknown, scenario.sales.sid])
        )
        assert bulk.url == f"{live_server.url}{scenario.base}/TaskQueues/RealTimeStatistics"
        assert bulk.task_queue_response_count == 3
        everyone, missing, sales = bulk.task_queue_data
        assert everyone == {
            "task_queue_sid": scenario.everyone.sid,
            "total_available_workers": 1,
            "total_eligible_workers": 4,
            "total_tasks": 7,
            "longest_task_waiting_age": 144,
            "longest_task_waiting_sid": scenario.tasks[6],
            "tasks_by_status": STATUS_AT_CHECKPOINT,
            "tasks_by_priority": PRIORITY_AT_CHECKPOINT,
            "activity_statistics": scenario.activity_counts(Offline=2, Available=1, Unavailable=1),
        }
        assert missing == {
            "task_queue_sid": unknown,
            "total_available_workers": 0,
            "total_eligible_workers": 0,
            "total_tasks": 0,
            "longest_task_waiting_age": 0,
            "longest_task_waiting_sid": None,
            "tasks_by_status": by_status(),
            "tasks_by_priority": {},
            "activity_statistics": scenario.activity_counts(),
        }
        assert (
            sales["total_eligible_workers"],
            sales["total_available_workers"],
            sales["total_tasks"],
        ) == (2, 1, 0)
        raw = scenario.http.post(
            f"{scenario.base}/TaskQueues/RealTimeStatistics",
            json={"QueueSids": [scenario.sales.sid]},
        )
        assert raw.status_code == 200
        assert raw.json()["task_queue_data"][0]["task_queue_sid"] == scenario.sales.sid

    def test_workflow_statistics(self, scenario: Scenario) -> None:
        workflow = scenario.setup.api.workflows(scenario.workflow.sid)
        stats = workflow.statistics().fetch()
        assert stats.workflow_sid == scenario.workflow.sid
        assert stats.realtime == {
            "longest_task_waiting_age": 144,
            "longest_task_waiting_sid": scenario.tasks[6],
            "tasks_by_priority": PRIORITY_AT_CHECKPOINT,
            "tasks_by_status": STATUS_AT_CHECKPOINT,
            "total_tasks": 7,
        }
        assert {k: stats.cumulative[k] for k in WORKSPACE_COUNTS} == WORKSPACE_COUNTS
        assert (
            stats.cumulative["tasks_entered"],
            stats.cumulative["tasks_timed_out_in_workflow"],
        ) == (10, 0)
        assert stats.cumulative["wait_duration_until_accepted"] == ACCEPTED
        rt = workflow.real_time_statistics().fetch()
        assert (rt.total_tasks, rt.tasks_by_status, rt.tasks_by_priority) == (
            7,
            STATUS_AT_CHECKPOINT,
            PRIORITY_AT_CHECKPOINT,
        )
        cu = workflow.cumulative_statistics().fetch()
        assert (
            cu.tasks_entered,
            cu.tasks_canceled,
            cu.tasks_completed,
            cu.reservations_accepted,
        ) == (10, 2, 1, 6)
        assert (cu.avg_task_acceptance_time, cu.wait_duration_until_canceled) == (40, CANCELED)

    def test_workers_statistics(self, scenario: Scenario) -> None:
        workers = scenario.setup.api.workers
        reservations = {k: WORKSPACE_COUNTS[k] for k in RESERVATION_KEYS}
        durations = scenario.durations(
            Offline=duration(38, 3, 121, 230),
            Available=duration(70, 1, 125, 280),
            Unavailable=duration(90, 90, 90, 90),
        )
        stats = workers.statistics().fetch()
        assert stats.realtime == {
            "total_workers": 4,
            "activity_statistics": scenario.activity_counts(Offline=2, Available=1, Unavailable=1),
        }
        assert {k: stats.cumulative[k] for k in RESERVATION_KEYS} == reservations
        assert stats.cumulative["activity_durations"] == durations

        rt = workers.real_time_statistics().fetch()
        assert (rt.total_workers, rt.activity_statistics) == (
            4,
            stats.realtime["activity_statistics"],
        )
        cu = workers.cumulative_statistics().fetch()
        assert cu.activity_durations == durations
        assert (cu.reservations_created, cu.reservations_accepted, cu.reservations_timed_out) == (
            10,
            6,
            1,
        )

        sales_only = workers.statistics().fetch(task_queue_sid=scenario.sales.sid)
        assert sales_only.realtime == {
            "total_workers": 2,
            "activity_statistics": scenario.activity_counts(Offline=1, Available=1),
        }
        assert {k: sales_only.cumulative[k] for k in RESERVATION_KEYS} == {
            "reservations_created": 8,
            "reservations_accepted": 6,
            "reservations_rejected": 0,
            "reservations_timed_out": 1,
            "reservations_canceled": 0,
            "reservations_rescinded": 0,
        }
        assert sales_only.cumulative["activity_durations"] == scenario.durations(
            Offline=duration(18, 3, 27, 55), Available=duration(123, 120, 125, 245)
        )
        by_name = workers.statistics().fetch(task_queue_name="Sales")
        assert by_name.realtime == sales_only.realtime
        rita = workers.statistics().fetch(friendly_name="Rita")
        assert rita.realtime["total_workers"] == 1
        assert (
            rita.cumulative["reservations_created"],
            rita.cumulative["reservations_rejected"],
        ) == (1, 1)
        nobody = workers.statistics().fetch(task_queue_sid=f"WQ{uuid.uuid4().hex}")
        assert nobody.realtime == {
            "total_workers": 0,
            "activity_statistics": scenario.activity_counts(),
        }
        assert nobody.cumulative["activity_durations"] == scenario.durations()

    def test_worker_instance_statistics(self, scenario: Scenario, live_server: LiveServer) -> None:
        workers = scenario.setup.api.workers
        tim = workers(scenario.workers["Tim"]).statistics().fetch()
        assert tim.worker_sid == scenario.workers["Tim"]
        assert (
            tim.url
            == f"{live_server.url}{scenario.base}/Workers/{scenario.workers['Tim']}/Statistics"
        )
        assert {k: tim.cumulative[k] for k in RESERVATION_KEYS} == {
            "reservations_created": 1,
            "reservations_accepted": 0,
            "reservations_rejected": 0,
            "reservations_timed_out": 1,
            "reservations_canceled": 0,
            "reservations_rescinded": 0,
        }
        assert tim.cumulative["activity_durations"] == scenario.durations(
            Offline=duration(15, 3, 27, 30), Available=duration(120, 120, 120, 120)
        )
        carl = workers(scenario.workers["Carl"]).statistics().fetch()
        assert (
            carl.cumulative["reservations_created"],
            carl.cumulative["reservations_canceled"],
        ) == (1, 1)
        assert carl.cumulative["activity_durations"] == scenario.durations(
            Offline=duration(75, 28, 121, 149), Available=duration(1, 1, 1, 1)
        )
        alice = workers(scenario.workers["Alice"]).statistics().fetch(task_channel="default")
        assert (
            alice.cumulative["reservations_created"],
            alice.cumulative["reservations_accepted"],
        ) == (7, 6)
        voice = workers(scenario.workers["Alice"]).statistics().fetch(task_channel="voice")
        assert voice.cumulative["reservations_created"] == 0
        assert voice.cumulative["activity_durations"] == alice.cumulative["activity_durations"]

    def test_activity_durations_are_clipped_to_the_window(self, scenario: Scenario) -> None:
        start, end = scenario.t0 + timedelta(seconds=30), scenario.t0 + timedelta(seconds=100)
        body = scenario.get("/Workers/CumulativeStatistics", StartDate=iso(start), EndDate=iso(end))
        # Alice and Tim Available throughout, Rita until T+60; Carl Offline; Rita Unavailable from T+60.
        assert body["activity_durations"] == scenario.durations(
            Offline=duration(70, 70, 70, 70),
            Available=duration(57, 30, 70, 170),
            Unavailable=duration(40, 40, 40, 40),
        )
        # Tim changed activity after the window: his stay at the window's end comes from that change.
        tim = scenario.get(
            f"/Workers/{scenario.workers['Tim']}/Statistics", StartDate=iso(start), EndDate=iso(end)
        )
        assert tim["cumulative"]["activity_durations"] == scenario.durations(
            Available=duration(70, 70, 70, 70)
        )
        # A window before anyone existed.
        early = scenario.t0 - timedelta(minutes=10)
        empty = scenario.get(
            "/Workers/CumulativeStatistics",
            StartDate=iso(early),
            EndDate=iso(early + timedelta(minutes=5)),
        )
        assert empty["activity_durations"] == scenario.durations()

    def test_task_channel_filter(self, scenario: Scenario) -> None:
        api = scenario.setup.api
        voice = api.real_time_statistics().fetch(task_channel="voice")
        assert (voice.tasks_by_status, voice.tasks_by_priority, voice.total_tasks) == (
            by_status(),
            {},
            0,
        )
        assert (
            voice.longest_task_waiting_age,
            voice.longest_task_waiting_sid,
            voice.total_workers,
        ) == (0, None, 4)
        default_sid = api.task_channels("default").fetch().sid
        by_sid = api.real_time_statistics().fetch(task_channel=default_sid)
        assert (by_sid.tasks_by_status, by_sid.total_tasks) == (STATUS_AT_CHECKPOINT, 7)
        cumulative = api.cumulative_statistics().fetch(task_channel="voice")
        assert (
            cumulative.tasks_created,
            cumulative.reservations_created,
            cumulative.wait_duration_until_accepted,
        ) == (0, 0, ZERO)
        queue = api.task_queues(scenario.everyone.sid).statistics().fetch(task_channel="default")
        assert queue.realtime["total_tasks"] == 7
        assert queue.cumulative["tasks_entered"] == 10
        queue_voice = (
            api.task_queues(scenario.everyone.sid)
            .real_time_statistics()
            .fetch(task_channel="voice")
        )
        assert (queue_voice.total_tasks, queue_voice.total_eligible_workers) == (0, 4)

    def test_wire_shapes(self, scenario: Scenario, live_server: LiveServer) -> None:
        q, wf, wk = scenario.everyone.sid, scenario.workflow.sid, scenario.workers["Alice"]
        endpoints = {
            "/Statistics": "workspace_statistics",
            "/RealTimeStatistics": "workspace_real_time_statistics",
            "/CumulativeStatistics": "workspace_cumulative_statistics",
            f"/TaskQueues/{q}/Statistics": "task_queue.task_queue_statistics",
            f"/TaskQueues/{q}/RealTimeStatistics": "task_queue.task_queue_real_time_statistics",
            f"/TaskQueues/{q}/CumulativeStatistics": "task_queue.task_queue_cumulative_statistics",
            "/Workers/Statistics": "worker.worker_statistics",
            "/Workers/RealTimeStatistics": "worker.workers_real_time_statistics",
            "/Workers/CumulativeStatistics": "worker.workers_cumulative_statistics",
            f"/Workers/{wk}/Statistics": "worker.worker_instance_statistics",
            f"/Workflows/{wf}/Statistics": "workflow.workflow_statistics",
            f"/Workflows/{wf}/RealTimeStatistics": "workflow.workflow_real_time_statistics",
            f"/Workflows/{wf}/CumulativeStatistics": "workflow.workflow_cumulative_statistics",
        }
        for path, schema in endpoints.items():
            body = scenario.get(path)
            assert set(body) == schema_keys(schema), path
            assert body["url"] == f"{live_server.url}{scenario.base}{path}"
            assert "links" not in body
            for key in ("start_time", "end_time"):
                block = body.get("cumulative", body)
                if key in block:
                    datetime.strptime(block[key], "%Y-%m-%dT%H:%M:%SZ")
        listed = scenario.get("/TaskQueues/Statistics")
        assert set(listed) == {"task_queues_statistics", "meta"}
        for entry in listed["task_queues_statistics"]:
            assert set(entry) == schema_keys("task_queue.task_queues_statistics")
        bulk = scenario.http.post(
            f"{scenario.base}/TaskQueues/RealTimeStatistics", json={"queueSids": [q]}
        )
        assert set(bulk.json()) == schema_keys("task_queue.task_queue_bulk_real_time_statistics")
        combined = scenario.get("/Statistics")
        assert set(combined["realtime"]) == schema_keys("workspace_real_time_statistics") - {
            "account_sid",
            "workspace_sid",
            "url",
        }
        assert set(combined["cumulative"]) == schema_keys("workspace_cumulative_statistics") - {
            "account_sid",
            "workspace_sid",
            "url",
        }
        assert all(isinstance(v, int) for v in combined["realtime"]["tasks_by_status"].values())


def test_moves_and_workflow_timeout(client: Client, http: httpx.Client) -> None:
    setup = make_setup(client, http)
    first, second = setup.queue("First"), setup.queue("Second")
    workflow = setup.workflow(
        {
            "filters": [
                {
                    "expression": "1==1",
                    "targets": [
                        {"queue": first.sid, "timeout": 30},
                        {"queue": second.sid, "timeout": 40},
                    ],
                }
            ]
        }
    )
    task = setup.task()
    setup.advance(50)
    rt = setup.api.task_queues(second.sid).real_time_statistics().fetch()
    assert (rt.longest_task_waiting_sid, rt.longest_task_waiting_age) == (task.sid, 50)
    assert (rt.longest_relative_task_sid_in_queue, rt.longest_relative_task_age_in_queue) == (
        task.sid,
        20,
    )
    assert rt.tasks_by_status == by_status(pending=1)
    first_cu = setup.api.task_queues(first.sid).cumulative_statistics().fetch()
    assert (first_cu.tasks_entered, first_cu.tasks_moved, first_cu.tasks_canceled) == (1, 1, 0)
    setup.advance(20)
    second_cu = setup.api.task_queues(second.sid).cumulative_statistics().fetch()
    assert (second_cu.tasks_entered, second_cu.tasks_moved, second_cu.tasks_canceled) == (1, 0, 1)
    assert second_cu.wait_duration_until_canceled == duration(70, 70, 70, 70)
    flow = setup.api.workflows(workflow.sid).cumulative_statistics().fetch()
    assert (
        flow.tasks_entered,
        flow.tasks_timed_out_in_workflow,
        flow.tasks_canceled,
        flow.tasks_moved,
    ) == (1, 1, 1, 1)
    workspace = setup.api.cumulative_statistics().fetch()
    assert (
        workspace.tasks_created,
        workspace.tasks_timed_out_in_workflow,
        workspace.tasks_moved,
    ) == (1, 1, 1)
    final = setup.api.real_time_statistics().fetch()
    assert (final.tasks_by_status, final.total_tasks, final.tasks_by_priority) == (
        by_status(canceled=1),
        0,
        {},
    )


def test_queue_eligibility_follows_target_workers(client: Client, http: httpx.Client) -> None:
    setup = make_setup(client, http)
    one = setup.worker("One", {"team": "a"})
    setup.worker("Two", {"team": "a"}, activity="Offline")
    three = setup.worker("Three", {"team": "b"})
    setup.api.workers(three.sid).worker_channels("voice").update(available=False)
    expressions = {
        "team == 'a'": (2, 1),
        "team == 'a' AND activity_name == 'Available'": (1, 1),
        "worker.activity_name != 'Available'": (1, 0),
        "friendly_name IN ['Two', 'Three']": (2, 1),
        f"sid == '{one.sid}'": (1, 1),
        "channel.voice.available == true": (2, 1),
        "worker.channel.voice.available == false": (1, 1),
        "1==1": (3, 2),
        "1==2": (0, 0),
    }
    queues = {text: setup.queue(f"Q{i}", text).sid for i, text in enumerate(expressions)}
    bulk = http.post(
        f"/v1/Workspaces/{setup.ws.sid}/TaskQueues/RealTimeStatistics",
        json={"queueSids": list(queues.values())},
    )
    found = {
        d["task_queue_sid"]: (d["total_eligible_workers"], d["total_available_workers"])
        for d in bulk.json()["task_queue_data"]
    }
    assert found == {queues[text]: figures for text, figures in expressions.items()}
    team_a = queues["team == 'a'"]
    stats = setup.api.workers.statistics().fetch(task_queue_sid=team_a, friendly_name="Two")
    assert stats.realtime["total_workers"] == 1


def test_new_workspace_has_zeros_everywhere(client: Client, http: httpx.Client) -> None:
    setup = make_setup(client, http)
    base = f"/v1/Workspaces/{setup.ws.sid}"
    order = [(a.sid, a.friendly_name) for a in setup.api.activities.list()]
    rt = http.get(f"{base}/RealTimeStatistics").json()
    assert rt["tasks_by_status"] == by_status()
    assert (rt["tasks_by_priority"], rt["total_tasks"], rt["total_workers"]) == ({}, 0, 0)
    assert (rt["longest_task_waiting_age"], rt["longest_task_waiting_sid"]) == (0, None)
    assert rt["activity_statistics"] == [
        {"sid": s, "friendly_name": n, "workers": 0} for s, n in order
    ]
    cu = http.get(f"{base}/CumulativeStatistics").json()
    assert all(cu[k] == 0 for k in (*RESERVATION_KEYS, "tasks_created", "avg_task_acceptance_time"))
    assert cu["wait_duration_until_accepted"] == ZERO
    workers = http.get(f"{base}/Workers/CumulativeStatistics").json()
    assert workers["activity_durations"] == [
        {"sid": s, "friendly_name": n, **ZERO} for s, n in order
    ]
    assert http.get(f"{base}/TaskQueues/Statistics").json()["task_queues_statistics"] == []


def _error(response: httpx.Response) -> tuple[int, int]:
    body = response.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert body["status"] == response.status_code
    return response.status_code, body["code"]


class TestErrors:
    @pytest.fixture
    def base(self, client: Client, http: httpx.Client) -> str:
        return f"/v1/Workspaces/{make_setup(client, http).ws.sid}"

    @pytest.mark.parametrize(
        "path",
        [
            "/Statistics",
            "/CumulativeStatistics",
            "/Workers/Statistics",
            "/Workers/CumulativeStatistics",
            "/TaskQueues/Statistics",
        ],
    )
    def test_window_parameters(
        self, http: httpx.Client, live_server: LiveServer, base: str, path: str
    ) -> None:
        now = account_now(http)
        assert _error(
            http.get(
                base + path, params={"Minutes": 30, "StartDate": iso(now - timedelta(minutes=5))}
            )
        ) == (400, 20001)
        assert _error(http.get(base + path, params={"Minutes": 5, "EndDate": iso(now)})) == (
            400,
            20001,
        )
        assert _error(
            http.get(base + path, params={"StartDate": iso(now - timedelta(days=31))})
        ) == (400, 14241)
        assert _error(http.get(base + path, params={"Minutes": "ten"})) == (400, 20001)
        assert _error(http.get(base + path, params={"Minutes": 0})) == (400, 20001)
        assert _error(http.get(base + path, params={"StartDate": "yesterday"})) == (400, 20001)
        assert _error(http.get(base + path, params={"EndDate": "2024-13-01T00:00:00Z"})) == (
            400,
            20001,
        )
        assert _error(
            http.get(
                base + path,
                params={"StartDate": iso(now), "EndDate": iso(now - timedelta(minutes=1))},
            )
        ) == (400, 20001)
        assert _error(http.get(base + path, params={"TaskChannel": "carrier-pigeon"})) == (
            400,
            20001,
        )
        assert http.get(base + path, params={"Minutes": 480}).status_code == 200

    @pytest.mark.parametrize("value", ["abc", "5,,10", "-5", "5;10", "1.5", ""])
    def test_bad_split_by_wait_time(self, http: httpx.Client, base: str, value: str) -> None:
        assert _error(
            http.get(f"{base}/CumulativeStatistics", params={"SplitByWaitTime": value})
        ) == (400, 20001)

    def test_start_date_too_old_through_the_helper_library(
        self, client: Client, http: httpx.Client, base: str
    ) -> None:
        api = client.taskrouter.v1.workspaces(base.rsplit("/", 1)[1])
        with pytest.raises(TwilioRestException) as excinfo:
            api.cumulative_statistics().fetch(
                start_date=account_now(http) - timedelta(days=31)
            )
        assert (excinfo.value.status, excinfo.value.code) == (400, 14241)
        with pytest.raises(TwilioRestException) as excinfo:
            api.statistics().fetch(minutes=5, start_date=account_now(http))
        assert (excinfo.value.status, excinfo.value.code) == (400, 20001)

    def test_bulk_validation(self, http: httpx.Client, base: str) -> None:
        url = f"{base}/TaskQueues/RealTimeStatistics"
        sid = f"WQ{uuid.uuid4().hex}"
        assert _error(http.post(url, json={"queueSids": []})) == (400, 20001)
        assert _error(
            http.post(url, json={"queueSids": [f"WQ{uuid.uuid4().hex}" for _ in range(51)]})
        ) == (400, 20001)
        assert _error(http.post(url, json={"queueSids": [sid, "WQ123"]})) == (400, 20001)
        assert _error(http.post(url, json={"queueSids": [f"WK{uuid.uuid4().hex}"]})) == (400, 20001)
        assert _error(http.post(url, json={"queueSids": [sid, 5]})) == (400, 20001)
        assert _error(http.post(url, json={"queueSids": sid + "x"})) == (400, 20001)
        assert _error(http.post(url, json={"other": [sid]})) == (400, 20001)
        assert _error(http.post(url, json=[sid])) == (400, 20001)
        assert _error(
            http.post(url, content=b"{not json", headers={"Content-Type": "application/json"})
        ) == (400, 20001)
        assert _error(http.post(url)) == (400, 20001)
        fifty = http.post(url, json={"queueSids": [f"WQ{uuid.uuid4().hex}" for _ in range(50)]})
        assert fifty.status_code == 200
        assert fifty.json()["task_queue_response_count"] == 50
        form = http.post(url, data={"QueueSids": [sid]})
        assert (form.status_code, form.json()["task_queue_data"][0]["task_queue_sid"]) == (200, sid)

    def test_bulk_limit_through_the_helper_library(self, client: Client, base: str) -> None:
        api = client.taskrouter.v1.workspaces(base.rsplit("/", 1)[1])
        with pytest.raises(TwilioRestException) as excinfo:
            api.task_queues.bulk_real_time_statistics.create(
                body=Body([f"WQ{uuid.uuid4().hex}" for _ in range(51)])
            )
        assert (excinfo.value.status, excinfo.value.code) == (400, 20001)

    def test_unknown_resources_are_404(self, http: httpx.Client, base: str) -> None:
        for kind, prefix in (("TaskQueues", "WQ"), ("Workflows", "WW")):
            for suffix in ("Statistics", "RealTimeStatistics", "CumulativeStatistics"):
                for sid in (f"{prefix}{uuid.uuid4().hex}", "nope", f"WK{uuid.uuid4().hex}"):
                    assert _error(http.get(f"{base}/{kind}/{sid}/{suffix}")) == (404, 20404)
        for sid in (f"WK{uuid.uuid4().hex}", "nope"):
            assert _error(http.get(f"{base}/Workers/{sid}/Statistics")) == (404, 20404)
        other = f"/v1/Workspaces/WS{uuid.uuid4().hex}"
        for path in ("/Statistics", "/Workers/Statistics", "/TaskQueues/Statistics"):
            assert _error(http.get(other + path)) == (404, 20404)
        assert _error(
            http.post(
                f"{other}/TaskQueues/RealTimeStatistics",
                json={"queueSids": [f"WQ{uuid.uuid4().hex}"]},
            )
        ) == (404, 20404)

    def test_static_paths_do_not_shadow_resources(
        self, client: Client, http: httpx.Client, base: str
    ) -> None:
        api = client.taskrouter.v1.workspaces(base.rsplit("/", 1)[1])
        queue = api.task_queues.create(friendly_name="Q")
        assert api.task_queues(queue.sid).fetch().friendly_name == "Q"
        assert api.task_queues(queue.sid).update(friendly_name="R").friendly_name == "R"
        # Fixed names under the wrong method are 405 (with Allow), not a SID lookup's 404.
        assert _error(http.get(f"{base}/TaskQueues/RealTimeStatistics")) == (405, 20004)
        assert _error(http.post(f"{base}/TaskQueues/Statistics", data={"FriendlyName": "x"})) == (
            405,
            20004,
        )
        assert _error(http.get(f"{base}/Workers/Statistics/Statistics")) == (404, 20404)
