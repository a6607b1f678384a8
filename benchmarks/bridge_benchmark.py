"""Event-bridge benchmark: how fast a REST change reaches the worker's socket, and what open sockets cost.

A separate server process (SQLite file or a scratch Postgres database), one FIFO workspace with N
workers. Phase 1 (baseline): M worker updates (`POST /Workers/WK… Attributes=…`) with no socket open.
Phase 2: one event-bridge socket per worker (as the twilio-taskrouter SDK opens it), then the same M
updates; each update's `worker.attributes.update` frame is awaited on the worker's socket. Phase 3:
the baseline again with the sockets closed (the no-socket figures pool phases 1 and 3).

    .venv/bin/python benchmarks/bridge_benchmark.py                      # 100 sockets, 300 updates
    .venv/bin/python benchmarks/bridge_benchmark.py --workers 500 --updates 1000
    .venv/bin/python benchmarks/bridge_benchmark.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Prints the REST latency with and without sockets (and their ratio) and the change→frame latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import TaskRouterGrant
from websockets.asyncio.client import ClientConnection, connect

from taskrouter_emulator.testing import database_on, free_port

ACCOUNT_SID = "AC00000000000000000000000000000000"  # API keys act on the configured account


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


async def _updates(http: httpx.AsyncClient, base: str, workers: list[str], count: int, tag: str,
                   arrivals: dict[str, asyncio.Future[float]] | None) -> tuple[list[float], list[float]]:
    rest, delivery = [], []
    loop = asyncio.get_running_loop()
    for i in range(count):
        worker = workers[i % len(workers)]
        marker = f"{tag}-{i}"
        if arrivals is not None:
            arrivals[marker] = loop.create_future()
        begin = time.perf_counter()
        response = await http.post(f"{base}/Workers/{worker}", data={"Attributes": json.dumps({"m": marker})})
        rest.append(time.perf_counter() - begin)
        assert response.status_code == 200, response.text
        if arrivals is not None:
            delivery.append(await asyncio.wait_for(arrivals[marker], timeout=30) - begin)
    return rest, delivery


async def _listen(socket_: ClientConnection, arrivals: dict[str, asyncio.Future[float]]) -> None:
    async for data in socket_:
        if not str(data).strip():
            continue
        message = json.loads(data)
        if message["event_type"] == "worker.attributes.update":
            marker = json.loads(message["payload"]["attributes"]).get("m")
            future = arrivals.get(marker)
            if future is not None and not future.done():
                future.set_result(time.perf_counter())


async def _measure(port: int, workers: int, updates: int) -> None:
    key_sid, secret = f"SK{uuid.uuid4().hex}", uuid.uuid4().hex
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", auth=(key_sid, secret), timeout=120) as http:
        workspace = (await http.post("/v1/Workspaces", data={"FriendlyName": "Bench", "Template": "FIFO"})).json()
        base = f"/v1/Workspaces/{workspace['sid']}"
        activities = (await http.get(f"{base}/Activities")).json()["activities"]
        available = next(a["sid"] for a in activities if a["friendly_name"] == "Available")
        worker_sids = []
        for i in range(workers):
            created = await http.post(f"{base}/Workers", data={"FriendlyName": f"w{i}", "ActivitySid": available})
            worker_sids.append(created.json()["sid"])

        await _updates(http, base, worker_sids, min(50, updates), "warmup", None)
        baseline, _ = await _updates(http, base, worker_sids, updates, "base", None)

        arrivals: dict[str, asyncio.Future[float]] = {}
        sockets, listeners = [], []
        for sid in worker_sids:
            token = AccessToken(ACCOUNT_SID, key_sid, secret, identity=sid, ttl=3600)
            token.add_grant(TaskRouterGrant(workspace_sid=workspace["sid"], worker_sid=sid, role="worker"))
            url = (f"ws://127.0.0.1:{port}/v1/wschannels?token={token.to_jwt()}&closeExistingSessions=false"
                   "&clientVersion=2.1.1&setWorkerOfflineIfDisconnected=false")
            ws = await connect(url, proxy=None, max_queue=None)
            assert json.loads(await ws.recv())["event_type"] == "init"
            sockets.append(ws)
            listeners.append(asyncio.create_task(_listen(ws, arrivals)))
        with_sockets, delivery = await _updates(http, base, worker_sids, updates, "live", arrivals)
        for ws in sockets:
            await ws.close()
        for task in listeners:
            task.cancel()
        # The machine's load drifts: measure the baseline again after the sockets closed.
        after, _ = await _updates(http, base, worker_sids, updates, "after", None)
        baseline += after

    print(f"sockets={workers} updates={updates}")
    print(f"REST update, no sockets:   median {statistics.median(baseline) * 1000:.1f} ms, p95 {_ms(baseline, 0.95):.1f} ms")
    print(f"REST update, with sockets: median {statistics.median(with_sockets) * 1000:.1f} ms, p95 {_ms(with_sockets, 0.95):.1f} ms"
          f" (ratio of medians {statistics.median(with_sockets) / statistics.median(baseline):.2f})")
    print(f"change -> frame on the worker's socket: median {statistics.median(delivery) * 1000:.1f} ms, "
          f"p95 {_ms(delivery, 0.95):.1f} ms, max {max(delivery) * 1000:.1f} ms")


def run(workers: int, updates: int, database_url: str | None) -> None:
    """Start a server process on a fresh database, measure, print."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        database_on(database_url, Path(tmp), prefix="tre_bench") as url,
    ):
        port = free_port()
        env = {**os.environ, "TASKROUTER_WEBHOOK_WORKERS": "0"}
        server = subprocess.Popen(
            [sys.executable, "-m", "taskrouter_emulator", "serve", "--port", str(port), "--database-url", url,
             "--log-level", "warning"],
            env=env,
        )
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/emulator/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            print(f"backend={make_url(url).get_backend_name()}")
            asyncio.run(_measure(port, workers, updates))
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=100, help="workers, one socket each")
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL (a scratch database is created)")
    args = parser.parse_args()
    run(args.workers, args.updates, args.database_url)


if __name__ == "__main__":
    main()
