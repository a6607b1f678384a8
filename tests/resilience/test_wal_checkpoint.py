"""SQLite: the WAL is checkpointed by the server's background thread, not by the requests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from taskrouter_emulator.db.checkpoint import FALLBACK_PAGES, WalCheckpointer
from taskrouter_emulator.db.engine import make_engine, read_engine
from tests.receiver import eventually


def _rows_in_database_file(path: Path) -> int:
    """Count the rows the database file itself holds (the WAL ignored: only checkpointed pages)."""
    connection = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return int(connection.execute("SELECT count(*) FROM item").fetchone()[0])
    except sqlite3.OperationalError:  # the table itself is not checkpointed yet
        return -1
    finally:
        connection.close()


def test_writes_are_checkpointed_in_the_background_and_reads_are_not_counted(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.db"
    engine = make_engine(f"sqlite:///{path}")
    checkpointer = WalCheckpointer(engine, gather_seconds=0.01)
    with engine.begin() as connection:
        # Not started yet: SQLite's own automatic checkpoints (every 1,000 pages).
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
        connection.execute(text("CREATE TABLE item (n INTEGER)"))
    engine.dispose()
    checkpointer.start()
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == FALLBACK_PAGES
        eventually(lambda: checkpointer.checkpoints == 1)  # the CREATE TABLE's round
        with read_engine(engine).begin() as reader:
            reader.execute(text("SELECT count(*) FROM item")).scalar()
        assert not checkpointer.pending  # a read transaction adds nothing to the WAL

        with engine.begin() as connection:
            connection.execute(text("INSERT INTO item (n) VALUES (1), (2), (3)"))
        # The pages reach the database file while the pool's connections stay open (closing the
        # last one would also checkpoint).
        eventually(lambda: checkpointer.checkpoints >= 2 and _rows_in_database_file(path) == 3)
    finally:
        checkpointer.stop()
        engine.dispose()
