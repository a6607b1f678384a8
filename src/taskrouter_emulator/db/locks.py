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
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _key(workspace_sid)})


def try_workspace_lock(session: Session, workspace_sid: str) -> bool:
    """Take the workspace's lock if it is free and say whether it was (never waits).

    Background work uses this to skip a workspace another process or request is working on, the
    advisory-lock counterpart of `FOR UPDATE SKIP LOCKED`.
    """
    if session.get_bind().dialect.name != "postgresql":
        touch(session, workspace_sid)
        return True
    taken = bool(
        session.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _key(workspace_sid)}
        ).scalar()
    )
    if taken:
        touch(session, workspace_sid)
    return taken


# Taken by every transaction that changes many webhook deliveries at once: the dispatcher's claims and
# outcomes, journal pruning, resets and snapshot imports. Their row locks on `webhook_delivery` would
# otherwise be taken in different orders and deadlock (seen: a reset against a dispatcher's outcomes).
# Whoever takes it takes it before any workspace lock.
_JOURNAL_LOCK = 0x54525748


def journal_lock(session: Session) -> None:
    """Hold the transaction-scoped lock for bulk changes to webhook deliveries (Postgres)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _JOURNAL_LOCK})


def _key(workspace_sid: str) -> int:
    return zlib.crc32(workspace_sid.encode()) - 2**31
