"""API benchmark: the emulator against a bare FastAPI endpoint returning the same JSON, in one run.

Starts `taskrouter-emulator serve` on a fresh database (temporary SQLite file, or a scratch database
on the PostgreSQL server given by `--database-url`), builds one workspace (FIFO template, 60
workers, 30 of them Available with capacity 1, 100 tasks), and records the emulator's answers to
the four measured requests. Then starts `benchmarks/bare_app.py`, a FastAPI app serving exactly
those answers on the same paths with the same `uvicorn.run` settings, and loads both servers with
`wrk`, one endpoint after the other, the bare app first:

- fetch workspace: `GET /v1/Workspaces/{WS}`
- list workers: `GET /v1/Workspaces/{WS}/Workers?PageSize=50` (a full page of 50)
- both again with `Cache-Control: no-cache`, so the emulator answers from the database instead of
  reusing the answer it kept while nothing changed (`api/read_cache.py`)
- create task: `POST /v1/Workspaces/{WS}/Tasks` (FIFO workflow; routed like any task)
- workspace real-time statistics: `GET /v1/Workspaces/{WS}/RealTimeStatistics`

Prints requests/s, p50/p99 latency, non-2xx answers and socket errors (timeouts) for each, and the
ratio of the emulator's requests/s to the bare endpoint's. Aims (issue 9): fetch >= 0.7x, lists >= 0.5x.

    .venv/bin/python -m benchmarks.api_benchmark
    .venv/bin/python -m benchmarks.api_benchmark --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python -m benchmarks.api_benchmark --connections 32 --duration 10

Needs `wrk` (a C load generator; Python clients cannot load a server harder than they load the
CPU they share with it): `apt-get install wrk` on Debian/Ubuntu, `brew install wrk` on macOS.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks.harness import (
    ServerProcess,
    argument_parser,
    backend_name,
    emulator,
    machine_load,
    scratch_database,
)

WORKERS = 60
AVAILABLE_WORKERS = 30
TASKS = 100

# wrk's Lua hook: one line of JSON with the figures, after wrk's own report.
_REPORT_LUA = """
done = function(summary, latency, requests)
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
    .. '"non_2xx": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout))
end
"""


@dataclass(frozen=True)
class Endpoint:
    """One measured request."""

    name: str
    method: str
    path: str  # below the workspace
    query: str = ""
    form: str = ""  # form-encoded body of a POST
    no_cache: bool = False  # send `Cache-Control: no-cache`: the emulator answers from the database


@dataclass(frozen=True)
class Figures:
    """What one wrk run measured."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    timeouts: int


def wrk_path() -> str:
    """Return the wrk executable, or exit saying how to install it."""
    found = shutil.which("wrk")
    if not found:
        sys.exit(
            "api_benchmark needs wrk on PATH: `apt-get update && apt-get install -y wrk` "
            "(Debian/Ubuntu) or `brew install wrk` (macOS)."
        )
    return found


