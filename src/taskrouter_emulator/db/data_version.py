"""Has the database changed? A cheap mark that differs whenever any transaction has committed a change.

Read from the event loop before a request runs, so an answer computed from the database can be kept
and reused for as long as the mark stays the same (`api.read_cache`). Both marks see every writer:
this process's request threads, its scheduler and dispatcher, other server processes, the CLI, and
scripts that write to the database directly.

- SQLite: `PRAGMA data_version` on a connection of its own that never writes. SQLite changes the
  value a connection reports whenever another connection has committed to the file since.
- PostgreSQL: the text of `pg_current_snapshot()` (xmin:xmax:in-progress ids). Two equal snapshots
  see exactly the same committed transactions: a transaction that commits leaves the in-progress
  list, and one that starts writing takes an id at or above xmax, so any commit in between changes it.

The mark is read before the request's own transaction starts. If a commit lands between the two, the
answer is newer than its mark, and the mark has already changed, so the answer is never reused.
A mark of None means "unknown" (the database could not be asked): nothing is reused.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from taskrouter_emulator.db.engine import private_sqlite_connection

logger = logging.getLogger(__name__)


class DataVersion(Protocol):
    """A mark of the database's committed state."""

    async def current(self) -> object | None:
        """Return the mark now, or None when it cannot be read."""
        ...

    async def close(self) -> None:
        """Release the connection the mark is read with."""
        ...


class SqliteDataVersion:
    """`PRAGMA data_version` on a dedicated autocommit connection, read in the event loop.

    The pragma reads SQLite's shared WAL index, a few microseconds with no disk access and no lock
    wait, so it runs in the event loop rather than paying for a thread hand-off.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Any = None
        self._opened = 0
        self.failing = False

    async def current(self) -> object | None:
        """Return the connection's data version, opening the connection on first use."""
        try:
            if self._connection is None:
                # Outside the pool: it never serves a request, so it never writes (it would not
                # see its own commits).
                self._connection = private_sqlite_connection(self._engine)
                self._opened += 1
            row = self._connection.cursor().execute("PRAGMA data_version").fetchone()
        except Exception:
            _warn_once(self, "could not read SQLite's data_version")
            await self.close()
            return None
        self.failing = False
        # A new connection counts from scratch: the count of connections opened keeps marks unique.
        return (self._opened, int(row[0]))

    async def close(self) -> None:
        """Close the dedicated connection."""
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None


class SnapshotRider(Protocol):
    """Something small read in the same statement as the PostgreSQL snapshot, so it is known
    exactly as of that data version without a query (or a thread hand-off) of its own."""

    @property
    def snapshot_sql(self) -> str:
        """A scalar SQL expression (e.g. a subquery) to read with the snapshot."""
        ...

    def seen(self, value: Any, version: str) -> None:
        """Take the expression's value as of data version `version`."""
        ...


class PostgresSnapshot:
    """`pg_current_snapshot()` on a dedicated asynchronous autocommit connection.

    One connection serves every request, one query at a time. A request never uses a snapshot read
    before it arrived (a write answered just before could be missing from it): requests that arrive
    while a read is under way wait for the next read, which starts when that one ends, and share it.
    So at most one read runs and one waits, however many requests arrive. Riders' expressions are
    read in the same statement, so they are as of the same snapshot.
    """

    def __init__(self, database_url: str, riders: Sequence[SnapshotRider] = ()) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._riders = tuple(riders)
        self._sql = ", ".join(
            ["SELECT pg_current_snapshot()::text", *(f"({r.snapshot_sql})" for r in self._riders)]
        )
        self._connection: Any = None
        self._next: asyncio.Future[str | None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self.failing = False

    async def current(self) -> object | None:
        """Return the text of a snapshot taken after this call began, connecting on first use."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read_while_asked())
        return await asyncio.shield(self._next)

    async def _read_while_asked(self) -> None:
        while self._next is not None:
            asked, self._next = self._next, None
            asked.set_result(await self._read())

    async def _read(self) -> str | None:
        # Imported here: a server on SQLite never loads the PostgreSQL driver (see db/notify.py).
        import psycopg

        try:
            if self._connection is None or self._connection.closed:
                self._connection = await psycopg.AsyncConnection.connect(
                    self._dsn, autocommit=True, connect_timeout=5
                )
            cursor = await self._connection.execute(self._sql)
            row = await cursor.fetchone()
        except Exception:
            _warn_once(
                self,
                "could not read PostgreSQL's snapshot and what rides with it "
                "(pg_current_snapshot() needs PostgreSQL 13 or newer)",
            )
            self._connection = None
            return None
        self.failing = False
        if row is None:
            return None
        version = str(row[0])
        for rider, value in zip(self._riders, row[1:], strict=True):
            rider.seen(value, version)
        return version

    async def close(self) -> None:
        """Stop reading and close the dedicated connection."""
        if self._reader is not None:
            self._reader.cancel()
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()


def _warn_once(reader: SqliteDataVersion | PostgresSnapshot, message: str) -> None:
    """Log the first failure of a streak (until a read succeeds again, nothing is reused)."""
    if not reader.failing:
        reader.failing = True
        logger.warning("%s: answering every request from the database", message, exc_info=True)


def data_version_for(engine: Engine, riders: Sequence[SnapshotRider] = ()) -> DataVersion:
    """Return the data version reader for the engine's backend (riders ride along on PostgreSQL)."""
    if engine.dialect.name == "sqlite":
        return SqliteDataVersion(engine)
    return PostgresSnapshot(engine.url.render_as_string(hide_password=False), riders)
