"""Routing benchmark: tasks created through the REST API, routed to workers, timed end to end.

One workspace with N workers and Q queues (each queue selects the workers of one skill) and a
workflow with one filter per queue. Every task is created with `POST /Tasks`; the reservation is
made inside that request, so the request's duration is the create→reservation latency. Each worker
has capacity 1 and every created task finds a free worker.

    .venv/bin/python benchmarks/routing_benchmark.py                      # 1,000 workers, 100 queues
    .venv/bin/python benchmarks/routing_benchmark.py --workers 15000      # Twilio's per-workspace limit
    .venv/bin/python benchmarks/routing_benchmark.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Prints tasks routed per second and the latency median and p99.

With `--pending N` it measures the other direction instead: N tasks already wait (bulk-inserted,
spread over the queues, oldest first), every worker is Offline, and workers are made Available one
after another with `POST /Workers/{sid}`; the update request makes the reservation, so its duration
is the available→offer latency. The script checks each worker was offered the oldest waiting task of
its queue.

    .venv/bin/python benchmarks/routing_benchmark.py --workers 15000 --queues 5000 --pending 100000 --tasks 500
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

from taskrouter_emulator.app import create_app
from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.config import Settings
from taskrouter_emulator.db.session import unit_of_work
from taskrouter_emulator.models import Activity, Task, TaskChannel
from taskrouter_emulator.sids import Prefix, new_sid
from taskrouter_emulator.task_queues import service as queue_service
from taskrouter_emulator.testing import database_on, free_port
from taskrouter_emulator.workers import service as worker_service
from taskrouter_emulator.workflows import service as workflow_service
from taskrouter_emulator.workspaces import service as workspace_service


def run(workers: int, queues: int, tasks: int, database_url: str | None, profile: str | None = None, pending: int = 0) -> None:
    """Build the workspace, create the tasks, print the figures."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        database_on(database_url, Path(tmp), prefix="tre_bench") as url,
    ):
        _run(url, workers, queues, tasks, profile, pending)


