"""Emulator server processes for tests that kill, restart or run several of them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from taskrouter_emulator.testing import free_port


def spawn(database_url: str, port: int, **env: str) -> subprocess.Popen[bytes]:
    """Start `taskrouter-emulator serve` (frozen clocks, fast scheduler) and wait until it answers."""
    environment = {
        **os.environ,
        "TASKROUTER_CLOCK": "frozen",
        "TASKROUTER_SCHEDULER_INTERVAL": "0.05",
        **env,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "taskrouter_emulator",
            "serve",
            "--port",
            str(port),
            "--database-url",
            database_url,
            "--log-level",
            "warning",
        ],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/emulator/health").status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the emulator process did not start")


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL: no shutdown code runs, as in a crash."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


@contextmanager
def server_process(database_url: str, **env: str) -> Iterator[str]:
    """A server process for the duration of a block; yields its base URL."""
    port = free_port()
    process = spawn(database_url, port, **env)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        kill(process)
