"""Timers: due times stored on rows, fired in order by the scheduler, the clock endpoint and lazy reads.

| Timer | Row and column | Transition |
|---|---|---|
| Reservation timeout | `reservation.timeout_at` (pending) | `lifecycle.reservations.time_out` |
| Workflow step timeout | `task.step_timeout_at` (pending/reserved) | `lifecycle.workflow.advance_step` |
| Task TTL / 24 h assigned limit | `task.expires_at` | `lifecycle.tasks.expire` |
| Retention of final tasks | `task.delete_at` | `lifecycle.tasks.system_delete` |

Each handler re-reads and re-checks the row under the workspace lock, so firing twice is harmless.
Which workspaces have something due is read from `workspace.next_due_at` (scheduler/due_times.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from taskrouter_emulator.clock import Clock
from taskrouter_emulator.db.locks import try_workspace_lock, workspace_lock
from taskrouter_emulator.db.session import lifecycle_config
from taskrouter_emulator.events import counts
from taskrouter_emulator.lifecycle import reservations, tasks, workflow
from taskrouter_emulator.models import Event, Reservation, Task, Workspace
from taskrouter_emulator.routing.context import RoutingContext

WAITING = ("pending", "reserved")
LIVE = ("pending", "reserved", "assigned", "wrapping")


@dataclass(frozen=True, order=True)
class Due:
    """One timer that has fallen due."""

    at: datetime
    kind: str
    sid: str
    workspace_sid: str


def _due_queries(now: datetime, workspace_sid: str):  # type: ignore[no-untyped-def]
    reservation = select(Reservation.timeout_at, Reservation.sid).where(
        Reservation.workspace_sid == workspace_sid,
        Reservation.reservation_status == "pending",
        Reservation.timeout_at <= now,
    )
    step = select(Task.step_timeout_at, Task.sid).where(
        Task.workspace_sid == workspace_sid,
        Task.assignment_status.in_(WAITING),
        Task.step_timeout_at <= now,
    )
    expiry = select(Task.expires_at, Task.sid).where(
        Task.workspace_sid == workspace_sid,
        Task.assignment_status.in_(LIVE),
        Task.expires_at <= now,
    )
    cleanup = select(Task.delete_at, Task.sid).where(
        Task.workspace_sid == workspace_sid, Task.delete_at <= now
    )
    return {"reservation": reservation, "step": step, "expiry": expiry, "cleanup": cleanup}


def due(session: Session, *, now: datetime, workspace_sid: str, limit: int = 500) -> list[Due]:
    """Return the workspace's timers due at `now`, earliest first."""
    found: list[Due] = []
    for kind, query in _due_queries(now, workspace_sid).items():
        for at, sid in session.execute(query.limit(limit)):
            found.append(Due(at=at, kind=kind, sid=sid, workspace_sid=workspace_sid))
    return sorted(found)


def fire_due(
    session: Session, *, clock: Clock, workspace: Workspace, skip_locked: bool = False
) -> int:
    """Fire every timer of the workspace that is due now; return how many fired.

    The workspace is locked, so its due time is recomputed when the transaction commits. With
    `skip_locked`, a workspace someone else holds is left to them (they fire what is due).
    """
    if skip_locked and not try_workspace_lock(session, workspace.sid):
        return 0
    return _fire_workspace(session, clock, workspace, clock.now())


def _fire_workspace(session: Session, clock: Clock, workspace: Workspace, now: datetime) -> int:
    workspace_lock(session, workspace.sid)
    items = due(session, now=now, workspace_sid=workspace.sid)
    if not items:
        return 0
    ctx = RoutingContext.load(session, clock=clock, workspace=workspace)
    for item in items:
        _fire(ctx, item)
    return len(items)


def _fire(ctx: RoutingContext, item: Due) -> None:
    session = ctx.session
    if item.kind == "reservation":
        reservation = session.scalars(
            select(Reservation).where(Reservation.sid == item.sid)
        ).one_or_none()
        if (
            reservation is not None
            and reservation.timeout_at is not None
            and reservation.timeout_at <= ctx.now
        ):
            reservations.time_out(ctx, reservation)
        return
    task = session.scalars(select(Task).where(Task.sid == item.sid)).one_or_none()
    if task is None:
        return
    if item.kind == "step" and task.step_timeout_at is not None and task.step_timeout_at <= ctx.now:
        workflow.advance_step(ctx, task)
    elif item.kind == "expiry" and task.expires_at is not None and task.expires_at <= ctx.now:
        tasks.expire(ctx, task)
    elif item.kind == "cleanup" and task.delete_at is not None and task.delete_at <= ctx.now:
        tasks.system_delete(ctx, task)


def purge_events(session: Session, *, now: datetime) -> int:
    """Delete events older than the retention period (the session's `LifecycleConfig`)."""
    cutoff = counts.purge_cutoff(now - lifecycle_config(session).event_retention)
    counts.purge_counts(session, cutoff=cutoff)
    result = session.execute(delete(Event).where(Event.event_date < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
