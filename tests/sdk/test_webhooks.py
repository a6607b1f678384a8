"""Assignment and event callbacks: signatures, instructions, fallback, ordering, retries, journal."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.config import Settings
from tests.conftest import Account, LiveServer, start_server
from tests.receiver import Received, Receiver, Reply, eventually, serve
from tests.sdk.routing_helpers import Setup, make_setup


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve()


@pytest.fixture
def setup(client: Client, http: httpx.Client) -> Setup:
    return make_setup(client, http)


def journal(http: httpx.Client, **filters: str) -> list[dict[str, Any]]:
    response = http.get("/emulator/webhooks", params={"PageSize": 1000, **filters})
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["webhooks"]
    return rows


def assignment_setup(
    setup: Setup, receiver: Receiver, *, fallback: bool = False, workers: int = 1
) -> tuple[Any, list[Any]]:
    queue = setup.queue("Q")
    extra = {"fallback_assignment_callback_url": receiver.url("/fallback")} if fallback else {}
    workflow = setup.workflow(
        {"filters": [], "default_filter": {"queue": queue.sid}},
        assignment_callback_url=receiver.url("/assign"),
        **extra,
    )
    people = []
    for i in range(workers):
        people.append(setup.worker(f"Agent {i}", {"contact_uri": f"client:agent{i}"}))
        setup.advance(1)
    return workflow, people


def answer(
    instruction: dict[str, Any] | str, *, status: int = 200, content_type: str = "application/json"
) -> Reply:
    body = instruction if isinstance(instruction, str) else json.dumps(instruction)
    return Reply(status=status, body=body, content_type=content_type)


def validates(account: Account, request: Received, url: str) -> bool:
    return RequestValidator(account.token).validate(
        url, request.params, request.headers["x-twilio-signature"]
    )


class TestAssignmentCallback:
    def test_parameters_and_signature(
        self, setup: Setup, receiver: Receiver, account: Account, http: httpx.Client
    ) -> None:
        workflow, [worker] = assignment_setup(setup, receiver)
        task = setup.task({"type": "support"}, priority=3)
        eventually(lambda: len(receiver.received("/assign")) == 1)
        [request] = receiver.received("/assign")
        assert validates(account, request, receiver.url("/assign"))
        params = request.params
        [reservation] = setup.reservations(task.sid)
        assert params["TaskSid"] == task.sid
        assert params["ReservationSid"] == reservation.sid
        assert params["WorkerSid"] == worker.sid
        assert params["WorkflowSid"] == workflow.sid
        assert params["AccountSid"] == account.sid
        assert params["WorkspaceSid"] == setup.ws.sid
        assert json.loads(params["TaskAttributes"]) == {"type": "support"}
        assert json.loads(params["WorkerAttributes"]) == {"contact_uri": "client:agent0"}
        assert (params["TaskPriority"], params["TaskAge"]) == ("3", "0")
        assert params["Timestamp"].isdigit()
        eventually(lambda: journal(http, Kind="assignment")[0]["status"] == "deferred")
        assert reservation.reservation_status == "pending"

    def test_accept(self, setup: Setup, receiver: Receiver) -> None:
        receiver.script = lambda r: answer({"instruction": "accept"})
        assignment_setup(setup, receiver)
        task = setup.task()
        eventually(lambda: setup.api.tasks(task.sid).fetch().assignment_status == "assigned")
        assert setup.reservations(task.sid)[0].reservation_status == "accepted"

    def test_reject_with_activity_moves_worker_and_reroutes(
        self, setup: Setup, receiver: Receiver, http: httpx.Client
    ) -> None:
        offline = setup.activities["Offline"]
        first_worker: list[str] = []

        def script(request: Received) -> Reply:
            if not first_worker:
                first_worker.append(request.params["WorkerSid"])
                return answer({"instruction": "reject", "activity_sid": offline})
            return answer({})

        receiver.script = script
        _, (alice, bob) = assignment_setup(setup, receiver, workers=2)
        task = setup.task()
        eventually(lambda: len(setup.reservations(task.sid)) == 2)
        statuses = {r.worker_sid: r.reservation_status for r in setup.reservations(task.sid)}
        assert statuses == {alice.sid: "rejected", bob.sid: "pending"}
        assert setup.api.workers(alice.sid).fetch().activity_name == "Offline"

    def test_defer_then_accept_through_rest(
        self, setup: Setup, receiver: Receiver, http: httpx.Client
    ) -> None:
        receiver.script = lambda r: answer({})
        assignment_setup(setup, receiver)
        task = setup.task()
        eventually(
            lambda: (
                bool(journal(http, Kind="assignment"))
                and journal(http, Kind="assignment")[0]["status"] == "deferred"
            )
        )
        [reservation] = setup.reservations(task.sid)
        assert reservation.reservation_status == "pending"
        setup.api.tasks(task.sid).reservations(reservation.sid).update(instruction="accept")
        assert setup.api.tasks(task.sid).fetch().assignment_status == "assigned"

    @pytest.mark.parametrize(
        ("reply", "code"),
        [
            (answer({"instruction": "call", "from": "+15550100"}), 40112),
            (answer({"instruction": "call", "url": "https://example.com/twiml"}), 40111),
            (answer({"instruction": "dequeue", "from": "+15550100"}), 40140),
            (answer({"instruction": "conference"}), 40142),
            (
                answer(
                    {"instruction": "redirect", "call_sid": "CA123", "url": "https://example.com"}
                ),
                40121,
            ),
            (answer({"instruction": "reject", "activity_sid": "WA" + "0" * 32}), 40100),
            (answer({"instruction": "teleport"}), 55555),
            (answer("{not json"), 40001),
            (answer({"instruction": "accept"}, content_type="text/plain"), 40000),
        ],
    )
    def test_bad_answers_are_recorded_and_leave_reservation_pending(
        self, setup: Setup, receiver: Receiver, http: httpx.Client, reply: Reply, code: int
    ) -> None:
        receiver.script = lambda r: reply
        assignment_setup(setup, receiver)
        task = setup.task()
        eventually(
            lambda: (
                bool(journal(http, Kind="assignment"))
                and journal(http, Kind="assignment")[0]["status"] == "rejected"
            )
        )
        [row] = journal(http, Kind="assignment")
        assert row["error_code"] == code
        assert row["response_status"] == 200
        assert setup.reservations(task.sid)[0].reservation_status == "pending"

    def test_dequeue_answer_on_an_enqueued_call(self, setup: Setup, receiver: Receiver) -> None:
        receiver.script = lambda r: answer(
            {
                "instruction": "dequeue",
                "from": "+15550100",
                "post_work_activity_sid": setup.activities["Offline"],
            }
        )
        assignment_setup(setup, receiver)
        task = setup.task({"call_sid": "CA" + "3" * 32})
        eventually(lambda: setup.api.tasks(task.sid).fetch().assignment_status == "assigned")
        assert "worker_call_sid" in json.loads(setup.api.tasks(task.sid).fetch().attributes)

    def test_fallback_used_when_primary_fails(
        self, setup: Setup, receiver: Receiver, account: Account, http: httpx.Client
    ) -> None:
        receiver.script = lambda r: (
            answer("boom", status=500) if r.path == "/assign" else answer({"instruction": "accept"})
        )
        assignment_setup(setup, receiver, fallback=True)
        task = setup.task()
        eventually(lambda: setup.api.tasks(task.sid).fetch().assignment_status == "assigned")
        [fallback] = receiver.received("/fallback")
        assert validates(account, fallback, receiver.url("/fallback"))
        [row] = journal(http, Kind="assignment")
        assert (row["status"], row["delivered_url"]) == ("applied", receiver.url("/fallback"))

    def test_primary_and_fallback_failing_leaves_reservation_to_time_out(
        self, setup: Setup, receiver: Receiver, http: httpx.Client
    ) -> None:
        receiver.script = lambda r: answer("down", status=503)
        assignment_setup(setup, receiver, fallback=True)
        task = setup.task()
        eventually(
            lambda: (
                bool(journal(http, Kind="assignment"))
                and journal(http, Kind="assignment")[0]["status"] == "failed"
            )
        )
        assert setup.reservations(task.sid)[0].reservation_status == "pending"
        setup.advance(120)
        assert setup.reservations(task.sid)[0].reservation_status == "timeout"

    def test_hanging_receiver_does_not_block_routing(
        self, setup: Setup, receiver: Receiver
    ) -> None:
        gate = threading.Event()
        receiver.script = lambda r: Reply(status=200, body="{}", gate=gate)
        _, workers = assignment_setup(setup, receiver, workers=3)
        try:
            tasks = [setup.task({"n": i}) for i in range(3)]
            # Every task was created and reserved while the first callbacks are still hanging.
            assert [t.assignment_status for t in tasks] == ["reserved"] * 3
            assert {setup.reservations(t.sid)[0].worker_sid for t in tasks} == {
                w.sid for w in workers
            }
        finally:
            gate.set()


class TestEventCallbacks:
    def test_every_event_is_signed_and_ordered(
        self, client: Client, http: httpx.Client, receiver: Receiver, account: Account
    ) -> None:
        ws = client.taskrouter.v1.workspaces.create(
            friendly_name="Evented", event_callback_url=receiver.url("/events"), template="FIFO"
        )
        worker = client.taskrouter.v1.workspaces(ws.sid).workers.create(friendly_name="Eve")
        client.taskrouter.v1.workspaces(ws.sid).workers(worker.sid).update(
            activity_sid=next(
                a.sid
                for a in client.taskrouter.v1.workspaces(ws.sid).activities.list()
                if a.friendly_name == "Available"
            )
        )
        task = client.taskrouter.v1.workspaces(ws.sid).tasks.create(attributes=json.dumps({"x": 1}))
        logged = list(reversed(client.taskrouter.v1.workspaces(ws.sid).events.list(minutes=43200)))
        eventually(lambda: len(receiver.received("/events")) == len(logged))
        received = receiver.received("/events")
        assert [r.params["Sid"] for r in received] == [e.sid for e in logged]
        assert all(validates(account, r, receiver.url("/events")) for r in received)
        created = next(r.params for r in received if r.params["EventType"] == "task.created")
        assert created["TaskSid"] == task.sid
        assert created["ResourceType"] == "task"
        assert created["WorkspaceName"] == "Evented"
        assert created["TaskQueueName"] == "Sample Queue"
        assert created["TaskQueueTargetExpression"] == "1==1"
        assert created["WorkflowName"] == "Default Fifo Workflow"
        assert created["Timestamp"].isdigit()
        assert created["TimestampMs"].isdigit()
        activity = next(
            r.params for r in received if r.params["EventType"] == "worker.activity.update"
        )
        assert (activity["WorkerActivityName"], activity["WorkerPreviousActivityName"]) == (
            "Available",
            "Offline",
        )
        assert "WorkerTimeInPreviousActivityMs" in activity

    def test_hanging_receivers_hold_back_only_their_own_workspaces(
        self, private_database: str, receiver: Receiver
    ) -> None:
        # Receivers that hang for the whole (long) time-out, more of them than the old sender had
        # threads (8): a healthy workspace's events must still flow at once.
        settings = Settings(database_url=private_database, event_callback_timeout=60)
        live, server, thread = start_server(settings, EmulatorClock(frozen=True))
        gate = threading.Event()
        receiver.script = lambda r: Reply(gate=gate) if r.path == "/hang" else Reply()
        try:
            client = Client("AC" + "e" * 32, "token")
            client.taskrouter.base_url = live.url
            for n in range(20):
                client.taskrouter.v1.workspaces.create(
                    friendly_name=f"Stuck {n}", event_callback_url=receiver.url("/hang")
                )
            eventually(lambda: len(receiver.received("/hang")) == 20)
            healthy = client.taskrouter.v1.workspaces.create(
                friendly_name="Healthy", event_callback_url=receiver.url("/ok")
            )
            client.taskrouter.v1.workspaces(healthy.sid).workers.create(friendly_name="Hal")
            eventually(
                lambda: "worker.created" in [r.params["EventType"] for r in receiver.received("/ok")]
            )
            # Every stuck stream is still waiting on its first event, sent once.
            assert len(receiver.received("/hang")) == 20
        finally:
            gate.set()
            server.should_exit = True
            thread.join(timeout=10)
        assert not live.server_errors()

    def test_events_filter(self, client: Client, receiver: Receiver) -> None:
        ws = client.taskrouter.v1.workspaces.create(
            friendly_name="Filtered",
            event_callback_url=receiver.url("/events"),
            events_filter="task.created,  task.canceled",
            template="FIFO",
        )
        task = client.taskrouter.v1.workspaces(ws.sid).tasks.create()
        client.taskrouter.v1.workspaces(ws.sid).tasks(task.sid).update(assignment_status="canceled")
        eventually(lambda: len(receiver.received("/events")) == 2)
        assert [r.params["EventType"] for r in receiver.received("/events")] == [
            "task.created",
            "task.canceled",
        ]

    def test_retry_after_transient_failure_delivers_exactly_once(
        self, client: Client, http: httpx.Client, receiver: Receiver
    ) -> None:
        failed: set[str] = set()

        def flaky(request: Received) -> Reply:
            if (
                request.params["EventType"] == "task.created"
                and request.params["Sid"] not in failed
            ):
                failed.add(request.params["Sid"])
                return Reply(status=500)
            return Reply(status=204)

        receiver.script = flaky
        ws = client.taskrouter.v1.workspaces.create(friendly_name="Flaky", template="FIFO")
        client.taskrouter.v1.workspaces(ws.sid).update(event_callback_url=receiver.url("/events"))
        client.taskrouter.v1.workspaces(ws.sid).tasks.create()
        client.taskrouter.v1.workspaces(ws.sid).tasks.create()
        rows = lambda: journal(http, WorkspaceSid=ws.sid, Kind="event")  # noqa: E731
        eventually(lambda: bool(rows()) and all(r["status"] == "delivered" for r in rows()))
        created = [r for r in rows() if r["event_type"] == "task.created"]
        assert [r["attempts"] for r in created] == [2, 2]
        successes = [r.params["Sid"] for r in receiver.received("/events")]
        sids = [r["event_sid"] for r in reversed(rows())]
        # Each event arrives until acknowledged, and later events never overtake an earlier one.
        assert [s for i, s in enumerate(successes) if s not in successes[:i]] == sids
        assert len(successes) == len(sids) + 2

    def test_receiver_down_does_not_lose_later_events(
        self, client: Client, http: httpx.Client, receiver: Receiver
    ) -> None:
        ws = client.taskrouter.v1.workspaces.create(
            friendly_name="Unreachable", event_callback_url="http://127.0.0.1:9/events"
        )
        client.taskrouter.v1.workspaces(ws.sid).activities.create(friendly_name="Extra")
        eventually(
            lambda: all(r["status"] == "failed" for r in journal(http, WorkspaceSid=ws.sid)),
            timeout=30,
        )
        client.taskrouter.v1.workspaces(ws.sid).update(event_callback_url=receiver.url("/events"))
        client.taskrouter.v1.workspaces(ws.sid).activities.create(friendly_name="Later")
        eventually(
            lambda: any(
                r.params.get("ActivityName") == "Later" for r in receiver.received("/events")
            )
        )

    def test_fragment_is_stripped(
        self, client: Client, receiver: Receiver, account: Account
    ) -> None:
        client.taskrouter.v1.workspaces.create(
            friendly_name="Overrides", event_callback_url=receiver.url("/events") + "#rc=2&rp=all"
        )
        eventually(lambda: len(receiver.received("/events")) > 0)
        assert validates(account, receiver.received("/events")[0], receiver.url("/events"))


class TestJournal:
    def test_filters_and_isolation(
        self, client: Client, http: httpx.Client, receiver: Receiver, live_server: LiveServer
    ) -> None:
        ws = client.taskrouter.v1.workspaces.create(
            friendly_name="Journaled", event_callback_url=receiver.url("/events")
        )
        eventually(
            lambda: (
                bool(journal(http, WorkspaceSid=ws.sid))
                and all(r["status"] == "delivered" for r in journal(http, WorkspaceSid=ws.sid))
            )
        )
        rows = journal(http, WorkspaceSid=ws.sid, EventType="activity.created")
        assert len(rows) == 3
        assert rows[0]["parameters"]["EventType"] == "activity.created"
        assert rows[0]["response_status"] == 204
        assert rows[0]["signature"]
        assert http.get("/emulator/webhooks", params={"Kind": "smoke"}).status_code == 400
        stranger = httpx.get(
            f"{live_server.url}/emulator/webhooks", auth=(f"AC{'9' * 32}", "other")
        )
        assert stranger.json()["webhooks"] == []
        assert httpx.get(f"{live_server.url}/emulator/webhooks").status_code == 401


class TestRestart:
    def test_undelivered_events_are_sent_after_a_restart(
        self, private_database: str, receiver: Receiver, account: Account
    ) -> None:
        quiet = Settings(database_url=private_database, webhook_workers=0, scheduler_interval=0)
        live, server, thread = start_server(quiet, EmulatorClock(frozen=True))
        try:
            body = httpx.post(
                f"{live.url}/v1/Workspaces",
                data={
                    "FriendlyName": "Before restart",
                    "EventCallbackUrl": receiver.url("/events"),
                },
                auth=(account.sid, account.token),
            ).json()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
        assert receiver.received() == []
        loud = Settings(database_url=private_database, scheduler_interval=0)
        live, server, thread = start_server(loud, EmulatorClock(frozen=True))
        try:
            eventually(lambda: len(receiver.received("/events")) == 9)
            types = [r.params["EventType"] for r in receiver.received("/events")]
            assert types[0] == "workspace.created"
            assert all(
                r.params["WorkspaceSid"] == body["sid"] for r in receiver.received("/events")
            )
        finally:
            server.should_exit = True
            thread.join(timeout=10)
