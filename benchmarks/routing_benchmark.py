"""Routing benchmark: tasks created through the REST API, routed to workers, timed end to end.

One workspace with N workers and Q queues (each queue selects the workers of one skill) and a
workflow with one filter per queue. Every task is created with `POST /Tasks`; the reservation is
made inside that request, so the request's duration is the create→reservation latency. Each worker
has capacity 1 and every created task finds a free worker.

    .venv/bin/python benchmarks/routing_benchmark.py                      # 1,000 workers, 100 queues
    .venv/bin/python benchmarks/routing_benchmark.py --workers 15000      # Twilio's per-workspace limit
    .venv/bin/python benchmarks/routing_benchmark.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Prints tasks routed per second and the latency median and p99.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from taskrouter_emulator.app import create_app
from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.config import Settings
from taskrouter_emulator.db.session import unit_of_work
from taskrouter_emulator.models import Activity
from taskrouter_emulator.task_queues import service as queue_service
from taskrouter_emulator.workers import service as worker_service
from taskrouter_emulator.workflows import service as workflow_service
from taskrouter_emulator.workspaces import service as workspace_service


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database(url: str | None, directory: Path) -> tuple[str, str | None]:
    if not url:
        return f"sqlite:///{directory / 'bench.db'}", None
    name = f"tre_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(url).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False), name


def _drop(url: str, name: str) -> None:
    admin = create_engine(make_url(url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def run(workers: int, queues: int, tasks: int, database_url: str | None) -> None:
    """Build the workspace, create the tasks, print the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        url, created_db = _database(database_url, Path(tmp))
        try:
            _run(url, workers, queues, tasks)
        finally:
            if created_db and database_url:
                _drop(database_url, created_db)


def _run(url: str, workers: int, queues: int, tasks: int) -> None:
    # Build the workspace in-process (fast), then measure a separate server process over HTTP, as a
    # client would see it (the client does not compete with the server for the interpreter lock).
    settings = Settings(database_url=url, clock="frozen", webhook_workers=0, scheduler_interval=0)
    clock = EmulatorClock(frozen=True)
    app = create_app(settings, clock=clock)
    account = f"AC{uuid.uuid4().hex}"
    started = time.perf_counter()
    with unit_of_work(app.state.sessionmaker) as session:
        workspace = workspace_service.create(session, clock=clock, account_sid=account, friendly_name="Benchmark")
        available = next(a.sid for a in session.scalars(select(Activity).where(Activity.workspace_sid == workspace.sid)) if a.available)
        queue_sids = [
            queue_service.create(session, clock=clock, workspace=workspace, friendly_name=f"Q{i}", target_workers=f"skill == {i}").sid
            for i in range(queues)
        ]
        filters = [
            {"filter_friendly_name": f"F{i}", "expression": f"skill == {i}", "targets": [{"queue": sid}]}
            for i, sid in enumerate(queue_sids)
        ]
        workflow_service.create(
            session, clock=clock, workspace=workspace, friendly_name="Skills",
            configuration=json.dumps({"task_routing": {"filters": filters}}),
        )
        for i in range(workers):
            worker_service.create(
                session, clock=clock, workspace=workspace, friendly_name=f"Worker {i}",
                attributes=json.dumps({"skill": i % queues, "languages": ["en", "es"], "level": i % 10}),
                activity_sid=available,
            )
        workspace_sid = workspace.sid
    app.state.engine.dispose()
    print(f"setup: {workers} workers, {queues} queues in {time.perf_counter() - started:.1f}s")
    port = _free_port()
    env = {**os.environ, "TASKROUTER_CLOCK": "frozen", "TASKROUTER_WEBHOOK_WORKERS": "0", "TASKROUTER_SCHEDULER_INTERVAL": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "taskrouter_emulator", "serve", "--port", str(port), "--database-url", url, "--log-level", "warning"],
        env=env,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=(account, "bench"), timeout=120) as http:
            for _ in range(300):
                try:
                    if http.get("/emulator/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            base = f"/v1/Workspaces/{workspace_sid}"
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
        server.terminate()
        server.wait(timeout=30)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    backend = make_url(url).get_backend_name()
    print(f"backend={backend} workers={workers} queues={queues} tasks={tasks}")
    print(f"tasks routed per second: {tasks / elapsed:.1f}")
    print(f"create->reservation latency: median {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")


def main() -> None:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1000)
    parser.add_argument("--queues", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=None, help="default: min(workers, 1000)")
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL (a scratch database is created)")
    args = parser.parse_args()
    run(args.workers, args.queues, args.tasks or min(args.workers, 1000), args.database_url)


if __name__ == "__main__":
    main()
