"""The earliest due time of each workspace's timers, kept on the workspace row.

`workspace.next_due_at` is the earliest of the workspace's reservation timeouts, workflow step
timeouts, task expiries and clean-ups. Every transaction that writes tasks or reservations, or takes
a workspace's lock, recomputes it just before it commits (four index seeks), so it is exact in the
committed state and shared by every process. A request reads it with the workspace row it loads
anyway, so "is anything overdue here?" costs no query; the scheduler asks one indexed query of all
workspaces. A value that is too early is harmless (the next firing finds nothing and corrects it).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from taskrouter_emulator.clock import Clock
from taskrouter_emulator.models import AccountClock, Reservation, Task, Workspace
from taskrouter_emulator.models.task import LIVE_EXPIRY, PENDING_TIMEOUT, WAITING_STEP_TIMEOUT

TOUCHED = "taskrouter_timer_workspaces"

# Each inner query walks a partial index on (workspace_sid, due column) in order and stops at the
# first row (the conditions are the indexes' own: models/task.py).
_EARLIEST_DUE = f"""
      SELECT MIN(due) FROM (
        SELECT (SELECT timeout_at FROM reservation
                 WHERE workspace_sid = :ws AND {PENDING_TIMEOUT}
                 ORDER BY timeout_at LIMIT 1) AS due
        UNION ALL
        SELECT (SELECT step_timeout_at FROM task
                 WHERE workspace_sid = :ws AND {WAITING_STEP_TIMEOUT}
                 ORDER BY step_timeout_at LIMIT 1)
        UNION ALL
        SELECT (SELECT expires_at FROM task
                 WHERE workspace_sid = :ws AND {LIVE_EXPIRY}
                 ORDER BY expires_at LIMIT 1)
        UNION ALL
        SELECT (SELECT delete_at FROM task
                 WHERE workspace_sid = :ws AND delete_at IS NOT NULL
                 ORDER BY delete_at LIMIT 1)
      ) AS candidates
"""
# The row is written only when the time changes (most writes leave it as it was): fewer pages for
# SQLite's WAL, fewer row versions for PostgreSQL. "IS NOT" is SQLite's null-safe comparison (its
# "IS DISTINCT FROM" needs SQLite 3.39).
_REFRESH = {
    dialect: text(
        f"UPDATE workspace SET next_due_at = ({_EARLIEST_DUE}) "
        f"WHERE sid = :ws AND next_due_at {distinct} ({_EARLIEST_DUE})"
    )
    for dialect, distinct in (("postgresql", "IS DISTINCT FROM"), ("sqlite", "IS NOT"))
}


def touch(session: Session, workspace_sid: str) -> None:
    """Mark a workspace whose due time must be recomputed when this transaction commits."""
    session.info.setdefault(TOUCHED, set()).add(workspace_sid)


def refresh(session: Session, workspace_sids: set[str]) -> None:
    """Recompute `next_due_at` of the given workspaces from their rows."""
    statement = _REFRESH[session.get_bind().dialect.name]
    for sid in sorted(workspace_sids):
        session.execute(statement, {"ws": sid})


def is_due(workspace: Workspace, clock: Clock) -> bool:
    """Tell whether some timer of the workspace is due now (as of the loaded row).

    The clock is only read when the workspace has timers at all.
    """
    return workspace.next_due_at is not None and workspace.next_due_at <= clock.now()


def earliest(session: Session, account_sid: str) -> datetime | None:
    """Return the earliest due time of any workspace of the account."""
    return session.scalar(
        select(func.min(Workspace.next_due_at)).where(Workspace.account_sid == account_sid)
    )


def due_workspaces(
    session: Session, now: datetime, *, account_sid: str, limit: int = 100
) -> list[Workspace]:
    """Return the account's workspaces with a timer due at `now`, earliest first."""
    return list(
        session.scalars(
            select(Workspace)
            .where(Workspace.account_sid == account_sid, Workspace.next_due_at <= now)
            .order_by(Workspace.next_due_at)
            .limit(limit)
        )
    )


def due_on_running_clocks(
    session: Session, base_now: datetime, *, limit: int = 100
) -> list[Workspace]:
    """Return workspaces with a timer due whose account's time runs (not frozen), earliest first.

    Frozen accounts need no polling: their time moves only through `/emulator/clock`, which fires
    their timers itself. Accounts running at real time (no stored clock, or offset 0) are found in
    one query; the few running with an offset are asked one by one.
    """
    shifted = select(AccountClock.account_sid).where(
        (AccountClock.frozen_at.is_not(None)) | (AccountClock.offset_us != 0)
    )
    found = list(
        session.scalars(
            select(Workspace)
            .where(Workspace.next_due_at <= base_now, Workspace.account_sid.not_in(shifted))
            .order_by(Workspace.next_due_at)
            .limit(limit)
        )
    )
    offsets = session.execute(
        select(AccountClock.account_sid, AccountClock.offset_us).where(
            AccountClock.frozen_at.is_(None), AccountClock.offset_us != 0
        )
    ).all()
    for account_sid, offset_us in offsets:
        now = base_now + timedelta(microseconds=offset_us)
        found.extend(due_workspaces(session, now, account_sid=account_sid, limit=limit))
    return found


def install(factory: sessionmaker[Session]) -> None:
    """Keep `next_due_at` current for every session the factory makes."""

    @event.listens_for(factory, "after_flush")
    def _collect(session: Session, _context: Any) -> None:
        for instance in (*session.new, *session.dirty, *session.deleted):
            if isinstance(instance, Task | Reservation):
                touch(session, instance.workspace_sid)

    @event.listens_for(factory, "before_commit")
    def _refresh(session: Session) -> None:
        session.flush()
        touched = session.info.pop(TOUCHED, None)
        if touched:
            refresh(session, touched)
