"""Load benchmark: many concurrent connections of mixed reads and writes against one server.

Starts `taskrouter-emulator serve` (default settings, real clock) on a fresh database, builds one
workspace (FIFO template, 20 Available workers with capacity 2), then runs `--connections` loops of
random operations for `--duration` seconds over loopback (see `benchmarks/load_workload.py` for the
mix). Prints the totals, per-status and per-operation counts, p50/p99 latency, the 5xx/hung/dropped
counts, then checks the final state through the API (no task assigned twice, no worker over
capacity, task and reservation statuses that agree).

    .venv/bin/python -m benchmarks.load_benchmark                          # 256 connections, 60 s, SQLite
    .venv/bin/python -m benchmarks.load_benchmark --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python -m benchmarks.load_benchmark --connections 64 --duration 10

Exits with status 1 if any request answered 5xx, hung (no answer within `--request-timeout`) or was
dropped, or if the state is inconsistent.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from benchmarks.harness import (
    argument_parser,
    backend_name,
    emulator,
    machine_load,
    scratch_database,
)
from benchmarks.load_workload import run_and_check

_LOG_RECORD = re.compile(r"^(\d{4}-\d\d-\d\d |[A-Z]+: )")  # a new record, not traceback text


def _server_log_errors(log: Path) -> list[str]:
    """Return each ERROR record of the server log with the exception that ended its traceback."""
    errors: list[str] = []
    in_error = False
    for line in log.read_text(errors="replace").splitlines():
        if _LOG_RECORD.match(line):
            in_error = " ERROR " in line or line.startswith("ERROR:")
            if in_error:
                errors.append(line)
        elif in_error and line and not line[0].isspace() and not line.startswith("Traceback"):
            errors[-1] = f"{errors[-1].split(' -> ')[0]} -> {line}"
    return errors


def run(database_url: str | None, connections: int, duration: float, timeout: float) -> bool:
    """Start the server, load it, check it; print the figures and return True if all held."""
    auth = (f"AC{uuid.uuid4().hex}", "bench")
    with (
        scratch_database(database_url) as url,
        tempfile.TemporaryDirectory(prefix="tre-load-") as directory,
    ):
        log = Path(directory) / "server.log"
        with emulator(url, log_path=log) as server:
            server.wait_until_answering()
            print(f"backend={backend_name(url)} server={server.url}")
            print(machine_load())
            cpu_before = time.process_time()
            result, problems = asyncio.run(
                run_and_check(
                    server.url, auth, connections=connections, duration=duration, timeout=timeout
                )
            )
            client_cpu = time.process_time() - cpu_before
        errors_logged = _server_log_errors(log)
    for line in result.report():
        print(line)
    print(
        f"load generator CPU (setup, load and check): {client_cpu:.1f} s "
        f"(load lasted {result.seconds:.0f} s)"
    )
    print(machine_load())
    print(f"ERROR lines in the server log: {len(errors_logged)}")
    exceptions = Counter(line.split(" -> ", 1)[1][:200] for line in errors_logged if " -> " in line)
    for exception, count in exceptions.most_common(5):
        print(f"  {count} x {exception}")
    for line in errors_logged[:3]:
        print(f"  {line[:300]}")
    print(f"consistency: {'OK' if not problems else f'{len(problems)} problems'}")
    for problem in problems[:20]:
        print(f"  {problem}")
    held = not (result.server_errors() or result.unanswered() or problems)
    print("zero 5xx, zero hung or dropped, consistent: " + ("yes" if held else "NO"))
    return held


def main() -> None:
    """Parse the command line and run."""
    parser = argument_parser(__doc__)
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=60.0,
        help="seconds before a request counts as hung",
    )
    args = parser.parse_args()
    held = run(args.database_url, args.connections, args.duration, args.request_timeout)
    sys.exit(0 if held else 1)


if __name__ == "__main__":
    main()
