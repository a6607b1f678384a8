"""Time `POST /emulator/reset` as a test suite would call it: before every test (a measurement).

Runs the emulator in-process on a free port (uvicorn in a thread, like the test fixtures) and drives it
over real HTTP with httpx. Each round loads examples/contact-centre.yaml into the measured account,
creates tasks (some get reserved, so timers and events exist), then resets the account or the
workspace. Other accounts hold the same data meanwhile, so the figure includes a shared database.
As a baseline measured in the same run it times `GET /v1/Workspaces` (an authenticated request
that reads one indexed row set) and prints the ratio.

    .venv/bin/python benchmarks/reset_benchmark.py                      # SQLite in a temp dir
    .venv/bin/python benchmarks/reset_benchmark.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/reset_bench
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn
import yaml
from statistics_benchmark import fresh_database

from taskrouter_emulator.app import create_app
from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.config import Settings
from taskrouter_emulator.emulator_tools.faults.middleware import FaultInjection
from taskrouter_emulator.emulator_tools.limits.middleware import RateLimits

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "contact-centre.yaml"


def _without_sids(node: object) -> object:
    """Drop fixed SIDs so every account can load the example."""
    if isinstance(node, dict):
        return {k: _without_sids(v) for k, v in node.items() if k != "sid"}
    if isinstance(node, list):
        return [_without_sids(v) for v in node]
    return node


def _serve(
    database_url: str, *, tool_middleware: bool = True
) -> tuple[str, uvicorn.Server, threading.Thread]:
    settings = Settings(database_url=database_url, scheduler_interval=0, webhook_workers=0)
    app = create_app(settings, clock=EmulatorClock(frozen=True))
    if not tool_middleware:
        # For the overhead figure: the same app without fault injection and rate limits.
        app.user_middleware = [
            m for m in app.user_middleware if m.cls not in (FaultInjection, RateLimits)
        ]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}", server, thread


_FRESH = {"Cache-Control": "no-cache"}


def _seed(http: httpx.Client, seed_text: str) -> tuple[str, str]:
    """Load the seed file; return the workspace and workflow SIDs."""
    seeded = http.post("/emulator/seed", content=seed_text.encode())
    assert seeded.status_code == 200, seeded.text
    workspace = seeded.json()["workspaces"][0]
    return str(workspace["sid"]), str(workspace["workflows"]["Inbound"])


def _tasks(http: httpx.Client, workspace_sid: str, workflow_sid: str, count: int) -> None:
    """Create tasks of several kinds (the available workers get reservations)."""
    kinds = ("sales", "support", "other")
    for n in range(count):
        created = http.post(
            f"/v1/Workspaces/{workspace_sid}/Tasks",
            data={"WorkflowSid": workflow_sid, "Attributes": json.dumps({"type": kinds[n % 3]})},
        )
        assert created.status_code == 201, created.text


def _timed(call: Callable[[], httpx.Response]) -> float:
    started = time.perf_counter()
    response = call()
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.text
    return elapsed


def _summary(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"{label:<44} median {statistics.median(ordered):7.2f} ms   p95 {p95:7.2f} ms   "
        f"max {ordered[-1]:7.2f} ms   (n={len(ordered)})"
    )


def run(database_url: str | None, rounds: int, tasks: int, others: int) -> None:
    """Populate, reset, repeat; print the figures."""
    url, cleanup = fresh_database(database_url)
    base, server, thread = _serve(url)
    seed_text = yaml.safe_dump(_without_sids(yaml.safe_load(EXAMPLE.read_text())))
    try:
        for n in range(others):
            with httpx.Client(base_url=base, auth=(f"AC{n:032x}", "other"), timeout=60) as other:
                _tasks(other, *_seed(other, seed_text), tasks)
        account = ("AC" + "a" * 32, "bench")
        account_resets: list[float] = []
        workspace_resets: list[float] = []
        seeds: list[float] = []
        baseline: list[float] = []
        # `no-cache`: the baseline GET reads the database, as it would right after a write.
        with httpx.Client(base_url=base, auth=account, timeout=60, headers=_FRESH) as http:
            for n in range(rounds):
                started = time.perf_counter()
                ws, workflow = _seed(http, seed_text)
                seeds.append((time.perf_counter() - started) * 1000)
                _tasks(http, ws, workflow, tasks)
                baseline.append(_timed(lambda: http.get("/v1/Workspaces")))
                if n % 2:
                    form = {"WorkspaceSid": ws}
                    workspace_resets.append(
                        _timed(lambda form=form: http.post("/emulator/reset", data=form))
                    )
                else:
                    account_resets.append(_timed(lambda: http.post("/emulator/reset")))
            reset_only = [_timed(lambda: http.post("/emulator/reset")) for _ in range(rounds)]
            _seed(http, seed_text)
            # Interleave the two servers' requests so load changes on the machine hit both alike.
            plain_base, plain_server, plain_thread = _serve(url, tool_middleware=False)
            with_tools: list[float] = []
            without_tools: list[float] = []
            try:
                with httpx.Client(
                    base_url=plain_base, auth=account, timeout=60, headers=_FRESH
                ) as plain:
                    for _ in range(rounds * 5):
                        with_tools.append(_timed(lambda: http.get("/v1/Workspaces")))
                        without_tools.append(_timed(lambda: plain.get("/v1/Workspaces")))
            finally:
                plain_server.should_exit = True
                plain_thread.join(timeout=10)
        backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        print(f"backend {backend}; {others} other accounts each with the example and {tasks} tasks;")
        print(f"measured account: the example (1 workspace, 4 queues, 3 workers) + {tasks} tasks per round")
        print(_summary("POST /emulator/reset (account)", account_resets))
        print(_summary("POST /emulator/reset WorkspaceSid=...", workspace_resets))
        print(_summary("POST /emulator/reset (account already empty)", reset_only))
        print(_summary("POST /emulator/seed contact-centre.yaml", seeds))
        print(_summary("baseline GET /v1/Workspaces", baseline))
        ratio = statistics.median(account_resets) / statistics.median(baseline)
        print(f"account reset / baseline request (medians): {ratio:.1f}x")
        print(_summary("GET /v1/Workspaces, fault + rate middleware", with_tools))
        print(_summary("GET /v1/Workspaces, same app without them", without_tools))
        overhead = statistics.median(with_tools) / statistics.median(without_tools)
        print(f"fault-check overhead on a small request (medians): {overhead:.2f}x")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        cleanup()


def main() -> None:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (database recreated)")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--tasks", type=int, default=20, help="tasks created per round")
    parser.add_argument("--others", type=int, default=20, help="other accounts holding data")
    args = parser.parse_args()
    run(args.database_url, args.rounds, args.tasks, args.others)


if __name__ == "__main__":
    main()
