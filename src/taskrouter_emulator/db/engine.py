"""Engine construction for the two supported backends: SQLite (embedded default) and PostgreSQL.

Reads never wait for writers: GET requests use `read_engine(engine)`, whose transactions are plain
snapshots (a WAL read transaction on SQLite, READ COMMITTED on Postgres) and take no lock. Writers
serialise per workspace: on Postgres with an advisory lock (`db.locks`), on SQLite (one writer per
database) with a process-wide lock taken when a write transaction begins and released when its
connection goes back to the pool, so queued writers wait on a Python lock instead of spinning in
SQLite's sleeping busy handler.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

from taskrouter_emulator.errors import ServiceUnavailable

# Threads serving requests (anyio's limiter for sync endpoints and dependencies, set in app.py)
# plus the background threads (scheduler, the webhook dispatcher's database thread and its token
# lookups): each can hold one connection, so the pool holds that many and no request waits.
REQUEST_THREADS = 40
# Requests admitted into the app at once (api.write_gate.Admission): fewer than the threads, so an
# admitted request always finds a thread for its next step, and a connection in the pool.
ADMITTED_REQUESTS = 32
BACKGROUND_CONNECTIONS = 12
# A request that cannot get a connection or the write slot within this time answers 503 quickly.
SATURATION_TIMEOUT = 10.0
# A pooled PostgreSQL connection idle for longer is pinged before reuse (`_ping_idle_connections`).
PING_AFTER_IDLE = 1.0
_LAST_USED = "taskrouter_last_used"
_READ_OPTION = "taskrouter_read_only"
# Set in a pool connection's `info` while it holds the SQLite write lock (a write transaction).
WRITE_LOCK_HELD = "taskrouter_write_lock_held"


def is_sqlite(url: str) -> bool:
    """Tell whether a database URL names SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain `postgresql://` URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def read_engine(engine: Engine) -> Engine:
    """Return a view of `engine` (same pool) whose transactions only read: no write lock on SQLite."""
    return engine.execution_options(**{_READ_OPTION: True})


def make_engine(url: str) -> Engine:
    """Create an engine sized for the request threads; on SQLite use WAL and one serialised writer."""
    url = normalise_url(url)
    pool_size = REQUEST_THREADS + BACKGROUND_CONNECTIONS
    if not is_sqlite(url):
        engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=SATURATION_TIMEOUT,
            # Most recently used first: the connections in use stay few and warm (psycopg prepares a
            # statement after a few runs on the same connection), instead of rotating through all.
            pool_use_lifo=True,
            # A lock wait that lasts this long (another process stuck, or a cycle across
            # processes) fails with LockNotAvailable, answered 503, instead of hanging forever.
            connect_args={"connect_timeout": 5, "options": "-c lock_timeout=10000"},
        )
        _ping_idle_connections(engine)
        return engine

    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 60},
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=SATURATION_TIMEOUT,
        pool_use_lifo=True,
    )
    write_lock = threading.Lock()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event below issue BEGIN itself (pysqlite's documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(_READ_OPTION):
            connection.exec_driver_sql("BEGIN")
            return
        # One writer at a time in this process; BEGIN IMMEDIATE also guards against other
        # processes (the CLI, a second server) that share the file. The lock is released when the
        # connection goes back to the pool, i.e. after COMMIT/ROLLBACK has really run.
        if not connection.info.get(WRITE_LOCK_HELD):
            if not write_lock.acquire(timeout=SATURATION_TIMEOUT):
                raise ServiceUnavailable(
                    "The emulator is saturated: no database write slot was free"
                )
            connection.info[WRITE_LOCK_HELD] = True
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    def _release(info: dict[str, Any]) -> None:
        if info.pop(WRITE_LOCK_HELD, False):
            write_lock.release()

    @event.listens_for(engine, "reset")
    def _on_reset(_dbapi_connection: Any, record: Any, _state: Any) -> None:
        _release(record.info)

    @event.listens_for(engine, "close")
    def _on_close(_dbapi_connection: Any, record: Any) -> None:
        _release(record.info)

    return engine


def _ping_idle_connections(engine: Engine) -> None:
    """Check a pooled connection before reuse only if it sat idle for a while.

    A connection can die while it sits in the pool (PostgreSQL restarted, a proxy timed it out);
    a ping on checkout finds that and the pool connects afresh, so the request never sees it.
    SQLAlchemy's `pool_pre_ping` pings on every checkout, a round trip per request; a connection
    that was in use within the last `PING_AFTER_IDLE` seconds is handed out without one.
    """

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_LAST_USED, 0.0) < PING_AFTER_IDLE:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and checks out (or opens) another one.
            raise DisconnectionError(f"pooled connection is gone: {exc}") from exc
        if not alive:
            raise DisconnectionError("pooled connection is gone")


def private_sqlite_connection(engine: Engine) -> Any:
    """Open a driver connection to the engine's SQLite file outside its pool (the URL's arguments,
    not the engine's `connect_args`), in autocommit; for background work that must never hold a
    pool connection."""
    dialect = engine.dialect
    args, kwargs = dialect.create_connect_args(engine.url)
    connection = dialect.loaded_dbapi.connect(*args, **kwargs)
    connection.isolation_level = None
    return connection
