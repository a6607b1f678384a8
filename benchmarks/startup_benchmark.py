"""Startup and idle benchmark: time to the first answered request, idle CPU and idle memory.

Launches `taskrouter-emulator serve` (default settings: real clock, scheduler and webhook senders on)
and times the launch until `GET /v1/Workspaces` first answers 200: once on a fresh database
(migrations run), then `--restarts` times on the same, already-migrated database. After the last
start the server is left idle for `--idle-seconds`; its CPU time (all threads, from /proc) and its
resident memory are read then. Linux only (/proc).

    .venv/bin/python -m benchmarks.startup_benchmark
    .venv/bin/python -m benchmarks.startup_benchmark --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Targets (issue 9): first request within 1.5 s on an already-migrated database, idle CPU below 1 % of
a core, idle RSS below 100 MB.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from pathlib import Path

from benchmarks.harness import (
    ServerProcess,
    argument_parser,
    backend_name,
    emulator,
    machine_load,
    scratch_database,
)

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU time the process has used, all threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the ")" closing the command name, utime and stime are the 12th and 13th fields.
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND


def rss_megabytes(pid: int) -> float:
    """Return the resident set size of the process in MB (10^6 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6  # /proc reports kB meaning KiB
    raise RuntimeError(f"no VmRSS for process {pid}")


def measure_idle(pid: int, seconds: float) -> tuple[float, float]:
    """Return (percent of one core used, wall seconds) by the process over `seconds` of idling."""
    cpu_before, wall_before = cpu_seconds(pid), time.perf_counter()
    time.sleep(seconds)
    wall = time.perf_counter() - wall_before
    return 100 * (cpu_seconds(pid) - cpu_before) / wall, wall


def timed_start(server: ServerProcess, auth: tuple[str, str]) -> tuple[float, float]:
    """Return (wall seconds, server CPU seconds) from launch to the first answered API request.

    The CPU time shows the work of starting; on a busy machine the wall time also holds waiting.
    """
    wall = server.wait_until_answering("/v1/Workspaces", auth=auth)
    assert server.process is not None
    return wall, cpu_seconds(server.process.pid)


def _spread(starts: list[tuple[float, float]]) -> str:
    walls = [wall for wall, _ in starts]
    cpus = [cpu for _, cpu in starts]
    if len(starts) == 1:
        return f"{walls[0]:.2f} s (server CPU {cpus[0]:.2f} s)"
    return (
        f"median {statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f}), "
        f"server CPU median {statistics.median(cpus):.2f} s"
    )


def run(database_url: str | None, restarts: int, idle_seconds: float) -> None:
    """Start the server repeatedly, then watch the last start idle; print the figures."""
    auth = (f"AC{uuid.uuid4().hex}", "bench")
    with scratch_database(database_url) as url:
        print(f"backend={backend_name(url)} restarts={restarts} idle={idle_seconds:.0f}s")
        print(machine_load())
        with emulator(url) as server:
            fresh = timed_start(server, auth)
        warm: list[tuple[float, float]] = []
        for _ in range(restarts - 1):
            with emulator(url) as server:
                warm.append(timed_start(server, auth))
        with emulator(url) as server:
            warm.append(timed_start(server, auth))
            assert server.process is not None
            pid = server.process.pid
            rss_after_start = rss_megabytes(pid)
            time.sleep(1.0)  # let start-up work (first scheduler tick, thread pools) settle
            idle_cpu, wall = measure_idle(pid, idle_seconds)
            idle_rss = rss_megabytes(pid)
        print(f"first answered request, fresh database (migrations run): {_spread([fresh])}")
        print(
            f"first answered request, already-migrated database, {len(warm)} starts: "
            f"{_spread(warm)} (target <= 1.5 s)"
        )
        print(f"idle CPU over {wall:.0f} s: {idle_cpu:.2f} % of one core (target < 1 %)")
        print(
            f"RSS: {rss_after_start:.0f} MB after start, {idle_rss:.0f} MB idle (target < 100 MB)"
        )
        print(machine_load())


def main() -> None:
    """Parse the command line and run."""
    parser = argument_parser(__doc__)
    parser.add_argument("--restarts", type=int, default=3, help="starts on the migrated database")
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    args = parser.parse_args()
    if args.restarts < 1:
        parser.error("--restarts must be at least 1")
    run(args.database_url, args.restarts, args.idle_seconds)


if __name__ == "__main__":
    main()
