"""Worker state changes the lifecycle makes: activity moves and the worker events."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskrouter_emulator import versions
from taskrouter_emulator.api.urls import child_path
from taskrouter_emulator.clock import Clock
from taskrouter_emulator.events import recorder
from taskrouter_emulator.models import Activity, Worker, Workspace


def path(worker: Worker) -> str:
    """Return the path of a worker."""
    return child_path(worker.workspace_sid, "Workers", worker.sid)


def activity_of(session: Session, worker: Worker) -> Activity:
    """Return the worker's current activity."""
    return session.scalars(select(Activity).where(Activity.sid == worker.activity_sid)).one()


def change_activity(
    session: Session, *, clock: Clock, workspace: Workspace, worker: Worker, activity: Activity
) -> None:
    """Move a worker to another activity and record `worker.activity.update` (same activity: no-op)."""
    if activity.sid == worker.activity_sid:
        return
    previous = activity_of(session, worker)
    previous_since = worker.date_status_changed
    now = clock.now()
    move(worker, activity, now)
    versions.bump(session, worker, now)
    worker.date_updated = now
    session.flush()
    record_activity_change(
        session, clock, workspace, worker, previous, previous_since, activity, now
    )


def move(worker: Worker, activity: Activity, now: datetime) -> None:
    """Set the worker's activity (its status and idle time start now); the caller bumps the version."""
    worker.activity_sid = activity.sid
    worker.date_status_changed = now
    worker.idle_since = now


def record(
    session: Session,
    clock: Clock,
    workspace: Workspace,
    worker: Worker,
    activity: Activity,
    event_type: str,
    description: str,
    extra: dict[str, object] | None = None,
) -> None:
    """Record an event about a worker in its (given) activity."""
    recorder.record(
        session,
        clock=clock,
        workspace=workspace,
        event_type=event_type,
        resource_type="worker",
        resource_sid=worker.sid,
        resource_path=path(worker),
        description=description,
        data={**recorder.worker_fields(worker, activity), **(extra or {})},
    )


def record_activity_change(
    session: Session,
    clock: Clock,
    workspace: Workspace,
    worker: Worker,
    previous: Activity,
    previous_since: datetime,
    activity: Activity,
    now: datetime,
) -> None:
    """Record `worker.activity.update`, with the time spent in the previous activity."""
    elapsed_ms = max(0, (now - previous_since) // timedelta(milliseconds=1))
    record(
        session,
        clock,
        workspace,
        worker,
        activity,
        "worker.activity.update",
        f"Worker {worker.friendly_name} updated to {activity.friendly_name} Activity",
        {
            "worker_previous_activity_sid": previous.sid,
            "worker_previous_activity_name": previous.friendly_name,
            "worker_time_in_previous_activity": elapsed_ms // 1000,
            "worker_time_in_previous_activity_ms": elapsed_ms,
        },
    )
