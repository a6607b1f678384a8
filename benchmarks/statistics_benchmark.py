"""Time every statistics endpoint, and the lists' expression filters, on a large workspace.

Builds one workspace directly with SQLAlchemy bulk inserts (15,000 workers with their channels,
100 queues with distinct `target_workers`, 10,000 pending tasks and 1,000,000 events inside the
default 15-minute window, in a realistic mix of types), then starts the app in-process with a
frozen clock and times each endpoint through `fastapi.testclient`, printing the median of a few
repetitions (and the first, cold call).

    .venv/bin/python benchmarks/statistics_benchmark.py                       # full run, fresh SQLite file
    .venv/bin/python benchmarks/statistics_benchmark.py --events 100000 --workers 2000 --tasks 2000
    .venv/bin/python benchmarks/statistics_benchmark.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/stats_bench   # the database is recreated
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from taskrouter_emulator.app import create_app
from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.config import Settings
from taskrouter_emulator.events.counts import add_counts, tally
from taskrouter_emulator.events.recorder import extracted_columns
from taskrouter_emulator.expressions import evaluate
from taskrouter_emulator.models import (
    Activity,
    Event,
    Task,
    TaskChannel,
    TaskQueue,
    TaskQueueMember,
    Worker,
    WorkerChannel,
    Workflow,
    Workspace,
)
from taskrouter_emulator.task_queues.members import indexable, static_document

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)
ACCOUNT = ("AC" + "b" * 32, "benchmark-token")
SKILLS = 25
BATCH = 20_000

# Relative frequencies of event types in a busy contact centre (per 1,000 events).
EVENT_MIX: dict[str, int] = {
    "task.created": 70,
    "workflow.entered": 70,
    "workflow.target-matched": 70,
    "task-queue.entered": 75,
    "reservation.created": 110,
    "reservation.accepted": 65,
    "reservation.rejected": 15,
    "reservation.timeout": 10,
    "reservation.canceled": 10,
    "reservation.rescinded": 5,
    "reservation.wrapup": 55,
    "reservation.completed": 55,
    "task.wrapup": 55,
    "task.completed": 55,
    "task.canceled": 10,
    "task.updated": 15,
    "task.deleted": 5,
    "task.system-deleted": 55,
    "task-queue.moved": 5,
    "task-queue.timeout": 5,
    "workflow.timeout": 5,
    "worker.activity.update": 85,
    "worker.attributes.update": 5,
    "worker.channel.availability.update": 5,
}
RESERVATION_TYPES = {t for t in EVENT_MIX if t.startswith("reservation.")}
TASK_TYPES = {t for t in EVENT_MIX if t.startswith(("task", "workflow."))}


_SIDS = random.Random(11)


def sid(prefix: str) -> str:
    return f"{prefix}{_SIDS.getrandbits(128):032x}"


def fresh_database(url: str | None) -> tuple[str, Callable[[], None]]:
    """Return an empty database URL and a clean-up: a temp SQLite file (or the given SQLite file,
    emptied), or the given PostgreSQL database dropped and recreated."""
    if url is None or make_url(url).get_backend_name() == "sqlite":
        if url is None:
            directory = Path(tempfile.mkdtemp(prefix="stats-bench-"))
            path = directory / "bench.db"
        else:
            directory, path = None, Path(make_url(url).database or "bench.db")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

        def remove() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            if directory is not None:
                directory.rmdir()

        return f"sqlite:///{path}", remove
    parsed = make_url(url)
    name = parsed.database
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return parsed.render_as_string(hide_password=False), drop


def chunks(rows: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def bulk(engine: Engine, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        for chunk in chunks(rows):
            conn.execute(insert(model), list(chunk))


class Builder:
    """Generates and inserts the benchmark data for one workspace created through the API."""

    def __init__(self, engine: Engine, workspace_sid: str, *, seed: int = 7) -> None:
        self.engine = engine
        self.ws = workspace_sid
        self.rng = random.Random(seed)
        with engine.connect() as conn:
            self.activities = {
                name: (sid_, available)
                for sid_, name, available in conn.execute(
                    select(Activity.sid, Activity.friendly_name, Activity.available).where(
                        Activity.workspace_sid == workspace_sid
                    )
                )
            }
            self.channels = {
                name: sid_
                for sid_, name in conn.execute(
                    select(TaskChannel.sid, TaskChannel.unique_name).where(
                        TaskChannel.workspace_sid == workspace_sid
                    )
                )
            }
        self.queues: list[str] = []
        self.workers: list[tuple[str, str]] = []
        self.workflow_sid = ""

    def common(self, moment: datetime) -> dict[str, Any]:
        return {
            "account_sid": ACCOUNT[0],
            "workspace_sid": self.ws,
            "date_created": moment,
            "date_updated": moment,
        }

    def add_queues(self, count: int, unindexed: int = 0) -> None:
        """Insert queues; `unindexed` of them, spread over the list (not the first, which the
        single-queue endpoints are timed on), also read the worker's activity, so their members
        are not kept as rows (evaluated per worker, as the app does for such queues)."""
        created = NOW - timedelta(days=2)
        step = count // unindexed if unindexed else 0
        rows = []
        for i in range(count):
            self.queues.append(sid("WQ"))
            expression = f"skills HAS 'skill{i % SKILLS}' AND level >= {i // SKILLS}"
            if step and i % step == step // 2 and i // step < unindexed:
                expression += " AND activity_name != 'Offline'"
            rows.append(
                {
                    **self.common(created),
                    "sid": self.queues[-1],
                    "friendly_name": f"Queue {i:03d}",
                    "target_workers": expression,
                    "task_order": "FIFO",
                    "max_reserved_workers": 1,
                    "members_indexed": indexable(expression) is not None,
                }
            )
        bulk(self.engine, TaskQueue, rows)

    def add_members(self) -> None:
        """Insert `task_queue_member` rows for the queues whose membership is indexed (as the app
        computes them when a queue or worker is written)."""
        with self.engine.connect() as conn:
            queues = conn.execute(
                select(TaskQueue.sid, TaskQueue.target_workers).where(
                    TaskQueue.workspace_sid == self.ws
                )
            ).all()
            workers = conn.execute(
                select(Worker.sid, Worker.friendly_name, Worker.attributes).where(
                    Worker.workspace_sid == self.ws
                )
            ).all()
        documents = [
            (worker_sid, static_document(sid=worker_sid, friendly_name=name, attributes=text))
            for worker_sid, name, text in workers
        ]
        rows = []
        for queue_sid, target_workers in queues:
            expression = indexable(target_workers)
            if expression is None:
                continue
            rows.extend(
                {"task_queue_sid": queue_sid, "worker_sid": worker_sid, "workspace_sid": self.ws}
                for worker_sid, document in documents
                if evaluate(expression, {"worker": document}, bare="worker")
            )
        bulk(self.engine, TaskQueueMember, rows)

    def add_workers(self, count: int, profiles: int) -> None:
        """Insert workers (skills, level and languages from `profiles` distinct attribute profiles,
        a random activity) and one channel each per task channel."""
        created = NOW - timedelta(days=1)
        names = list(self.activities)
        templates = [
            {
                "skills": [f"skill{s}" for s in self.rng.sample(range(SKILLS), 3)],
                "level": self.rng.randint(0, 5),
                "languages": self.rng.sample(["en", "es", "fr", "de"], 2),
            }
            for _ in range(max(1, min(profiles, count)))
        ]
        workers, channels = [], []
        for i in range(count):
            worker_sid = sid("WK")
            activity = self.rng.choice(names)
            # Unique profiles get a unique attribute document (like real per-agent attributes).
            attributes = {
                **templates[i % len(templates)],
                **({"agent_id": i} if profiles >= count else {}),
            }
            workers.append(
                {
                    **self.common(created),
                    "sid": worker_sid,
                    "friendly_name": f"Worker {i:05d}",
                    "friendly_name_key": f"worker {i:05d}",
                    "attributes": json.dumps(attributes),
                    "activity_sid": self.activities[activity][0],
                    "date_status_changed": created,
                    "idle_since": created,
                    "version": 0,
                }
            )
            self.workers.append((worker_sid, activity))
            for channel_sid in self.channels.values():
                channels.append(
                    {
                        **self.common(created),
                        "sid": sid("WC"),
                        "worker_sid": worker_sid,
                        "task_channel_sid": channel_sid,
                        "configured_capacity": 1,
                        "available": True,
                    }
                )
        bulk(self.engine, Worker, workers)
        bulk(self.engine, WorkerChannel, channels)

    def add_tasks(self, count: int) -> None:
        rows = []
        for i in range(count):
            created = NOW - timedelta(seconds=self.rng.randint(1, 3600))
            rows.append(
                {
                    **self.common(created),
                    "sid": sid("WT"),
                    "attributes": json.dumps({"type": "support", "n": i}),
                    "addons": "{}",
                    "assignment_status": "pending",
                    "priority": self.rng.choice((0, 0, 0, 1, 5)),
                    "requested_priority": None,
                    "timeout": 86400,
                    "task_channel_sid": self.channels["voice" if i % 3 else "chat"],
                    "workflow_sid": self.workflow_sid,
                    "task_queue_sid": self.rng.choice(self.queues),
                    "task_queue_entered_at": created + timedelta(seconds=1),
                    "virtual_start_time": created,
                    "routing_target": None,
                    "ignore_capacity": False,
                    "filter_index": -1,
                    "target_index": 0,
                    "expires_at": created + timedelta(days=1),
                    "assignment_count": 0,
                    "version": 1,
                }
            )
        bulk(self.engine, Task, rows)

    def insert_events(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert events and their per-bucket counts, as recording them through the app does."""
        bulk(self.engine, Event, rows)
        with Session(self.engine) as session, session.begin():
            add_counts(session, tally(rows))

    def add_events(self, count: int) -> None:
        """Insert `count` events spread over the 15 minutes before NOW, oldest first."""
        types = self.rng.choices(list(EVENT_MIX), weights=list(EVENT_MIX.values()), k=count)
        start_ms = int((NOW - WINDOW).timestamp() * 1000)
        moments = sorted(
            self.rng.randrange(start_ms, int(NOW.timestamp() * 1000)) for _ in range(count)
        )
        last_change: dict[str, tuple[int, str]] = {}
        activity_names = list(self.activities)
        updates: dict[str, tuple[str, datetime]] = {}
        written = 0
        batch: list[dict[str, Any]] = []
        for event_type, ms in zip(types, moments, strict=True):
            moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
            worker_sid, worker_activity = self.rng.choice(self.workers)
            data: dict[str, str] = {"workspace_sid": self.ws, "workspace_name": "Benchmark"}
            if event_type in TASK_TYPES or event_type in RESERVATION_TYPES:
                created_s = ms // 1000 - self.rng.randint(0, 600)
                queue_sid = self.rng.choice(self.queues)
                channel = "voice" if ms % 3 else "chat"
                data.update(
                    task_sid=sid("WT"),
                    task_attributes=json.dumps({"type": "support", "customer": f"C{ms % 9973}"}),
                    task_age=str(ms // 1000 - created_s),
                    task_priority=str(ms % 3),
                    task_assignment_status="pending",
                    task_version="1",
                    task_channel_sid=self.channels[channel],
                    task_channel_unique_name=channel,
                    task_date_created=str(created_s),
                    task_queue_entered_date=str(created_s + self.rng.randint(0, 5)),
                    task_queue_sid=queue_sid,
                    task_queue_name="Queue",
                    workflow_sid=self.workflow_sid,
                    workflow_name="Benchmark Workflow",
                )
                if event_type in RESERVATION_TYPES:
                    data.update(
                        reservation_sid=sid("WR"), worker_sid=worker_sid, worker_name="Worker"
                    )
            else:
                data.update(worker_sid=worker_sid, worker_name="Worker", worker_attributes="{}")
                if event_type == "worker.activity.update":
                    previous_ms, previous = last_change.get(
                        worker_sid,
                        (int((NOW - timedelta(days=1)).timestamp() * 1000), worker_activity),
                    )
                    new = self.rng.choice([a for a in activity_names if a != previous])
                    spent = ms - previous_ms
                    data.update(
                        worker_activity_sid=self.activities[new][0],
                        worker_activity_name=new,
                        worker_previous_activity_sid=self.activities[previous][0],
                        worker_previous_activity_name=previous,
                        worker_time_in_previous_activity=str(spent // 1000),
                        worker_time_in_previous_activity_ms=str(spent),
                    )
                    last_change[worker_sid] = (ms, new)
                    updates[worker_sid] = (new, moment)
            batch.append(
                {
                    "sid": sid("EV"),
                    "account_sid": ACCOUNT[0],
                    "workspace_sid": self.ws,
                    "event_type": event_type,
                    "event_date": moment,
                    "event_date_ms": ms,
                    "description": f"{event_type} benchmark event",
                    "resource_type": "task" if "task_sid" in data else "worker",
                    "resource_sid": data.get("task_sid") or worker_sid,
                    "resource_url": f"/v1/Workspaces/{self.ws}/Tasks",
                    "actor_type": "workspace",
                    "actor_sid": self.ws,
                    "actor_url": f"/v1/Workspaces/{self.ws}",
                    "source_ip_address": None,
                    "event_data": json.dumps(data),
                    # The indexed columns, copied from event_data as the recorder does.
                    **extracted_columns(data),
                }
            )
            if len(batch) >= BATCH:
                self.insert_events(batch)
                written += len(batch)
                batch = []
                print(f"\r  events: {written:,}/{count:,}", end="", flush=True)
        if batch:
            self.insert_events(batch)
        print(f"\r  events: {count:,}/{count:,}")
        # Workers end in the activity their last change moved them to, since that moment.
        with self.engine.begin() as conn:
            for worker_sid, (activity, moment) in updates.items():
                conn.execute(
                    Worker.__table__.update()
                    .where(Worker.sid == worker_sid)
                    .values(activity_sid=self.activities[activity][0], date_status_changed=moment)
                )


def timed(label: str, seconds: float) -> None:
    print(f"  {label:<34} {seconds:7.1f} s", flush=True)


def build(client: TestClient, engine: Engine, args: argparse.Namespace) -> str:
    """Create the benchmark workspace through the API and fill it with bulk inserts; return its SID."""
    ws: str = client.post("/v1/Workspaces", data={"FriendlyName": "Benchmark"}).json()["sid"]
    builder = Builder(engine, ws)
    t = time.perf_counter()
    builder.add_queues(args.queues, args.unindexed)
    first_queue = builder.queues[0]
    configuration = {"task_routing": {"filters": [], "default_filter": {"queue": first_queue}}}
    workflow = client.post(
        f"/v1/Workspaces/{ws}/Workflows",
        data={"FriendlyName": "Benchmark Workflow", "Configuration": json.dumps(configuration)},
    ).json()
    builder.workflow_sid = workflow["sid"]
    builder.add_workers(args.workers, args.profiles)
    builder.add_members()
    builder.add_tasks(args.tasks)
    timed(f"insert {args.workers:,} workers, {args.tasks:,} tasks", time.perf_counter() - t)
    t = time.perf_counter()
    builder.add_events(args.events)
    timed(f"insert {args.events:,} events", time.perf_counter() - t)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return ws


# A page (50) of the workers with a skill and a level; every worker; no worker (the whole list is
# scanned).
WORKER_FILTERS = ("skills HAS 'skill5' AND level >= 4", "level >= 0", "level > 100")
QUEUE_FILTER = json.dumps({"skills": ["skill5", "skill7"], "level": 3, "languages": ["en"]})
TASK_FILTERS = ("n == 5", "n == -1")
_FRESH = {"Cache-Control": "no-cache"}


def time_endpoints(client: TestClient, engine: Engine, ws: str, repeat: int) -> bool:
    """Time every statistics endpoint of the benchmark workspace; False if one of them fails."""
    with engine.connect() as conn:
        queues = list(
            conn.scalars(
                select(TaskQueue.sid)
                .where(TaskQueue.workspace_sid == ws)
                .order_by(TaskQueue.friendly_name)
            )
        )
        worker_sid = conn.scalars(
            select(Worker.sid).where(Worker.workspace_sid == ws).order_by(Worker.friendly_name)
        ).first()
        wf = conn.scalars(select(Workflow.sid).where(Workflow.workspace_sid == ws)).one()
        events = conn.scalar(select(func.count()).select_from(Event))
    assert worker_sid is not None
    base = f"/v1/Workspaces/{ws}"
    queue = queues[0]
    page = queues[:50]
    endpoints: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/Statistics", None),
        ("GET", "/RealTimeStatistics", None),
        ("GET", "/CumulativeStatistics", None),
        ("GET", "/CumulativeStatistics?SplitByWaitTime=5,30,60,120", None),
        ("GET", "/CumulativeStatistics?TaskChannel=voice", None),
        ("GET", f"/TaskQueues/{queue}/Statistics", None),
        ("GET", f"/TaskQueues/{queue}/RealTimeStatistics", None),
        ("GET", f"/TaskQueues/{queue}/CumulativeStatistics", None),
        ("GET", "/TaskQueues/Statistics", None),
        ("POST", "/TaskQueues/RealTimeStatistics", {"queueSids": page}),
        ("GET", "/Workers/Statistics", None),
        ("GET", "/Workers/RealTimeStatistics", None),
        ("GET", "/Workers/CumulativeStatistics", None),
        ("GET", f"/Workers/Statistics?TaskQueueSid={queue}", None),
        ("GET", f"/Workers/{worker_sid}/Statistics", None),
        ("GET", f"/Workflows/{wf}/Statistics", None),
        ("GET", f"/Workflows/{wf}/RealTimeStatistics", None),
        ("GET", f"/Workflows/{wf}/CumulativeStatistics", None),
        # The expression filters of the lists (issue 9: within 100 ms at 15,000 workers).
        *(("GET", f"/Workers?{urlencode({'TargetWorkersExpression': e})}", None) for e in WORKER_FILTERS),
        ("GET", f"/TaskQueues?{urlencode({'EvaluateWorkerAttributes': QUEUE_FILTER})}", None),
        *(("GET", f"/Tasks?{urlencode({'EvaluateTaskAttributes': e})}", None) for e in TASK_FILTERS),
    ]
    print(f"\n{'endpoint':<62} {'first':>8} {'median':>8}   (ms, {repeat} runs)")
    for method, path, body in endpoints:
        samples = []
        for _ in range(repeat + 1):
            t = time.perf_counter()
            # Answered from the database every time, not from the answers kept while nothing
            # changes (the clock is frozen, so they would be kept).
            response = client.request(method, base + path, json=body, headers=_FRESH)
            samples.append((time.perf_counter() - t) * 1000)
            if response.status_code != 200:
                print(f"{method} {path}: {response.status_code} {response.text}", file=sys.stderr)
                return False
        label = (
            f"{method} {path}".replace(queue, "{WQ}")
            .replace(wf, "{WW}")
            .replace(worker_sid, "{WK}")
        )
        print(f"{label:<62} {samples[0]:8.0f} {statistics.median(samples[1:]):8.0f}", flush=True)
    summary = client.get(base + "/CumulativeStatistics").json()
    print(
        f"\nwindow check: reservations_created={summary['reservations_created']:,} "
        f"tasks_created={summary['tasks_created']:,} (of {events:,} events)"
    )
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", help="SQLite or PostgreSQL URL (recreated); default: a temp SQLite file"
    )
    parser.add_argument("--workers", type=int, default=15_000)
    parser.add_argument("--queues", type=int, default=100)
    parser.add_argument(
        "--unindexed",
        type=int,
        default=0,
        help="how many queues (spread over the list) also read activity_name, so their members "
        "are evaluated per worker instead of read from task_queue_member",
    )
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--profiles",
        type=int,
        default=300,
        help="distinct worker attribute profiles (teams sharing skills); >= --workers makes every worker unique",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed calls per endpoint (median reported)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the database afterwards (and print where it is)"
    )
    parser.add_argument(
        "--reuse",
        metavar="URL",
        help="time the endpoints on a database an earlier --keep run built (nothing is rebuilt, "
        "nothing dropped): to compare two versions of the code on the same data",
    )
    args = parser.parse_args(argv)

    if args.reuse:
        url, drop = args.reuse, None
    else:
        url, drop = fresh_database(args.database_url)
    print(f"database: {make_url(url).render_as_string(hide_password=True)}")
    started = time.perf_counter()
    app = create_app(
        Settings(database_url=url, clock="frozen", scheduler_interval=0),
        clock=EmulatorClock(frozen=True, start=NOW),
    )
    engine: Engine = app.state.engine
    try:
        with TestClient(app) as client:
            client.auth = ACCOUNT
            if args.reuse:
                with engine.connect() as conn:
                    ws = conn.scalars(
                        select(Workspace.sid).where(Workspace.friendly_name == "Benchmark")
                    ).one()
            else:
                ws = build(client, engine, args)
            if not time_endpoints(client, engine, ws, args.repeat):
                return 1
    finally:
        engine.dispose()
        if args.keep or drop is None:
            print(f"kept: {make_url(url).render_as_string(hide_password=True)}")
        else:
            drop()
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
