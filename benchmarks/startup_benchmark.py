"""Startup and idle benchmark: time to the first answered request, idle CPU and idle memory.

Launches `taskrouter-emulator serve` (default settings: real clock, scheduler and webhook senders on)
and times the launch until `GET /v1/Workspaces` first answers 200: once on a fresh database
(migrations run), then `--restarts` times on the same, already-migrated database. Right after each
first answer it times one request to a router the app imports on first use
(`GET /v1/Workspaces/WS…/Tasks`, a 404 for an unknown workspace). After the last start the server is
left idle for `--idle-seconds`; its CPU time (all threads, from /proc) and its resident memory are
read then. Linux only (/proc).

`--compare SRC` measures another version of the code in the same run: its `src` directory goes first
on the server's `PYTHONPATH`, each on its own scratch database, and the starts alternate between the
two (this checkout first), so both see the same machine load.

    .venv/bin/python -m benchmarks.startup_benchmark
    .venv/bin/python -m benchmarks.startup_benchmark --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    git worktree add /tmp/old <commit> && .venv/bin/python -m benchmarks.startup_benchmark --compare /tmp/old/src

Targets (issue 9): first request within 1.5 s on an already-migrated database, idle CPU below 1 % of
a core, idle RSS below 100 MB.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx

import taskrouter_emulator
from benchmarks.harness import (
    ServerProcess,
    argument_parser,
    backend_name,
    emulator,
    machine_load,
    scratch_database,
)

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
FIRST_USE_PATH = f"/v1/Workspaces/WS{'0' * 32}/Tasks"


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


def bytecode_state(package_dir: Path) -> str:
    """Say whether the server will read the package's compiled bytecode or compile its sources."""
    source = package_dir / "app.py"
    if Path(importlib.util.cache_from_source(str(source))).exists():
        return "byte-compiled"
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return "no bytecode: every start compiles the sources (PYTHONDONTWRITEBYTECODE is set)"
    return "no bytecode yet (the first start writes it)"


@dataclass
class Start:
    """One timed launch: seconds to the first answer, server CPU then, and the first-use request."""

    wall: float
    cpu: float
    first_use: float


@dataclass
class Variant:
    """A version of the code under test and what its starts measured."""

    name: str
    env: dict[str, str]
    package_dir: Path
    url: str = ""
    fresh: Start | None = None
    warm: list[Start] = field(default_factory=list)
    idle: str = ""

    def server(self) -> ServerProcess:
        """Return a (not yet launched) server of this version on its database."""
        return emulator(self.url, env=self.env)


def timed_start(server: ServerProcess, auth: tuple[str, str]) -> Start:
    """Launch `server` and time it to the first answered API request, then a first-use request.

    The CPU time shows the work of starting; on a busy machine the wall time also holds waiting.
    """
    server.launch()
    wall = server.wait_until_answering("/v1/Workspaces", auth=auth)
    assert server.process is not None
    cpu = cpu_seconds(server.process.pid)
    with httpx.Client(base_url=server.url, auth=auth, timeout=30) as http:
        before = time.perf_counter()
        status = http.get(FIRST_USE_PATH).status_code
        first_use = time.perf_counter() - before
    assert status == 404, status
    return Start(wall, cpu, first_use)


def _start(variant: Variant, auth: tuple[str, str], *, idle_seconds: float | None = None) -> Start:
    """Time one start of `variant`; with `idle_seconds`, then watch it idle (`variant.idle`)."""
    server = variant.server()
    try:
        start = timed_start(server, auth)
        if idle_seconds is not None:
            assert server.process is not None
            pid = server.process.pid
            rss_after_start = rss_megabytes(pid)
            time.sleep(1.0)  # let start-up work (first scheduler tick, thread pools) settle
            idle_cpu, wall = measure_idle(pid, idle_seconds)
            variant.idle = (
                f"idle CPU over {wall:.0f} s: {idle_cpu:.2f} % of one core (target < 1 %); "
                f"RSS {rss_after_start:.0f} MB after start, {rss_megabytes(pid):.0f} MB idle "
                "(target < 100 MB)"
            )
        return start
    finally:
        server.stop()


def _spread(starts: list[Start]) -> str:
    walls = [start.wall for start in starts]
    cpus = [start.cpu for start in starts]
    first_use = statistics.median(start.first_use for start in starts) * 1000
    if len(starts) == 1:
        return f"{walls[0]:.2f} s (server CPU {cpus[0]:.2f} s), then …/Tasks {first_use:.0f} ms"
    return (
        f"median {statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f}), "
        f"server CPU median {statistics.median(cpus):.2f} s, then …/Tasks median {first_use:.0f} ms"
    )


def run(database_url: str | None, restarts: int, idle_seconds: float, compare: Path | None) -> None:
    """Start the server repeatedly (alternating versions), then watch each idle; print the figures."""
    auth = (f"AC{uuid.uuid4().hex}", "bench")
    variants = [Variant("this checkout", {}, Path(taskrouter_emulator.__file__).parent)]
    if compare is not None:
        env = {"PYTHONPATH": os.pathsep.join([str(compare), os.environ.get("PYTHONPATH", "")])}
        variants.append(Variant(f"--compare {compare}", env, compare / "taskrouter_emulator"))
    with ExitStack() as stack:
        for variant in variants:
            variant.url = stack.enter_context(scratch_database(database_url))
        print(
            f"backend={backend_name(variants[0].url)} restarts={restarts} idle={idle_seconds:.0f}s"
        )
        print(machine_load())
        for variant in variants:
            variant.fresh = _start(variant, auth)
        for round_ in range(restarts):
            for variant in variants:
                idle = idle_seconds if round_ == restarts - 1 else None
                variant.warm.append(_start(variant, auth, idle_seconds=idle))
        for variant in variants:
            assert variant.fresh is not None
            print(f"{variant.name} ({bytecode_state(variant.package_dir)}):")
            print(f"  first answered request, fresh database: {_spread([variant.fresh])}")
            print(
                f"  first answered request, already-migrated database, {len(variant.warm)} starts: "
                f"{_spread(variant.warm)} (target <= 1.5 s)"
            )
            print(f"  {variant.idle}")
        print(machine_load())


def main() -> None:
    """Parse the command line and run."""
    parser = argument_parser(__doc__)
    parser.add_argument("--restarts", type=int, default=3, help="starts on the migrated database")
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument(
        "--compare",
        type=Path,
        default=None,
        help="another version's src directory, run alternately",
    )
    args = parser.parse_args()
    if args.restarts < 1:
        parser.error("--restarts must be at least 1")
    if args.compare is not None and not (args.compare / "taskrouter_emulator").is_dir():
        parser.error(f"{args.compare} has no taskrouter_emulator package")
    run(args.database_url, args.restarts, args.idle_seconds, args.compare)


if __name__ == "__main__":
    main()
