"""Timers: due times stored on rows, fired in order by the scheduler, the clock endpoint and lazy reads.

| Timer | Row and column | Transition |
|---|---|---|
| Reservation timeout | `reservation.timeout_at` (pending) | `reservations.service.time_out` |
| Workflow step timeout | `task.step_timeout_at` (pending/reserved) | `routing.engine.advance_step` |
| Task TTL / 24 h assigned limit | `task.expires_at` | `tasks.service.expire` |
| Retention of final tasks | `task.delete_at` | `tasks.service.system_delete` |

Each handler re-reads and re-checks the row under the workspace lock, so firing twice is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.orm import Session

from taskrouter_emulator.clock import Clock
from taskrouter_emulator.db.locks import workspace_lock
from taskrouter_emulator.db.types import UTCDateTime
from taskrouter_emulator.events import counts
from taskrouter_emulator.models import Event, Reservation, Task, Workspace
from taskrouter_emulator.routing.context import RoutingContext

_settings = {"retention_seconds": 300, "event_retention_days": 30}
WAITING = ("pending", "reserved")
LIVE = ("pending", "reserved", "assigned", "wrapping")


def configure(*, retention_seconds: int, event_retention_days: int) -> None:
    """Set the retention of final tasks and of events (from the app's settings)."""
    _settings["retention_seconds"] = retention_seconds
    _settings["event_retention_days"] = event_retention_days


def retention_seconds() -> int:
    """Return how long canceled and completed tasks are kept."""
    return _settings["retention_seconds"]


@dataclass(frozen=True, order=True)
class Due:
    """One timer that has fallen due."""

    at: datetime
    kind: str
    sid: str
    workspace_sid: str


def _due_queries(now: datetime, workspace_sid: str | None):  # type: ignore[no-untyped-def]
    reservation = select(Reservation.timeout_at, Reservation.sid, Reservation.workspace_sid).where(
        Reservation.reservation_status == "pending", Reservation.timeout_at <= now
    )
    step = select(Task.step_timeout_at, Task.sid, Task.workspace_sid).where(
        Task.assignment_status.in_(WAITING), Task.step_timeout_at <= now
    )
    expiry = select(Task.expires_at, Task.sid, Task.workspace_sid).where(
        Task.assignment_status.in_(LIVE), Task.expires_at <= now
    )
    cleanup = select(Task.delete_at, Task.sid, Task.workspace_sid).where(Task.delete_at <= now)
    queries = {"reservation": reservation, "step": step, "expiry": expiry, "cleanup": cleanup}
    if workspace_sid is not None:
        queries = {
            kind: query.where(
                (Reservation.workspace_sid if kind == "reservation" else Task.workspace_sid)
                == workspace_sid
            )
            for kind, query in queries.items()
        }
    return queries


# Every API request in a workspace asks "is anything overdue here?": one hand-written round trip,
# cheap to build, answers the common case (nothing) before the four detailed queries run.
_WORKSPACE_PROBE = text(
    """
    SELECT EXISTS (SELECT 1 FROM reservation WHERE workspace_sid = :ws
                     AND reservation_status = 'pending' AND timeout_at <= :now)
        OR EXISTS (SELECT 1 FROM task WHERE workspace_sid = :ws
                     AND assignment_status IN ('pending', 'reserved') AND step_timeout_at <= :now)
        OR EXISTS (SELECT 1 FROM task WHERE workspace_sid = :ws
                     AND assignment_status IN ('pending', 'reserved', 'assigned', 'wrapping')
                     AND expires_at <= :now)
        OR EXISTS (SELECT 1 FROM task WHERE workspace_sid = :ws AND delete_at <= :now)
    """
).bindparams(bindparam("now", type_=UTCDateTime()))


def due(
    session: Session, *, now: datetime, workspace_sid: str | None = None, limit: int = 500
) -> list[Due]:
    """Return the timers due at `now`, earliest first."""
    if workspace_sid is not None and not session.execute(
        _WORKSPACE_PROBE, {"ws": workspace_sid, "now": now}
    ).scalar():
        return []
    found: list[Due] = []
    for kind, query in _due_queries(now, workspace_sid).items():
        for at, sid, ws in session.execute(query.limit(limit)):
            found.append(Due(at=at, kind=kind, sid=sid, workspace_sid=ws))
    return sorted(found)


def next_due(session: Session) -> datetime | None:
    """Return the earliest pending due time of any timer."""
    candidates = [
        session.scalar(
            select(func.min(Reservation.timeout_at)).where(
                Reservation.reservation_status == "pending"
            )
        ),
        session.scalar(
            select(func.min(Task.step_timeout_at)).where(Task.assignment_status.in_(WAITING))
        ),
        session.scalar(select(func.min(Task.expires_at)).where(Task.assignment_status.in_(LIVE))),
        session.scalar(select(func.min(Task.delete_at))),
    ]
    decoded = [
        UTCDateTime().process_result_value(c, session.get_bind().dialect) if c is not None else None
        for c in candidates
    ]
    present = [c for c in decoded if c is not None]
    return min(present) if present else None


def fire_due(session: Session, *, clock: Clock, workspace: Workspace | None = None) -> int:
    """Fire every timer that is due now (for one workspace, or all); return how many fired."""
    now = clock.now()
    items = due(session, now=now, workspace_sid=workspace.sid if workspace else None)
    if not items:
        return 0
    contexts: dict[str, RoutingContext] = {}
    for item in items:
        ctx = contexts.get(item.workspace_sid)
        if ctx is None:
            ws = (
                workspace
                if workspace is not None
                else session.scalars(
                    select(Workspace).where(Workspace.sid == item.workspace_sid)
                ).one_or_none()
            )
            if ws is None:
                continue
            workspace_lock(session, ws.sid)
            ctx = contexts[ws.sid] = RoutingContext.load(session, clock=clock, workspace=ws)
        _fire(ctx, item)
    return len(items)


def _fire(ctx: RoutingContext, item: Due) -> None:
    from taskrouter_emulator.reservations import service as reservation_service
    from taskrouter_emulator.routing import engine
    from taskrouter_emulator.tasks import service as task_service

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
            reservation_service.time_out(ctx, reservation)
        return
    task = session.scalars(select(Task).where(Task.sid == item.sid)).one_or_none()
    if task is None:
        return
    if item.kind == "step" and task.step_timeout_at is not None and task.step_timeout_at <= ctx.now:
        engine.advance_step(ctx, task)
    elif item.kind == "expiry" and task.expires_at is not None and task.expires_at <= ctx.now:
        task_service.expire(ctx, task)
    elif item.kind == "cleanup" and task.delete_at is not None and task.delete_at <= ctx.now:
        task_service.system_delete(ctx, task)


def purge_events(session: Session, *, now: datetime) -> int:
    """Delete events older than the retention period (30 days by default)."""
    cutoff = counts.purge_cutoff(now - timedelta(days=_settings["event_retention_days"]))
    counts.purge_counts(session, cutoff=cutoff)
    result = session.execute(delete(Event).where(Event.event_date < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
