"""The event bridge's wire protocol, as the twilio-taskrouter.js SDK (2.1.1) speaks it.

The key lists are the SDK descriptors' required properties (lib/Worker.js, Reservation.js, Task.js,
Channel.js, Activity.js): the SDK throws when one is missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from websockets.exceptions import InvalidStatus

from taskrouter_emulator.bridge.router import hub_of
from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.config import Settings
from taskrouter_emulator.db.engine import is_sqlite
from taskrouter_emulator.testing import Account, LiveServer, start_server
from tests.bridge_tokens import worker_capability_token
from tests.receiver import eventually
from tests.sdk.bridge_helpers import (
    BridgeWorld,
    closed_by_server,
    make_world,
    next_frame,
    next_frames,
)

WORKER_KEYS = {
    "account_sid", "activity_name", "activity_sid", "attributes", "available", "date_created",
    "date_status_changed", "date_updated", "friendly_name", "sid", "workspace_sid", "version",
}  # fmt: skip
ACTIVITY_KEYS = {
    "account_sid", "available", "date_created", "date_updated", "friendly_name", "sid",
    "workspace_sid",
}  # fmt: skip
CHANNEL_KEYS = {
    "account_sid", "assigned_tasks", "available", "available_capacity_percentage",
    "configured_capacity", "date_created", "date_updated", "last_reserved_time", "sid",
    "task_channel_sid", "task_channel_unique_name", "worker_sid", "workspace_sid",
}  # fmt: skip
RESERVATION_KEYS = {
    "account_sid", "date_created", "date_updated", "reservation_status", "sid", "task",
    "reservation_timeout", "worker_sid", "workspace_sid", "version",
}  # fmt: skip
TASK_KEYS = {
    "addons", "age", "attributes", "date_created", "date_updated", "priority", "queue_name",
    "queue_sid", "reason", "routing_target", "sid", "assignment_status", "task_channel_unique_name",
    "task_channel_sid", "timeout", "workflow_name", "workflow_sid", "version", "virtual_start_time",
}  # fmt: skip


@pytest.fixture
def world(live_server: LiveServer) -> BridgeWorld:
    return make_world(live_server)


def _create_task(world: BridgeWorld, **attributes: Any) -> Any:
    return world.workspace.tasks.create(
        workflow_sid=world.workflow.sid, attributes=json.dumps(attributes or {"type": "support"})
    )


def _payload(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["payload"]


def test_socket_starts_with_init_and_pushes_the_workers_events(world: BridgeWorld) -> None:
    with world.open() as socket:
        init = json.loads(socket.recv(timeout=10))
        assert init["event_type"] == "init"
        assert init["payload"]["channel_id"] == world.worker.sid
        assert init["payload"]["account_sid"] == world.server.settings.account_sid
        assert init["payload"]["workspace_sid"] == world.workspace.sid
        assert 3_500_000 < init["payload"]["token_lifetime"] <= 3_600_000

        task = _create_task(world)
        created = next_frame(socket, "reservation.created")["payload"]
        assert set(created) >= RESERVATION_KEYS
        assert set(created["task"]) >= TASK_KEYS
        assert created["reservation_status"] == "pending"
        assert created["worker_sid"] == world.worker.sid
        assert created["task"]["sid"] == task.sid
        assert json.loads(created["task"]["attributes"]) == {"type": "support"}
        assert json.loads(created["task"]["addons"]) == {}
        assert created["task"]["assignment_status"] == "reserved"
        assert created["task"]["queue_name"] == "Sample Queue"
        assert isinstance(created["date_created"], int)
        assert isinstance(created["task"]["virtual_start_time"], int)
        assert created["reservation_timeout"] == 120

        reservation = world.workspace.tasks(task.sid).reservations(created["sid"])
        reservation.update(reservation_status="accepted")
        accepted = next_frame(socket, "reservation.accepted")["payload"]
        assert accepted["reservation_status"] == "accepted"
        assert accepted["task"]["assignment_status"] == "assigned"

        world.workspace.tasks(task.sid).update(assignment_status="wrapping", reason="done talking")
        wrapped = next_frame(socket, "task.wrapup")["payload"]
        assert set(wrapped) >= TASK_KEYS
        assert wrapped["assignment_status"] == "wrapping"
        world.workspace.tasks(task.sid).update(assignment_status="completed", reason="resolved")
        frames = next_frames(socket, "task.completed", "reservation.completed")
        completed = frames["task.completed"]["payload"]
        assert completed["assignment_status"] == "completed"
        assert completed["reason"] == "resolved"
        assert frames["reservation.completed"]["payload"]["sid"] == created["sid"]

        world.workspace.workers(world.worker.sid).update(attributes='{"skill": "billing"}')
        attributes = next_frame(socket, "worker.attributes.update")["payload"]
        assert set(attributes) >= WORKER_KEYS
        assert json.loads(attributes["attributes"]) == {"skill": "billing"}
        world.workspace.workers(world.worker.sid).update(
            activity_sid=world.activities["Unavailable"]
        )
        activity = next_frame(socket, "worker.activity.update")["payload"]
        assert activity["activity_name"] == "Unavailable"
        assert activity["available"] is False

        world.workspace.workers(world.worker.sid).worker_channels("default").update(capacity=3)
        capacity = next_frame(socket, "worker.capacity.update")["payload"]
        assert set(capacity) >= CHANNEL_KEYS
        assert capacity["configured_capacity"] == 3
        assert capacity["task_channel_unique_name"] == "default"


def test_timers_reach_the_socket(world: BridgeWorld) -> None:
    with world.open() as socket:
        next_frame(socket, "init")
        _create_task(world)
        created = next_frame(socket, "reservation.created")["payload"]
        response = httpx.post(
            world.server.url + "/emulator/clock",
            data={"Advance": "121"},
            auth=(world.key_sid, world.secret),
        )
        assert response.status_code == 200, response.text
        timed_out = next_frame(socket, "reservation.timeout")["payload"]
        assert timed_out["sid"] == created["sid"]
        assert timed_out["reservation_status"] == "timeout"


def test_heartbeats_are_whitespace_frames(world: BridgeWorld) -> None:
    hub = hub_of(world.server.app)
    previous, hub.heartbeat_seconds = hub.heartbeat_seconds, 0.2
    try:
        with world.open() as socket:
            next_frame(socket, "init")
            assert socket.recv(timeout=10).strip() == ""
            assert socket.recv(timeout=10).strip() == ""
    finally:
        hub.heartbeat_seconds = previous


def test_bad_tokens_are_refused(world: BridgeWorld) -> None:
    expired = world.token_for(world.worker.sid, ttl=-60)
    wrong_secret = world.token_for(world.worker.sid, secret="x" * 32)
    other_worker = world.token_for("WK" + "0" * 32)
    for token, code in (
        (expired, 20104),
        (wrong_secret, 20101),
        ("not-a-jwt", 20101),
    ):
        with pytest.raises(InvalidStatus) as refused:
            world.open(token)
        assert refused.value.response.status_code == 403
        response = world.call(world.worker_path(), token=token)
        assert response.status_code == 401
        assert response.json()["code"] == code
    with pytest.raises(InvalidStatus):
        world.open(other_worker)
    # A key the emulator has never seen cannot be verified.
    unknown = world.token_for(world.worker.sid, key_sid="SK" + "f" * 32)
    assert world.call(world.worker_path(), token=unknown).status_code == 401


def test_legacy_worker_capability_token(
    live_server: LiveServer, account: Account, client: Any
) -> None:
    workspace = client.taskrouter.v1.workspaces.create(friendly_name="legacy", template="FIFO")
    worker = workspace.workers.create(friendly_name="bob")
    token = worker_capability_token(
        account_sid=account.sid,
        auth_token=account.token,
        workspace_sid=workspace.sid,
        worker_sid=worker.sid,
    )
    world = make_world(live_server)
    with world.open(token) as socket:
        init = next_frame(socket, "init")["payload"]
        assert init["account_sid"] == account.sid
        assert init["channel_id"] == worker.sid
    worker_path = f"Workspaces/{workspace.sid}/Workers/{worker.sid}"
    fetched = _payload(world.call(worker_path, token=token))
    assert fetched["friendly_name"] == "bob"
    assert _payload(world.call(f"{worker_path}/WorkerChannels", token=token))["contents"]
    activities = {a.friendly_name: a.sid for a in workspace.activities.list()}
    moved = world.call(worker_path, "POST", {"ActivitySid": activities["Available"]}, token=token)
    assert _payload(moved)["activity_name"] == "Available"
    # Without the event-bridge policy for its channel, the socket is refused.
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["policies"] = [p for p in claims["policies"] if "wschannels" not in p["url"]]
    no_socket = jwt.encode(claims, account.token, algorithm="HS256")
    with pytest.raises(InvalidStatus):
        world.open(no_socket)
    # The token's policies are enforced: its worker policy requires ActivitySid.
    denied = world.call(worker_path, "POST", {"Attributes": {"x": 1}}, token=token)
    assert denied.status_code == 403
    assert denied.json()["code"] == 20403
    assert workspace.workers(worker.sid).fetch().attributes == "{}"
    forged = worker_capability_token(
        account_sid=account.sid,
        auth_token="not-" + account.token,
        workspace_sid=workspace.sid,
        worker_sid=worker.sid,
    )
    assert (
        world.call(f"Workspaces/{workspace.sid}/Workers/{worker.sid}", token=forged).status_code
        == 401
    )


def test_rest_over_the_bridge_speaks_the_sdk_dialect(world: BridgeWorld) -> None:
    worker = _payload(world.call(world.worker_path()))
    assert set(worker) >= WORKER_KEYS
    assert worker["activity_name"] == "Available"
    assert isinstance(worker["date_created"], int)
    version = worker["version"]

    # Lists page with AfterSid and answer {"contents", "after_sid"}.
    names, after = [], None
    while True:
        params: dict[str, Any] = {"PageSize": 1}
        if after:
            params["AfterSid"] = after
        page = _payload(world.call(f"Workspaces/{world.workspace.sid}/Activities", params=params))
        assert all(set(a) >= ACTIVITY_KEYS for a in page["contents"])
        names += [a["friendly_name"] for a in page["contents"]]
        after = page["after_sid"]
        if after is None:
            break
    assert sorted(names) == sorted(world.activities)

    channels = _payload(world.call(world.worker_path("WorkerChannels"), params={"PageSize": 1000}))
    assert channels["after_sid"] is None
    assert all(set(c) >= CHANNEL_KEYS for c in channels["contents"])

    # Attributes arrive as an object; the worker stores them as JSON text.
    updated = _payload(
        world.call(world.worker_path(), "POST", {"Attributes": {"languages": ["en"]}})
    )
    assert json.loads(updated["attributes"]) == {"languages": ["en"]}
    assert updated["version"] == version + 1
    assert json.loads(world.workspace.workers(world.worker.sid).fetch().attributes) == {
        "languages": ["en"]
    }
    # enableVersionCheck sends If-Match: a stale version is refused and changes nothing.
    stale = world.call(
        world.worker_path(), "POST", {"Attributes": {"x": 1}}, headers={"If-Match": str(version)}
    )
    assert stale.status_code == 412

    task = _create_task(world)
    active = _payload(
        world.call(
            world.worker_path("Reservations"),
            params={"Active": "true", "PageSize": 1000},
            api_version="v2",
        )
    )
    assert [r["task"]["sid"] for r in active["contents"]] == [task.sid]
    reservation_sid = active["contents"][0]["sid"]
    accepted = _payload(
        world.call(
            world.worker_path("Reservations", reservation_sid),
            "POST",
            {"ReservationStatus": "accepted"},
        )
    )
    assert accepted["reservation_status"] == "accepted"
    task_path = f"Workspaces/{world.workspace.sid}/Tasks/{task.sid}"
    assert _payload(world.call(task_path))["assignment_status"] == "assigned"
    attributes = _payload(world.call(task_path, "POST", {"Attributes": {"type": "sales"}}))
    assert json.loads(attributes["attributes"]) == {"type": "sales"}
    completed = _payload(
        world.call(task_path, "POST", {"AssignmentStatus": "completed", "Reason": "done"})
    )
    assert completed["assignment_status"] == "completed"
    via_task = _payload(world.call(f"{task_path}/Reservations/{reservation_sid}"))
    assert via_task["reservation_status"] == "completed"
    assert world.workspace.tasks(task.sid).fetch().assignment_status == "completed"
    assert (
        _payload(world.call(world.worker_path("Reservations"), params={"Active": "true"}))[
            "contents"
        ]
        == []
    )


def test_bridge_rest_errors(world: BridgeWorld) -> None:
    other = world.workspace.workers.create(friendly_name="carol")
    forbidden = world.call(f"Workspaces/{world.workspace.sid}/Workers/{other.sid}")
    assert forbidden.status_code == 403
    assert forbidden.json()["code"] == 20403
    assert world.call(f"Workspaces/WS{'0' * 32}/Activities").status_code == 403
    assert world.call(world.worker_path("Nothing")).status_code == 404
    transfer = world.call(world.worker_path("Transfers"), "POST", {"TaskSid": "WT" + "0" * 32})
    assert transfer.status_code == 400
    assert "does not emulate" in transfer.json()["message"]
    bad_status = world.call(world.worker_path(), "POST", {"ActivitySid": "WA" + "0" * 32})
    assert bad_status.status_code in (400, 404)
    raw = httpx.post(world.eb_url, content=b"{not json", timeout=10)
    assert raw.status_code == 400
    assert raw.json()["code"] == 20001
    assert httpx.post(world.eb_url, content=b'{"url": "x"}', timeout=10).status_code == 401
    assert world.workspace.workers(world.worker.sid).fetch().activity_name == "Available"


def test_several_sockets_and_close_existing_sessions(world: BridgeWorld) -> None:
    hub = hub_of(world.server.app)
    with world.open() as first, world.open() as second:
        next_frame(first, "init")
        next_frame(second, "init")
        world.workspace.workers(world.worker.sid).update(attributes='{"n": 1}')
        for socket in (first, second):
            payload = next_frame(socket, "worker.attributes.update")["payload"]
            assert json.loads(payload["attributes"]) == {"n": 1}
        with world.open(closeExistingSessions="true") as third:
            next_frame(third, "init")
            for socket in (first, second):
                assert closed_by_server(socket).rcvd is not None
            eventually(lambda: hub.connected(world.worker.sid) == 1)
            world.workspace.workers(world.worker.sid).update(attributes='{"n": 2}')
            payload = next_frame(third, "worker.attributes.update")["payload"]
            assert json.loads(payload["attributes"]) == {"n": 2}
            # Sessions closed by a newer one do not take the worker offline.
            assert world.workspace.workers(world.worker.sid).fetch().activity_name == "Available"


def test_set_worker_offline_if_disconnected(world: BridgeWorld) -> None:
    hub = hub_of(world.server.app)
    with world.open(setWorkerOfflineIfDisconnected="false") as socket:
        next_frame(socket, "init")
    eventually(lambda: hub.connected(world.worker.sid) == 0)
    assert world.workspace.workers(world.worker.sid).fetch().activity_name == "Available"

    # Default (the SDK's documented default is true): offline once the last socket closes.
    with world.open() as second:
        next_frame(second, "init")
        with world.open() as first:
            next_frame(first, "init")
        eventually(lambda: hub.connected(world.worker.sid) == 1)
        assert world.workspace.workers(world.worker.sid).fetch().activity_name == "Available"
    eventually(lambda: hub.connected(world.worker.sid) == 0)
    assert world.workspace.workers(world.worker.sid).fetch().activity_name == "Offline"

    # Reconnecting starts again with init, then live events.
    with world.open() as socket:
        assert next_frame(socket, "init")["payload"]["channel_id"] == world.worker.sid
        world.workspace.workers(world.worker.sid).update(activity_sid=world.activities["Available"])
        assert (
            next_frame(socket, "worker.activity.update")["payload"]["activity_name"] == "Available"
        )


def test_socket_closes_when_its_token_expires(world: BridgeWorld) -> None:
    # Tokens live in real time (they are minted with the wall clock), so this waits about 2 s.
    short = world.token_for(world.worker.sid, ttl=2)
    with world.open(short) as socket:
        init = next_frame(socket, "init")["payload"]
        assert 0 < init["token_lifetime"] <= 2000
        closed = closed_by_server(socket, timeout=15)
        assert closed.rcvd is not None
        assert closed.rcvd.reason == "Token expired"
    eventually(lambda: hub_of(world.server.app).connected(world.worker.sid) == 0)
    # An expired session is not a disconnect: the worker keeps its activity.
    assert world.workspace.workers(world.worker.sid).fetch().activity_name == "Available"


@pytest.fixture
def second_server(live_server: LiveServer) -> Iterator[LiveServer]:
    """Another emulator process's worth (its own app, hub and pools) on the same database."""
    settings = Settings(
        database_url=live_server.settings.database_url,
        clock="frozen",
        scheduler_interval=0.05,
        run_migrations=False,
    )
    server, uvicorn_server, thread = start_server(settings, EmulatorClock(frozen=True))
    yield server
    uvicorn_server.should_exit = True
    thread.join(timeout=10)


