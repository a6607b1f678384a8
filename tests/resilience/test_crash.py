"""SIGKILL in the middle of a mixed workload: nothing acknowledged is lost, nothing happens twice.

A client-side ledger records every write the server acknowledged. After a restart on the same
database: every acknowledged write is there, no task was assigned twice, no worker is over capacity,
overdue timers fire, and every event callback not yet delivered is delivered (at least once).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.receiver import Receiver, Reply, eventually, serve
from tests.resilience.processes import free_port, kill, spawn

SERVER_ENV = {
    "TASKROUTER_EVENT_CALLBACK_TIMEOUT": "3",
    "TASKROUTER_WEBHOOK_MAX_ATTEMPTS": "1000",
    "TASKROUTER_WEBHOOK_RETRY_DELAY": "0.2",
}


@dataclass
class Ledger:
    """What the server acknowledged (2xx answers) before it died."""

    tasks: set[str] = field(default_factory=set)
    workers: set[str] = field(default_factory=set)
    accepted: set[tuple[str, str]] = field(default_factory=set)  # (task, reservation)
    completed: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve()


def _workload(
    base: str,
    auth: tuple[str, str],
    ws: str,
    available: str,
    ledger: Ledger,
    stop: threading.Event,
    seed: int,
) -> None:
    rng = random.Random(seed)
    api = f"{base}/v1/Workspaces/{ws}"
    with httpx.Client(auth=auth, timeout=10) as http:
        while not stop.is_set():
            try:
                action = rng.random()
                if action < 0.45:
                    response = http.post(f"{api}/Tasks", data={"Attributes": '{"n": 1}'})
                    if response.status_code == 201:
                        with ledger.lock:
                            ledger.tasks.add(response.json()["sid"])
                elif action < 0.55:
                    response = http.post(
                        f"{api}/Workers",
                        data={"FriendlyName": f"W{uuid.uuid4().hex[:8]}", "ActivitySid": available},
                    )
                    if response.status_code == 201:
                        with ledger.lock:
                            ledger.workers.add(response.json()["sid"])
                elif action < 0.85:
                    pending = http.get(f"{api}/Tasks", params={"AssignmentStatus": "reserved"})
                    tasks = pending.json().get("tasks", []) if pending.status_code == 200 else []
                    if tasks:
                        task = rng.choice(tasks)["sid"]
                        reservations = (
                            http.get(
                                f"{api}/Tasks/{task}/Reservations",
                                params={"ReservationStatus": "pending"},
                            )
                            .json()
                            .get("reservations", [])
                        )
                        if reservations:
                            sid = reservations[0]["sid"]
                            accepted = http.post(
                                f"{api}/Tasks/{task}/Reservations/{sid}",
                                data={"ReservationStatus": "accepted"},
                            )
                            if accepted.status_code == 200:
                                with ledger.lock:
                                    ledger.accepted.add((task, sid))
                else:
                    assigned = http.get(f"{api}/Tasks", params={"AssignmentStatus": "assigned"})
                    tasks = assigned.json().get("tasks", []) if assigned.status_code == 200 else []
                    if tasks:
                        task = rng.choice(tasks)["sid"]
                        done = http.post(
                            f"{api}/Tasks/{task}",
                            data={"AssignmentStatus": "completed", "Reason": "done"},
                        )
                        if done.status_code == 200:
                            with ledger.lock:
                                ledger.completed.add(task)
            except httpx.HTTPError:
                if stop.is_set():
                    return
                time.sleep(0.05)  # the server is gone; the test restarts it


def _all(http: httpx.Client, url: str, key: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    next_url: str | None = url
    query: dict[str, Any] | None = {"PageSize": 1000, **params}
    while next_url:
        page = http.get(next_url, params=query)
        assert page.status_code == 200, page.text
        body = page.json()
        rows.extend(body[key])
        next_url, query = body["meta"]["next_page_url"], None
    return rows


def test_sigkill_mid_workload_loses_nothing(private_database: str, receiver: Receiver) -> None:
    gate = threading.Event()  # receivers hang until after the restart: deliveries pile up
    receiver.script = lambda _r: Reply(gate=None if gate.is_set() else gate)
    auth = (f"AC{uuid.uuid4().hex}", "token")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = spawn(private_database, port, **SERVER_ENV)
    ledger = Ledger()
    stop = threading.Event()
    try:
        with httpx.Client(auth=auth, timeout=10) as http:
            ws = http.post(
                f"{base}/v1/Workspaces",
                data={
                    "FriendlyName": "Crash",
                    "Template": "FIFO",
                    "EventCallbackUrl": receiver.url("/events"),
                },
            ).json()["sid"]
            activities = http.get(f"{base}/v1/Workspaces/{ws}/Activities").json()["activities"]
            available = next(a["sid"] for a in activities if a["friendly_name"] == "Available")
            for n in range(8):
                worker = http.post(
                    f"{base}/v1/Workspaces/{ws}/Workers",
                    data={"FriendlyName": f"Seed{n}", "ActivitySid": available},
                ).json()
                ledger.workers.add(worker["sid"])
            # A workspace the workload leaves alone, holding a reservation that stays pending
            # through the crash: its time-out must still fire afterwards.
            quiet = http.post(
                f"{base}/v1/Workspaces", data={"FriendlyName": "Quiet", "Template": "FIFO"}
            ).json()["sid"]
            quiet_available = next(
                a["sid"]
                for a in http.get(f"{base}/v1/Workspaces/{quiet}/Activities").json()["activities"]
                if a["friendly_name"] == "Available"
            )
            http.post(
                f"{base}/v1/Workspaces/{quiet}/Workers",
                data={"FriendlyName": "Patient", "ActivitySid": quiet_available},
            )
            quiet_task = http.post(f"{base}/v1/Workspaces/{quiet}/Tasks", data={}).json()["sid"]
        threads = [
            threading.Thread(target=_workload, args=(base, auth, ws, available, ledger, stop, seed))
            for seed in range(6)
        ]
        for thread in threads:
            thread.start()
        eventually(lambda: len(ledger.tasks) >= 60 and len(ledger.accepted) >= 10, timeout=120)
    finally:
        kill(
            process
        )  # mid-workload: the threads' requests in flight fail and are not in the ledger
    acknowledged_before = len(ledger.tasks)
    process = spawn(private_database, port, **SERVER_ENV)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    try:
        with httpx.Client(base_url=base, auth=auth, timeout=30) as http:
            api = f"/v1/Workspaces/{ws}"
            tasks = {t["sid"]: t for t in _all(http, f"{api}/Tasks", "tasks")}
            workers = {w["sid"]: w for w in _all(http, f"{api}/Workers", "workers")}
            # Every acknowledged write is present (tasks completed > 5 min ago would be deleted,
            # but the frozen clock has not moved).
            assert acknowledged_before >= 60
            assert ledger.tasks <= set(tasks)
            assert ledger.workers <= set(workers)
            for task_sid, reservation_sid in ledger.accepted:
                assert tasks[task_sid]["assignment_status"] in ("assigned", "wrapping", "completed")
                reservation = http.get(
                    f"{api}/Tasks/{task_sid}/Reservations/{reservation_sid}"
                ).json()
                assert reservation["reservation_status"] in ("accepted", "wrapping", "completed")
            for task_sid in ledger.completed:
                assert tasks[task_sid]["assignment_status"] == "completed"
            # No task assigned twice; no worker over capacity.
            pending_before: list[str] = []
            for task_sid in tasks:
                reservations = _all(http, f"{api}/Tasks/{task_sid}/Reservations", "reservations")
                taken = [
                    r
                    for r in reservations
                    if r["reservation_status"] in ("accepted", "wrapping", "completed")
                ]
                assert len(taken) <= 1, task_sid
                pending_before += [
                    r["sid"] for r in reservations if r["reservation_status"] == "pending"
                ]
            for worker_sid in workers:
                for channel in _all(http, f"{api}/Workers/{worker_sid}/Channels", "channels"):
                    assert channel["assigned_tasks"] <= channel["configured_capacity"]
            # Overdue timers fire: every reservation pending at the crash times out after 120 s.
            quiet_path = f"/v1/Workspaces/{quiet}/Tasks/{quiet_task}/Reservations"
            (quiet_reservation,) = _all(http, quiet_path, "reservations")
            assert quiet_reservation["reservation_status"] == "pending"
            assert http.post("/emulator/clock", data={"Advance": "121"}).status_code == 200
            assert (
                http.get(f"{quiet_path}/{quiet_reservation['sid']}").json()["reservation_status"]
                == "timeout"
            )
            status_after = {
                r["sid"]: r["reservation_status"]
                for t in tasks
                for r in _all(http, f"{api}/Tasks/{t}/Reservations", "reservations")
            }
            assert all(status_after[sid] != "pending" for sid in pending_before)
            # Every event callback is delivered (at least once: the one in flight at the crash may
            # arrive twice; receivers de-duplicate by Sid).
            gate.set()
            events = _all(http, f"{api}/Events", "events", Minutes=60 * 24)
            expected = [e["sid"] for e in reversed(events)]

            def delivered() -> set[str]:
                return {request.params["Sid"] for request in receiver.received("/events")}

            eventually(lambda: set(expected) <= delivered(), timeout=120)
    finally:
        kill(process)
