"""A throw-away PostgreSQL cluster on its own port, for tests that stop and start the database.

Never touches the machine's shared instance. As root, the cluster runs as the `postgres` user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def _bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL server binaries ({name}) are not installed")
    return str(found[-1])


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class Cluster:
    """A private cluster: its data directory, port and URL."""

    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            _as_owner([_bin("pg_ctl"), "-D", str(self.directory / "data"), *args]),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self._ctl("-o", options, "-l", str(self.directory / "log"), "-w", "start")

    def stop(self) -> None:
        """Stop at once, as a crash or an outage would (open connections are cut)."""
        self._ctl("-m", "immediate", "-w", "stop")


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """Create, start and finally destroy a private cluster."""
    directory = Path(tempfile.mkdtemp(prefix="tre-pg-"))
    directory.chmod(0o777)
    if os.geteuid() == 0:
        shutil.chown(directory, user="postgres")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    cluster = Cluster(directory=directory, port=port)
    subprocess.run(
        _as_owner(
            [_bin("initdb"), "-D", str(directory / "data"), "-U", "postgres", "--auth=trust"]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    cluster.start()
    try:
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)
