"""How fast the webhook outbox drains to a fast loopback receiver.

Fills a fresh database's outbox with N event callbacks spread over W workspaces (as a burst of
activity, or a backlog left by a receiver that was down, would), starts `taskrouter-emulator serve`
on it and times until a receiver (a minimal ASGI app under uvicorn, in its own process) has
answered all of them. Prints callbacks per second; the aim is at least 500/s.

    .venv/bin/python benchmarks/webhook_benchmark.py [--deliveries 20000] [--workspaces 50]
    .venv/bin/python benchmarks/webhook_benchmark.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/webhook_bench
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert
from sqlalchemy.engine import make_url

from taskrouter_emulator.db.migrate import upgrade
from taskrouter_emulator.models import WebhookDelivery
from taskrouter_emulator.testing import free_port, postgres_database

RECEIVER = """
import asyncio
count = 0
async def app(scope, receive, send):
    global count
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    if scope["method"] == "POST":
        count += 1
        body = b""
    else:
        body = str(count).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})
"""


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def fill_outbox(database_url: str, deliveries: int, workspaces: int, receiver_url: str) -> None:
    upgrade(database_url)
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    rows = [
        {
            "account_sid": "AC" + "b" * 32,
            "workspace_sid": f"WS{n % workspaces:032x}",
            "kind": "event",
            "event_sid": f"EV{n:032x}",
            "event_type": "task.created",
            "url": receiver_url,
            "parameters": json.dumps({"EventType": "task.created", "Sid": f"EV{n:032x}"}),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "date_created": now,
            "date_updated": now,
        }
        for n in range(deliveries)
    ]
    with engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(insert(WebhookDelivery), rows[start : start + 5000])
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description="Webhook outbox drain rate")
    parser.add_argument("--deliveries", type=int, default=20000)
    parser.add_argument("--workspaces", type=int, default=50)
    parser.add_argument("--verbose", action="store_true", help="print progress while draining")
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL server: a scratch database is made there"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        database_url = (
            stack.enter_context(postgres_database(args.database_url, prefix="tre_bench"))
            if args.database_url
            else f"sqlite:///{Path(tmp) / 'bench.db'}"
        )
        receiver_port, server_port = free_port(), free_port()
        receiver_file = Path(tmp) / "receiver.py"
        receiver_file.write_text(RECEIVER)
        receiver = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "receiver:app",
                "--port",
                str(receiver_port),
                "--log-level",
                "warning",
            ],
            cwd=tmp,
        )
        server = None
        try:
            receiver_url = f"http://127.0.0.1:{receiver_port}/hook"
            wait_for(receiver_url)
            fill_outbox(database_url, args.deliveries, args.workspaces, receiver_url)
            started = time.monotonic()
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "taskrouter_emulator",
                    "serve",
                    "--port",
                    str(server_port),
                    "--database-url",
                    database_url,
                    "--log-level",
                    "warning",
                ],
                env={**os.environ, "TASKROUTER_SCHEDULER_INTERVAL": "0"},
            )
            first = None
            while True:
                count = int(httpx.get(receiver_url).text)
                if count and first is None:
                    first = time.monotonic()
                if count >= args.deliveries:
                    break
                if args.verbose:
                    print(f"{time.monotonic() - started:6.1f} s: {count} delivered", flush=True)
                if time.monotonic() - started > 600:
                    raise RuntimeError(f"only {count} of {args.deliveries} delivered in 600 s")
                time.sleep(0.5 if args.verbose else 0.05)
            done = time.monotonic()
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
            receiver.terminate()
            receiver.wait(timeout=30)
    assert first is not None
    backend = make_url(database_url).get_backend_name()
    print(
        f"backend: {backend}, {args.deliveries} event callbacks over {args.workspaces} workspaces"
    )
    print(f"first delivery after {first - started:.2f} s (includes server start-up)")
    print(f"drain: {args.deliveries / (done - first):.0f} callbacks/s ({done - first:.1f} s)")


if __name__ == "__main__":
    main()
