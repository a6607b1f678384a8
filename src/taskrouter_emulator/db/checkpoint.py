"""SQLite's WAL checkpoints in a background thread, off the requests' path.

In WAL mode a commit appends pages to the `-wal` file; a checkpoint copies them back into the
database file and flushes it to disk. By default the connection whose commit takes the WAL past 1,000
pages runs the checkpoint itself, so about every 30th write request paid for the copy and the fsync
(10-20 ms; most of the routing benchmark's p99). Here a thread of the server checkpoints shortly
after writes instead, on a connection of its own. A PASSIVE checkpoint never waits for or blocks
readers and writers, so requests go on while it runs.

The request connections keep an automatic checkpoint as a fallback, at a much larger size
(`FALLBACK_PAGES`), for when this thread cannot keep up. Processes without the thread (the CLI, a
script) keep SQLite's default.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine, event

from taskrouter_emulator.db.engine import WRITE_LOCK_HELD, private_sqlite_connection

logger = logging.getLogger(__name__)

# Pages (4 KiB each) after which a committing connection checkpoints by itself: about 80 MB.
FALLBACK_PAGES = 20_000
# Commits that arrive within this time after the first one share one checkpoint.
GATHER_SECONDS = 1.0


class WalCheckpointer:
    """Checkpoints an SQLite database's WAL in a background thread, shortly after writes commit."""

    def __init__(self, engine: Engine, *, gather_seconds: float = GATHER_SECONDS) -> None:
        self._engine = engine
        self._gather = gather_seconds
        self._written = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="taskrouter-checkpoint", daemon=True)
        self.checkpoints = 0
        event.listen(engine, "connect", self._on_connect)
        event.listen(engine, "commit", self._on_commit)

    @property
    def pending(self) -> bool:
        """Whether a committed write awaits its checkpoint round."""
        return self._written.is_set()

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (after one last checkpoint of what was written)."""
        self._stop.set()
        self._written.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _on_connect(self, dbapi_connection: Any, _record: Any) -> None:
        # Only while the thread runs: an app that is built but never started (a script's set-up)
        # keeps SQLite's own checkpoints.
        if self._thread.is_alive() and not self._stop.is_set():
            dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_PAGES}")

    def _on_commit(self, connection: Any) -> None:
        # Only write transactions (they hold the engine's write lock) add pages to the WAL.
        if connection.info.get(WRITE_LOCK_HELD):
            self._written.set()

    def _run(self) -> None:
        connection: Any = None
        try:
            while True:
                self._written.wait()
                # Cleared before gathering: the commit event fires just before COMMIT runs, so a
                # commit signalled from now on is checkpointed by this round or the next one.
                self._written.clear()
                if not self._stop.is_set():
                    self._stop.wait(self._gather)
                try:
                    if connection is None:
                        connection = private_sqlite_connection(self._engine)
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except Exception as exc:  # the file went away, a disk error: try again next time
                    logger.warning("WAL checkpoint failed: %s", exc)
                    if connection is not None:
                        connection.close()
                        connection = None
                if self._stop.is_set():
                    return
        finally:
            if connection is not None:
                connection.close()
