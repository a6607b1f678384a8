"""What the HTTP benchmarks share: a scratch database, servers (`taskrouter-emulator serve`) in child processes."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from taskrouter_emulator.testing import database_on, free_port


@contextmanager
def scratch_database(server_url: str | None) -> Iterator[str]:
    """Yield the URL of an empty database, removed afterwards.

    Without `server_url`: a SQLite file in a temporary directory. With a PostgreSQL URL: a new
    database `tre_bench_<random>` on that server, dropped at the end.
    """
    with (
        tempfile.TemporaryDirectory(prefix="tre-bench-") as directory,
        database_on(server_url, Path(directory), prefix="tre_bench") as url,
    ):
        yield url


def argument_parser(description: str | None) -> argparse.ArgumentParser:
    """Return a command-line parser with the `--database-url` option every benchmark takes."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL server URL (a scratch database is created); default: temporary SQLite",
    )
    return parser


def machine_load() -> str:
    """Return the load average and core count, to judge figures taken on a shared machine."""
    one, five, _ = os.getloadavg()
    return f"machine: load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def backend_name(database_url: str) -> str:
    """Return "sqlite" or "postgresql"."""
    return make_url(database_url).get_backend_name()


def emulator(
    database_url: str, *, env: dict[str, str] | None = None, log_path: Path | None = None
) -> ServerProcess:
    """Return `taskrouter-emulator serve` on `database_url` as a user starts it (not yet launched)."""
    return ServerProcess(_emulator_command(database_url), env=env, log_path=log_path)


def _emulator_command(database_url: str) -> Callable[[int], list[str]]:
    """Return the command line of `taskrouter-emulator serve` on `database_url`, per port."""
    script = Path(sys.executable).with_name("taskrouter-emulator")
    launcher = [str(script)] if script.exists() else [sys.executable, "-m", "taskrouter_emulator"]

    def command(port: int) -> list[str]:
        return [
            *launcher, "serve", "--port", str(port), "--database-url", database_url,
            "--log-level", "warning",
        ]  # fmt: skip

    return command


class ServerProcess:
    """A server in a child process on a free loopback port (`command` builds its command line)."""

    def __init__(
        self,
        command: Callable[[int], list[str]],
        *,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = command(self.port)
        self.env = {**os.environ, **(env or {})}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.launched_at = 0.0

    def launch(self) -> None:
        """Start the process (returns at once; see `wait_until_answering`)."""
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.launched_at = time.perf_counter()
        self.process = subprocess.Popen(
            self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def wait_until_answering(
        self, path: str = "/emulator/health", *, auth: tuple[str, str] | None = None,
        timeout: float = 120.0, interval: float = 0.005,
    ) -> float:  # fmt: skip
        """Poll `path` until it answers 200; return the seconds since `launch`."""
        assert self.process is not None, "launch() first"
        deadline = time.perf_counter() + timeout
        with httpx.Client(base_url=self.url, auth=auth, timeout=5) as http:
            while time.perf_counter() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"{self.command[0]} exited with status {self.process.returncode}"
                    )
                try:
                    if http.get(path).status_code == 200:
                        return time.perf_counter() - self.launched_at
                except httpx.TransportError:
                    pass
                time.sleep(interval)
        raise RuntimeError(f"{self.command[0]} did not answer {path} within {timeout:.0f} s")

    def stop(self) -> None:
        """Terminate the process (SIGTERM, then SIGKILL after 30 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> ServerProcess:
        self.launch()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