def _run(url: str, workers: int, queues: int, tasks: int, profile: str | None, pending: int) -> None:
    # Build the workspace in-process (fast), then measure a separate server process over HTTP, as a
    # client would see it (the client does not compete with the server for the interpreter lock).
    settings = Settings(database_url=url, clock="frozen", webhook_workers=0, scheduler_interval=0)
    clock = EmulatorClock(frozen=True)
    app = create_app(settings, clock=clock)
    account = f"AC{uuid.uuid4().hex}"
    started = time.perf_counter()
    with unit_of_work(app.state.sessionmaker) as session:
        workspace = workspace_service.create(session, clock=clock, account_sid=account, friendly_name="Benchmark")
        activities = list(session.scalars(select(Activity).where(Activity.workspace_sid == workspace.sid)))
        available = next(a.sid for a in activities if a.available)
        offline = next(a.sid for a in activities if a.friendly_name == "Offline")
        queue_sids = [
            queue_service.create(session, clock=clock, workspace=workspace, friendly_name=f"Q{i}", target_workers=f"skill == {i}").sid
            for i in range(queues)
        ]
        filters = [
            {"filter_friendly_name": f"F{i}", "expression": f"skill == {i}", "targets": [{"queue": sid}]}
            for i, sid in enumerate(queue_sids)
        ]
        workflow = workflow_service.create(
            session, clock=clock, workspace=workspace, friendly_name="Skills",
            configuration=json.dumps({"task_routing": {"filters": filters}}),
        )
        for i in range(workers):
            worker_service.create(
                session, clock=clock, workspace=workspace, friendly_name=f"Worker {i}",
                attributes=json.dumps({"skill": i % queues, "languages": ["en", "es"], "level": i % 10}),
                activity_sid=offline if pending else available,
            )
        workspace_sid = workspace.sid
        waiting = _insert_pending(session, clock, workspace, queue_sids, pending, workflow_sid=workflow.sid) if pending else {}
    app.state.engine.dispose()
    print(f"setup: {workers} workers, {queues} queues in {time.perf_counter() - started:.1f}s")
    port = free_port()
    env = {**os.environ, "TASKROUTER_CLOCK": "frozen", "TASKROUTER_WEBHOOK_WORKERS": "0", "TASKROUTER_SCHEDULER_INTERVAL": "0"}
    command = [sys.executable, "-m", "taskrouter_emulator", "serve", "--port", str(port), "--database-url", url, "--log-level", "warning"]
    if profile:
        # py-spy samples the server process; "raw" is the collapsed-stack format (one line per stack).
        command = [str(Path(sys.executable).with_name("py-spy")), "record", "--format", "raw", "--rate", "200", "-o", profile, "--", *command]
    server = subprocess.Popen(command, env=env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=(account, "bench"), timeout=120) as http:
            for _ in range(300):
                try:
                    if http.get("/emulator/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            base = f"/v1/Workspaces/{workspace_sid}"
            if pending:
                _make_available(http, base, available, waiting, tasks, url, workers, queues, pending)
                return
            latencies = []
            started = time.perf_counter()
            for i in range(tasks):
                begin = time.perf_counter()
                response = http.post(f"{base}/Tasks", data={"Attributes": json.dumps({"skill": i % queues, "n": i})})
                latencies.append(time.perf_counter() - begin)
                body = response.json()
                assert response.status_code == 201, body
                assert body["assignment_status"] == "reserved", body
            elapsed = time.perf_counter() - started
    finally:
        # py-spy writes its profile on SIGINT (and takes the server down with it).
        server.send_signal(signal.SIGINT if profile else signal.SIGTERM)
        server.wait(timeout=60)
    _print(url, workers, queues, tasks, latencies, elapsed, "(create -> reservation, sequential)")


def _insert_pending(session, clock, workspace, queue_sids, count, *, workflow_sid):  # type: ignore[no-untyped-def]
    """Bulk-insert waiting tasks, task i in queue i % Q, created one millisecond apart (oldest first)."""
    channel = session.scalars(select(TaskChannel.sid).where(TaskChannel.workspace_sid == workspace.sid, TaskChannel.unique_name == "default")).one()
    now = clock.now()
    waiting: dict[int, list[str]] = {}
    rows = []
    for i in range(count):
        created = now - timedelta(milliseconds=count - i)
        sid = new_sid(Prefix.TASK)
        waiting.setdefault(i % len(queue_sids), []).append(sid)
        rows.append({
            "sid": sid,
            "account_sid": workspace.account_sid,
            "workspace_sid": workspace.sid,
            "attributes": json.dumps({"skill": i % len(queue_sids), "n": i}),
            "addons": "{}",
            "assignment_status": "pending",
            "priority": 0,
            "timeout": 86400,
            "task_channel_sid": channel,
            "workflow_sid": workflow_sid,
            "task_queue_sid": queue_sids[i % len(queue_sids)],
            "task_queue_entered_at": created,
            "virtual_start_time": created,
            "ignore_capacity": False,
            "filter_index": i % len(queue_sids),
            "target_index": 0,
            "expires_at": now + timedelta(days=1),
            "assignment_count": 0,
            "version": 0,
            "date_created": created,
            "date_updated": created,
        })
    for start in range(0, len(rows), 5000):
        session.execute(insert(Task), rows[start : start + 5000])
    return waiting


def _make_available(http, base, available, waiting, count, url, workers, queues, pending):  # type: ignore[no-untyped-def]
    """Make `count` workers Available one at a time; time each update and check the offered task."""
    page = http.get(f"{base}/Workers", params={"PageSize": 1000}).json()
    listed = []
    while True:
        listed.extend(page["workers"])
        if len(listed) >= count or not page["meta"]["next_page_url"]:
            break
        page = http.get(page["meta"]["next_page_url"]).json()
    latencies = []
    started = time.perf_counter()
    for worker in listed[:count]:
        skill = json.loads(worker["attributes"])["skill"]
        begin = time.perf_counter()
        response = http.post(f"{base}/Workers/{worker['sid']}", data={"ActivitySid": available})
        latencies.append(time.perf_counter() - begin)
        assert response.status_code == 200, response.text
        expected = waiting[skill].pop(0)
        offers = http.get(f"{base}/Workers/{worker['sid']}/Reservations").json()["reservations"]
        assert [r["task_sid"] for r in offers] == [expected], (offers, expected)
    elapsed = time.perf_counter() - started
    _print(url, workers, queues, count, latencies, elapsed, f"pending={pending} (worker made Available -> offer)")


def _print(url, workers, queues, tasks, latencies, elapsed, label):  # type: ignore[no-untyped-def]
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    backend = make_url(url).get_backend_name()
    print(f"backend={backend} workers={workers} queues={queues} tasks={tasks} {label}")
    print(f"requests per second (incl. checks): {tasks / elapsed:.1f}")
    print(f"latency: median {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")


def main() -> None:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1000)
    parser.add_argument("--queues", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=None, help="default: min(workers, 1000)")
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL (a scratch database is created)")
    parser.add_argument("--pending", type=int, default=0, help="tasks already waiting; then time workers becoming Available")
    parser.add_argument("--profile", default=None, help="record the server with py-spy into this file (collapsed stacks)")
    args = parser.parse_args()
    run(args.workers, args.queues, args.tasks or min(args.workers, 1000), args.database_url, args.profile, args.pending)


if __name__ == "__main__":
    main()
