"""Cross-process locks for routing decisions."""

from __future__ import annotations

import zlib

from sqlalchemy import text
from sqlalchemy.orm import Session

from taskrouter_emulator.scheduler.due_times import touch


def workspace_lock(session: Session, workspace_sid: str) -> None:
    """Hold a transaction-scoped lock on a workspace (Postgres advisory lock; SQLite already serialises writers).

    A transaction that locks a workspace may change its timers, so its due time is recomputed on commit.
    """
    touch(session, workspace_sid)
    if session.get_bind().dialect.name != "postgresql":
        return
    key = zlib.crc32(workspace_sid.encode()) - 2**31
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