def test_sessions_and_events_span_processes(world: BridgeWorld, second_server: LiveServer) -> None:
    other = BridgeWorld(**{**world.__dict__, "server": second_server})
    hub_a, hub_b = hub_of(world.server.app), hub_of(second_server.app)
    with world.open() as on_a, other.open() as on_b:
        next_frame(on_a, "init")
        next_frame(on_b, "init")
        # A change made through one process reaches the sockets of both.
        postgres = not is_sqlite(world.server.settings.database_url)
        if postgres:
            # Only a NOTIFY from A's commit can wake B's poller within the test's patience.
            hub_b.poll_seconds = 60.0
        try:
            for site in ("a", "b"):
                world.workspace.workers(world.worker.sid).update(
                    attributes=json.dumps({"site": site})
                )
                for socket in (on_a, on_b):
                    payload = next_frame(socket, "worker.attributes.update")["payload"]
                    assert json.loads(payload["attributes"]) == {"site": site}
        finally:
            hub_b.poll_seconds = 0.2
        # A new session with closeExistingSessions on B closes the one held by A.
        with other.open(closeExistingSessions="true") as newest:
            next_frame(newest, "init")
            assert closed_by_server(on_a).rcvd is not None
            assert closed_by_server(on_b).rcvd is not None
            eventually(lambda: hub_a.connected(world.worker.sid) == 0)
            # The worker's socket on B is still open: it is not set offline.
            with world.open() as again_on_a:
                next_frame(again_on_a, "init")
            eventually(lambda: hub_a.connected(world.worker.sid) == 0)
            assert world.workspace.workers(world.worker.sid).fetch().activity_name == "Available"
        eventually(lambda: hub_b.connected(world.worker.sid) == 0)
        assert world.workspace.workers(world.worker.sid).fetch().activity_name == "Offline"