def run_wrk(
    url: str, endpoint: Endpoint, *, auth_header: str, connections: int, seconds: float,
    timeout: float, directory: Path,
) -> Figures:  # fmt: skip
    """Load `url` with wrk and return its figures."""
    script = directory / "wrk.lua"
    lines = [f'wrk.method = "{endpoint.method}"']
    if endpoint.form:
        lines += [
            f"wrk.body = {json.dumps(endpoint.form)}",
            'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"',
        ]
    if endpoint.no_cache:
        lines.append('wrk.headers["Cache-Control"] = "no-cache"')
    script.write_text("\n".join(lines) + "\n" + _REPORT_LUA)
    command = [
        wrk_path(), "-t1", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout}s",
        "-H", f"Authorization: {auth_header}", "-s", str(script), url,
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next((x for x in output.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no figures:\n{output}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    return Figures(
        requests_per_second=raw["requests"] / (raw["duration_us"] / 1e6),
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        non_2xx=raw["non_2xx"],
        socket_errors=raw["connect_errors"] + raw["read_errors"] + raw["write_errors"],
        timeouts=raw["timeouts"],
    )


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise RuntimeError(
            f"{response.request.url} answered {response.status_code}: {response.text}"
        )
    return response.json()


def build_workspace(http: httpx.Client) -> tuple[str, str]:
    """Create the measured workspace; return its SID and its workflow's SID."""
    workspace = _ok(http.post("/v1/Workspaces", data={"FriendlyName": "API", "Template": "FIFO"}))
    base = f"/v1/Workspaces/{workspace['sid']}"
    activities = {
        a["friendly_name"]: a["sid"] for a in _ok(http.get(f"{base}/Activities"))["activities"]
    }
    workflow_sid = _ok(http.get(f"{base}/Workflows"))["workflows"][0]["sid"]
    for number in range(WORKERS):
        activity = "Available" if number < AVAILABLE_WORKERS else "Offline"
        _ok(
            http.post(
                f"{base}/Workers",
                data={
                    "FriendlyName": f"agent-{number:03}",
                    "ActivitySid": activities[activity],
                    "Attributes": json.dumps({"skills": ["support", "sales"], "level": number % 5}),
                },
            )
        )
    for number in range(TASKS):
        _ok(
            http.post(
                f"{base}/Tasks",
                data={"WorkflowSid": workflow_sid, "Attributes": json.dumps({"n": number})},
            )
        )
    return workspace["sid"], workflow_sid


def endpoints(workflow_sid: str) -> list[Endpoint]:
    """Return the measured requests."""
    task_form = httpx.QueryParams(
        {"WorkflowSid": workflow_sid, "Attributes": json.dumps({"type": "support"})}
    )
    return [
        Endpoint("fetch workspace", "GET", ""),
        Endpoint("fetch workspace, no-cache", "GET", "", no_cache=True),
        Endpoint("list workers (page of 50)", "GET", "/Workers", "?PageSize=50"),
        Endpoint("list workers, no-cache", "GET", "/Workers", "?PageSize=50", no_cache=True),
        Endpoint("create task", "POST", "/Tasks", form=str(task_form)),
        Endpoint("workspace RealTimeStatistics", "GET", "/RealTimeStatistics"),
    ]


def canned_responses(
    http: httpx.Client, workspace_sid: str, measured: list[Endpoint]
) -> list[dict[str, Any]]:
    """Ask the emulator each measured request once; return its answers for the bare app."""
    canned = []
    for endpoint in measured:
        path = f"/v1/Workspaces/{workspace_sid}{endpoint.path}"
        response = http.request(
            endpoint.method,
            path + endpoint.query,
            content=endpoint.form or None,
            headers={"Content-Type": "application/x-www-form-urlencoded"} if endpoint.form else {},
        )
        canned.append(
            {
                "method": endpoint.method,
                "path": path,
                "status": response.status_code,
                "body": _ok(response),
            }
        )
    return canned


def _row(name: str, server: str, figures: Figures, ratio: str) -> str:
    return (
        f"| {name} | {server} | {figures.requests_per_second:,.0f} | {figures.p50_ms:.1f} | "
        f"{figures.p99_ms:.1f} | {figures.max_ms:.0f} | {figures.non_2xx} | "
        f"{figures.socket_errors}/{figures.timeouts} | {ratio} |"
    )


def run(database_url: str | None, connections: int, seconds: float, timeout: float) -> None:
    """Start both servers, load each endpoint on both, print the table."""
    wrk_path()
    account = f"AC{uuid.uuid4().hex}"
    auth_header = "Basic " + base64.b64encode(f"{account}:bench".encode()).decode()
    with (
        scratch_database(database_url) as url,
        tempfile.TemporaryDirectory(prefix="tre-api-") as tmp,
        emulator(url) as server,
    ):
        directory = Path(tmp)
        server.wait_until_answering()
        with httpx.Client(base_url=server.url, auth=(account, "bench"), timeout=60) as http:
            workspace_sid, workflow_sid = build_workspace(http)
            measured = endpoints(workflow_sid)
            responses = directory / "responses.json"
            responses.write_text(json.dumps(canned_responses(http, workspace_sid, measured)))
        bare_command = [sys.executable, "-m", "benchmarks.bare_app", "--responses", str(responses)]
        importable = {"PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        with ServerProcess(
            lambda port: [*bare_command, "--port", str(port)], env=importable
        ) as bare:
            bare.wait_until_answering("/docs")
            print(
                f"backend={backend_name(url)} wrk -t1 -c{connections} -d{seconds}s "
                f"(timeout {timeout}s) per endpoint and server; {WORKERS} workers, {TASKS} tasks"
            )
            print(machine_load())
            print(
                "| Endpoint | Server | req/s | p50 ms | p99 ms | max ms | non-2xx "
                "| socket errors/timeouts | emulator/bare |"
            )
            print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
            for endpoint in measured:
                path = f"/v1/Workspaces/{workspace_sid}{endpoint.path}{endpoint.query}"
                results = {}
                for name, target, probe in (
                    ("bare FastAPI", bare, "/docs"),
                    ("emulator", server, "/emulator/health"),
                ):
                    # A stalled server is given time to answer again before it is loaded.
                    started = time.perf_counter()
                    target.wait_until_answering(probe, timeout=120)
                    if (waited := time.perf_counter() - started) > 1:
                        print(f"({name} answered again after {waited:.1f} s)")
                    results[name] = run_wrk(
                        target.url + path, endpoint, auth_header=auth_header,
                        connections=connections, seconds=seconds, timeout=timeout,
                        directory=directory,
                    )  # fmt: skip
                ratio = results["emulator"].requests_per_second / max(
                    results["bare FastAPI"].requests_per_second, 1e-9
                )
                print(_row(endpoint.name, "bare FastAPI", results["bare FastAPI"], ""))
                print(_row(endpoint.name, "emulator", results["emulator"], f"{ratio:.2f}x"))
    print("aims: fetch workspace >= 0.7x the bare endpoint, lists >= 0.5x")
    print(machine_load())


def main() -> None:
    """Parse the command line and run."""
    parser = argument_parser(__doc__)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint and server")
    parser.add_argument(
        "--request-timeout",
        type=int,
        default=10,
        help="wrk counts a request as timed out after this",
    )
    args = parser.parse_args()
    run(args.database_url, args.connections, args.duration, args.request_timeout)


if __name__ == "__main__":
    main()
