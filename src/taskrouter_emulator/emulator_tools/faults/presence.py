"""Which accounts have injected faults, known in memory so most requests skip the fault lookup.

On SQLite (one server process per database: `serve --workers` is refused there) this process sees
every change to the `fault` table: each committed change forgets what is known (`install`), and the
next request reads the set again. A read that started before such a commit may finish after it, so
results are kept only if no change was committed meanwhile (the generation check).

On PostgreSQL other processes may change the faults, so what is known holds only for the database's
data version it was read at (`db.data_version`). The set is read in the same statement as each
data version (`snapshot_sql`, `seen`), so a request knows its account's answer as of the version it
read, with no query and no thread hand-off of its own.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from taskrouter_emulator.models import Fault

_CHANGED = "taskrouter_faults_changed"


def read_faults(engine: Engine, sql: str, *params: object) -> list[Any]:
    """Run a read of the fault table outside any session, in autocommit.

    Every request may pay for it, so it avoids the session: on SQLite a session's write transaction
    starts with BEGIN IMMEDIATE and would queue behind every writer. On PostgreSQL the read runs in
    autocommit, so it leaves no transaction for the pool to roll back: psycopg forgets a
    connection's prepared statements on every ROLLBACK, and this read runs after most writes.
    `?` placeholders are rewritten for drivers that use `%s`.
    """
    postgres = engine.dialect.paramstyle != "qmark"
    if postgres:
        sql = sql.replace("?", "%s")
    connection = engine.raw_connection()
    try:
        driver = connection.driver_connection
        if postgres:
            driver.autocommit = True  # type: ignore[union-attr]
        cursor = connection.cursor()
        cursor.execute(sql, params)
        rows = list(cursor.fetchall())
        if postgres:
            driver.autocommit = False  # type: ignore[union-attr]
        return rows
    finally:
        # After a failure the connection may be unusable; the pool discards it if so.
        connection.close()


class FaultPresence:
    """The set of accounts that have faults, or None when it must be read again."""

    def __init__(self, *, sees_every_change: bool) -> None:
        self._sees_every_change = sees_every_change
        self._lock = threading.Lock()
        # (accounts with faults, the data version they were read at), replaced as one value so the
        # event loop never pairs one read's accounts with another's version.
        self._known: tuple[frozenset[str], object | None] | None = None
        self._generation = 0

    def known(self, account_sid: str, version: object | None) -> bool | None:
        """Tell whether the account has faults at the database's data `version`, or None if unknown."""
        known = self._known
        if known is None:
            return None
        accounts, known_version = known
        if not (self._sees_every_change or (version is not None and version == known_version)):
            return None
        return account_sid in accounts

    def load(self, engine: Engine, version: object | None) -> frozenset[str]:
        """Read the accounts that have faults (in autocommit: no write lock) and remember them.

        `version` is the data version read before this read started (unused on SQLite).
        """
        with self._lock:
            generation = self._generation
        rows = read_faults(engine, f"SELECT DISTINCT account_sid FROM {Fault.__tablename__}")
        accounts = frozenset(str(row[0]) for row in rows)
        with self._lock:
            if generation == self._generation and (self._sees_every_change or version is not None):
                self._known = (accounts, version)
        return accounts

    @property
    def snapshot_sql(self) -> str:
        """The accounts with faults, read with PostgreSQL's snapshot (`db.data_version`)."""
        return f"SELECT ARRAY(SELECT DISTINCT account_sid FROM {Fault.__tablename__})"

    def seen(self, value: Any, version: str) -> None:
        """Remember the accounts with faults as of data version `version`."""
        with self._lock:
            self._known = (frozenset(str(sid) for sid in value or ()), version)

    def forget(self) -> None:
        """Drop what is known (a change to the fault table was committed)."""
        with self._lock:
            self._generation += 1
            self._known = None

    def install(self, factory: sessionmaker[Session]) -> None:
        """Forget what is known whenever a session of `factory` commits a change to the faults."""

        @event.listens_for(factory, "after_flush")
        def _flushed(session: Session, _context: Any) -> None:
            if any(isinstance(o, Fault) for o in (*session.new, *session.dirty, *session.deleted)):
                session.info[_CHANGED] = True

        @event.listens_for(factory, "do_orm_execute")
        def _executed(state: ORMExecuteState) -> None:
            if (state.is_update or state.is_delete or state.is_insert) and any(
                getattr(table, "name", None) == Fault.__tablename__ for table in _tables(state)
            ):
                state.session.info[_CHANGED] = True

        @event.listens_for(factory, "after_commit")
        def _committed(session: Session) -> None:
            if session.info.pop(_CHANGED, False):
                self.forget()

        @event.listens_for(factory, "after_rollback")
        def _rolled_back(session: Session) -> None:
            session.info.pop(_CHANGED, None)


def _tables(state: ORMExecuteState) -> list[Any]:
    statement: Any = state.statement
    table = getattr(statement, "table", None)
    return [table] if table is not None else []