def test_create_task_and_reject_through_the_bridge(world: BridgeWorld) -> None:
    queue = world.workspace.task_queues.list()[0]
    # Worker.createTask(): a task routed to this worker (RoutingTarget), attributes as an object.
    created = _payload(
        world.call(
            f"Workspaces/{world.workspace.sid}/Tasks",
            "POST",
            {
                "WorkflowSid": world.workflow.sid,
                "TaskQueueSid": queue.sid,
                "RoutingTarget": world.worker.sid,
                "Attributes": {"outbound_to": "+15550001", "from": "+15550002"},
            },
        )
    )
    assert set(created) >= TASK_KEYS
    assert created["routing_target"] == world.worker.sid
    assert json.loads(created["attributes"]) == {"outbound_to": "+15550001", "from": "+15550002"}
    reservations = world.workspace.tasks(created["sid"]).reservations.list()
    assert [r.worker_sid for r in reservations] == [world.worker.sid]
    # Reservation.reject({activitySid}) sends WorkerActivitySid along.
    rejected = _payload(
        world.call(
            world.worker_path("Reservations", reservations[0].sid),
            "POST",
            {"ReservationStatus": "rejected", "WorkerActivitySid": world.activities["Unavailable"]},
        )
    )
    assert rejected["reservation_status"] == "rejected"
    assert world.workspace.workers(world.worker.sid).fetch().activity_name == "Unavailable"
