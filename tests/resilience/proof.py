"""Concurrency proof: several server processes on one PostgreSQL behave as one TaskRouter.

Two (or more) `serve` processes share a database. Many clients create workers and tasks, accept,
reject and complete reservations and change activities, each request sent to a random process. The
event history is then replayed in commit order (event ids; writes in a workspace are serialised by its
lock) to show that no task was accepted twice, no worker ever held more reservations than its channel
capacity, and every reservation ended in a state consistent with its task.

Bounded in the test suite (`tests/resilience/test_two_processes.py`); full size from the command line:

    .venv/bin/python -m tests.resilience.proof --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field

import httpx
from sqlalchemy import create_engine, text

from taskrouter_emulator.testing import postgres_database
from tests.resilience.processes import server_process

HOLDING = ("reservation.created",)
RELEASING = (
    "reservation.rejected",
    "reservation.timeout",
    "reservation.canceled",
    "reservation.rescinded",
    "reservation.completed",
)


@dataclass
class Outcome:
    """What the proof found."""

    requests: Counter[int] = field(default_factory=Counter)
    events: int = 0
    accepted: int = 0
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _client_loop(
    urls: list[str],
    auth: tuple[str, str],
    ws: str,
    activities: dict[str, str],
    workers: list[str],
    tasks_left: list[int],
    outcome: Outcome,
    lock: threading.Lock,
    seed: int,
) -> None:
    rng = random.Random(seed)
    clients = [httpx.Client(base_url=url, auth=auth, timeout=60) for url in urls]
    try:
        while True:
            http = rng.choice(clients)
            api = f"/v1/Workspaces/{ws}"
            roll = rng.random()
            with lock:
                creating = tasks_left[0] > 0 and roll < 0.4
                if creating:
                    tasks_left[0] -= 1
                elif tasks_left[0] <= 0 and roll < 0.4:
                    return
            if creating:
                response = http.post(f"{api}/Tasks", data={"Attributes": '{"proof": true}'})
            elif roll < 0.55:
                worker = rng.choice(workers)
                name = rng.choice(["Available", "Available", "Unavailable"])
                response = http.post(
                    f"{api}/Workers/{worker}",
                    data={"ActivitySid": activities[name], "RejectPendingReservations": "true"},
                )
            else:
                worker = rng.choice(workers)
                listed = http.get(f"{api}/Workers/{worker}/Reservations")
                response = listed
                live = [
                    r
                    for r in listed.json().get("reservations", [])
                    if r["reservation_status"] in ("pending", "accepted")
                ]
                if live:
                    reservation = rng.choice(live)
                    path = f"{api}/Workers/{worker}/Reservations/{reservation['sid']}"
                    if reservation["reservation_status"] == "accepted":
                        response = http.post(
                            f"{api}/Tasks/{reservation['task_sid']}",
                            data={"AssignmentStatus": "completed", "Reason": "proof"},
                        )
                    else:
                        choice = "accepted" if rng.random() < 0.7 else "rejected"
                        response = http.post(path, data={"ReservationStatus": choice})
            with lock:
                outcome.requests[response.status_code] += 1
    finally:
        for client in clients:
            client.close()


def replay(database_url: str, workspace_sid: str, capacity: int, outcome: Outcome) -> None:
    """Check the invariants on the event history and the final state."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT event_type, task_sid, worker_sid, reservation_sid FROM event "
                    "WHERE workspace_sid = :ws AND reservation_sid IS NOT NULL ORDER BY id"
                ),
                {"ws": workspace_sid},
            ).all()
            final = connection.execute(
                text(
                    "SELECT r.sid, r.reservation_status, t.assignment_status FROM reservation r "
                    "JOIN task t ON t.sid = r.task_sid WHERE r.workspace_sid = :ws"
                ),
                {"ws": workspace_sid},
            ).all()
    finally:
        engine.dispose()
    holds: dict[str, set[str]] = defaultdict(set)
    accepted_per_task: Counter[str] = Counter()
    ended: set[str] = set()
    for event_type, task_sid, worker_sid, reservation_sid in rows:
        outcome.events += 1
        if event_type in HOLDING:
            holds[worker_sid].add(reservation_sid)
            if len(holds[worker_sid]) > capacity:
                outcome.violations.append(f"{worker_sid} held {sorted(holds[worker_sid])}")
        elif event_type in RELEASING:
            if reservation_sid in ended:
                outcome.violations.append(f"{reservation_sid} ended twice ({event_type})")
            ended.add(reservation_sid)
            holds[worker_sid].discard(reservation_sid)
        elif event_type == "reservation.accepted":
            outcome.accepted += 1
            accepted_per_task[task_sid] += 1
            if accepted_per_task[task_sid] > 1:
                outcome.violations.append(f"{task_sid} accepted twice")
    consistent = {
        "pending": {"reserved"},
        "accepted": {"assigned"},
        "wrapping": {"wrapping"},
        "completed": {"completed"},
    }
    for sid, status, task_status in final:
        allowed = consistent.get(status)
        if allowed is not None and task_status not in allowed:
            outcome.violations.append(f"{sid} is {status} but its task is {task_status}")


def run_proof(
    database_url: str, *, processes: int, workers: int, tasks: int, clients: int
) -> Outcome:
    """Run the workload against `processes` servers on one database and check the history."""
    outcome = Outcome()
    auth = (f"AC{uuid.uuid4().hex}", "proof-token")
    started = time.monotonic()
    with ExitStack() as stack:
        urls = [stack.enter_context(server_process(database_url)) for _ in range(processes)]
        with httpx.Client(base_url=urls[0], auth=auth, timeout=60) as http:
            ws = http.post(
                "/v1/Workspaces", data={"FriendlyName": "Proof", "Template": "FIFO"}
            ).json()["sid"]
            activities = {
                a["friendly_name"]: a["sid"]
                for a in http.get(f"/v1/Workspaces/{ws}/Activities").json()["activities"]
            }
            worker_sids = [
                http.post(
                    f"/v1/Workspaces/{ws}/Workers",
                    data={"FriendlyName": f"P{n}", "ActivitySid": activities["Available"]},
                ).json()["sid"]
                for n in range(workers)
            ]
        lock = threading.Lock()
        tasks_left = [tasks]
        threads = [
            threading.Thread(
                target=_client_loop,
                args=(urls, auth, ws, activities, worker_sids, tasks_left, outcome, lock, seed),
            )
            for seed in range(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    outcome.seconds = time.monotonic() - started
    # The FIFO template's workers have one slot on the default channel.
    replay(database_url, ws, capacity=1, outcome=outcome)
    return outcome


def main() -> None:
    """Full-size proof from the command line; prints the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    with postgres_database(args.database_url, prefix="tre_proof") as url:
        outcome = run_proof(
            url,
            processes=args.processes,
            workers=args.workers,
            tasks=args.tasks,
            clients=args.clients,
        )
    print(
        f"{args.processes} processes, {args.workers} workers, {args.tasks} tasks, {args.clients} clients"
    )
    print(f"requests by status: {dict(sorted(outcome.requests.items()))}")
    print(f"reservation events replayed: {outcome.events}, accepts: {outcome.accepted}")
    print(f"violations: {len(outcome.violations)} {outcome.violations[:5]}")
    print(f"took {outcome.seconds:.1f} s")


if __name__ == "__main__":
    main()
