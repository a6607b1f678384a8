"""Measure the inspector's live event feed (a measurement, not a test).

1. Poll query cost: fills a fresh database with `--events` events of one busy workspace plus a few
   of a quiet one, then times the feed's two queries (the newest 20 events when a stream opens, and
   "events after the cursor" on every poll) with the `ix_event_workspace_id` index and, as the
   baseline measured in the same run, after dropping it (the plan the other indexes give).
2. End-to-end latency: starts the app (uvicorn, frozen clock) on that database, opens a stream, and
   times `--writes` worker creations through the REST API until each `worker.created` event arrives
   on the stream (the feed polls every POLL_SECONDS, so about half of that is expected).

    .venv/bin/python benchmarks/inspector_feed_benchmark.py                   # fresh SQLite file
    .venv/bin/python benchmarks/inspector_feed_benchmark.py --events 1000000 --writes 20
    .venv/bin/python benchmarks/inspector_feed_benchmark.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/feed_bench   # the database is recreated
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from taskrouter_emulator.app import create_app
from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.config import Settings
from taskrouter_emulator.db.migrate import upgrade
from taskrouter_emulator.inspector import service
from taskrouter_emulator.inspector.router import POLL_SECONDS
from taskrouter_emulator.models import Event

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
ACCOUNT = ("AC" + "f" * 32, "feed-benchmark")
BUSY = "WS" + "1" * 32
QUIET = "WS" + "2" * 32
BATCH = 20_000
QUIET_EVENTS = 50


def event_rows(workspace_sid: str, count: int, start: int) -> Iterator[dict[str, Any]]:
    """Yield `count` plausible event rows of a workspace (a task's lifecycle, repeated)."""
    types = ("task.created", "reservation.created", "reservation.accepted", "task.completed")
    for n in range(start, start + count):
        date = NOW - timedelta(seconds=(count - n) * 0.01)
        yield {
            "sid": f"EV{n:032x}",
            "account_sid": ACCOUNT[0],
            "workspace_sid": workspace_sid,
            "event_type": types[n % len(types)],
            "event_date": date,
            "event_date_ms": int(date.timestamp() * 1000),
            "description": "benchmark",
            "resource_type": "task",
            "resource_sid": f"WT{n:032x}",
            "resource_url": f"/v1/Workspaces/{workspace_sid}/Tasks/WT{n:032x}",
            "actor_type": "workspace",
            "actor_sid": workspace_sid,
            "actor_url": f"/v1/Workspaces/{workspace_sid}",
            "event_data": "{}",
            "task_sid": f"WT{n:032x}",
        }


def fill(engine: Engine, events: int) -> None:
    """Insert the quiet workspace's 50 events, then the busy workspace's (all newer)."""
    rows = event_rows(BUSY, events, QUIET_EVENTS)
    with engine.begin() as conn:
        conn.execute(insert(Event), list(event_rows(QUIET, QUIET_EVENTS, 0)))
        while chunk := [row for _, row in zip(range(BATCH), rows, strict=False)]:
            conn.execute(insert(Event), chunk)
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE event"))


def median_ms(action: Callable[[], object], repeat: int = 20) -> float:
    """Return the median wall time of `action` in milliseconds (after one warm-up call)."""
    action()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def time_queries(engine: Engine, events: int) -> dict[str, float]:
    """Time the feed's queries on both workspaces."""
    with Session(engine) as session:
        return {
            "newest 20, busy workspace": median_ms(
                lambda: service.newest_events(session, workspace_sid=BUSY, limit=20)
            ),
            "newest 20, quiet workspace": median_ms(
                lambda: service.newest_events(session, workspace_sid=QUIET, limit=20)
            ),
            "poll after cursor, busy workspace": median_ms(
                lambda: service.events_after(
                    session, workspace_sid=BUSY, after_id=QUIET_EVENTS + events - 5, limit=500
                )
            ),
            "poll after cursor, quiet workspace": median_ms(
                lambda: service.events_after(
                    session, workspace_sid=QUIET, after_id=QUIET_EVENTS - 5, limit=500
                )
            ),
        }


def free_port() -> int:
    """Return a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def feed_latency(database_url: str, writes: int) -> list[float]:
    """Return the milliseconds from each REST write to its event on the stream."""
    settings = Settings(
        database_url=database_url, clock="frozen", scheduler_interval=0, webhook_workers=0
    )
    app = create_app(settings, clock=EmulatorClock(frozen=True))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    base = f"http://127.0.0.1:{port}"
    latencies: list[float] = []
    try:
        with httpx.Client(base_url=base, auth=ACCOUNT, timeout=30) as http:
            ws = http.post("/v1/Workspaces", data={"FriendlyName": "Feed"}).json()["sid"]
            while len(latencies) < writes:
                # A stream lasts 15 s: open a new one for each batch, as the browser reconnects.
                with http.stream(
                    "GET", "/emulator/ui/events", params={"WorkspaceSid": ws, "Backlog": 0}
                ) as stream:
                    lines = stream.iter_lines()
                    for _ in range(min(10, writes - len(latencies))):
                        # Writes arrive at random moments relative to the feed's polling cycle.
                        time.sleep(random.uniform(0, POLL_SECONDS))
                        started = time.perf_counter()
                        name = f"w{len(latencies)}"
                        sid = http.post(
                            f"/v1/Workspaces/{ws}/Workers", data={"FriendlyName": name}
                        ).json()["sid"]
                        for line in lines:
                            if line.startswith("data: ") and sid in line:
                                event = json.loads(line[6:])
                                if event["event_type"] == "worker.created":
                                    break
                        latencies.append((time.perf_counter() - started) * 1000)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    return latencies


def prepare(url: str | None, directory: Path) -> tuple[str, Callable[[], None]]:
    """Return a fresh database URL and a clean-up function."""
    if url is None or make_url(url).get_backend_name() == "sqlite":
        return f"sqlite:///{directory / 'feed.db'}", lambda: None
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = parsed.database
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return parsed.render_as_string(hide_password=False), drop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--writes", type=int, default=40)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as directory:
        url, drop = prepare(args.database_url, Path(directory))
        try:
            upgrade(url)
            engine = create_engine(url)
            started = time.perf_counter()
            fill(engine, args.events)
            print(
                f"backend {engine.dialect.name}: {args.events:,} events loaded in {time.perf_counter() - started:.0f} s"
            )
            with_index = time_queries(engine, args.events)
            with engine.begin() as conn:
                conn.execute(text("DROP INDEX ix_event_workspace_id"))
                if engine.dialect.name == "postgresql":
                    conn.execute(text("ANALYZE event"))
            without_index = time_queries(engine, args.events)
            with engine.begin() as conn:
                conn.execute(
                    text("CREATE INDEX ix_event_workspace_id ON event (workspace_sid, id)")
                )
            engine.dispose()
            print(
                f"{'query (median of 20, ms)':40} {'with index':>11} {'without':>11} {'ratio':>8}"
            )
            for name, fast in with_index.items():
                slow = without_index[name]
                print(f"{name:40} {fast:11.2f} {slow:11.2f} {slow / fast:7.0f}x")
            latencies = sorted(feed_latency(url, args.writes))
            p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
            print(
                f"write -> event on the stream over {len(latencies)} writes: "
                f"median {statistics.median(latencies):.0f} ms, p95 {p95:.0f} ms, max {latencies[-1]:.0f} ms"
            )
        finally:
            drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
