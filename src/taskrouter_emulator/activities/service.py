"""Activity rules: CRUD, `available` fixed at creation, deletion refused while in use."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from taskrouter_emulator import lookup, validation
from taskrouter_emulator.api.urls import child_path
from taskrouter_emulator.clock import Clock
from taskrouter_emulator.errors import InvalidParameter
from taskrouter_emulator.events import recorder
from taskrouter_emulator.models import Activity, TaskQueue, Worker, Workspace
from taskrouter_emulator.sids import Prefix, new_sid

MAX_ACTIVITIES = 100


def path(activity: Activity) -> str:
    """Return the path of an activity."""
    return child_path(activity.workspace_sid, "Activities", activity.sid)


def get(session: Session, *, workspace: Workspace, sid: str) -> Activity:
    """Return an activity of the workspace or raise 404."""
    return lookup.get_in_workspace(
        session,
        Activity,
        workspace_sid=workspace.sid,
        sid=sid,
        prefix=Prefix.ACTIVITY,
        segment="Activities",
    )


def names_of(session: Session, sids: set[str | None]) -> dict[str, str]:
    """Return the friendly names of the given activities, keyed by SID (None entries ignored)."""
    wanted = {sid for sid in sids if sid}
    if not wanted:
        return {}
    rows = session.execute(
        select(Activity.sid, Activity.friendly_name).where(Activity.sid.in_(wanted))
    )
    return {row[0]: row[1] for row in rows}


def find(session: Session, *, workspace: Workspace, sid: str, parameter: str) -> Activity:
    """Return the activity a parameter names, or raise 400 if it is not one of the workspace's."""
    activity = lookup.in_workspace(session, Activity, workspace_sid=workspace.sid, sid=sid)
    if activity is None:
        raise InvalidParameter(f"{parameter} {sid} is not an Activity of Workspace {workspace.sid}")
    return activity


def list_query(
    *, workspace: Workspace, friendly_name: str | None, available: bool | None
) -> Select[Activity]:
    """Return the ordered query behind the activity list."""
    stmt = select(Activity).where(Activity.workspace_sid == workspace.sid)
    if friendly_name is not None:
        stmt = stmt.where(Activity.friendly_name == friendly_name)
    if available is not None:
        stmt = stmt.where(Activity.available.is_(available))
    return stmt.order_by(Activity.id)


def create(
    session: Session,
    *,
    clock: Clock,
    workspace: Workspace,
    friendly_name: str | None,
    available: bool | None = None,
    sid: str | None = None,
) -> Activity:
    """Create an activity; it is unavailable unless `available` is true."""
    name = validation.friendly_name(friendly_name)
    count = session.scalar(select(func.count()).where(Activity.workspace_sid == workspace.sid)) or 0
    if count >= MAX_ACTIVITIES:
        raise InvalidParameter(f"A Workspace may have at most {MAX_ACTIVITIES} Activities")
    now = clock.now()
    activity = Activity(
        sid=sid or new_sid(Prefix.ACTIVITY),
        account_sid=workspace.account_sid,
        workspace_sid=workspace.sid,
        friendly_name=name,
        available=bool(available),
        date_created=now,
        date_updated=now,
    )
    session.add(activity)
    session.flush()
    _record(session, clock, workspace, activity, "activity.created", f"Activity {name} created")
    return activity


def update(
    session: Session,
    *,
    clock: Clock,
    workspace: Workspace,
    activity: Activity,
    friendly_name: str | None,
) -> Activity:
    """Rename an activity (`Available` cannot change after creation and is ignored)."""
    if friendly_name is not None:
        activity.friendly_name = validation.friendly_name(friendly_name) or activity.friendly_name
    activity.date_updated = clock.now()
    session.flush()
    _record(
        session,
        clock,
        workspace,
        activity,
        "activity.updated",
        f"Activity {activity.friendly_name} updated",
    )
    return activity


def delete_activity(
    session: Session, *, clock: Clock, workspace: Workspace, activity: Activity
) -> None:
    """Delete an activity unless the workspace, a queue or a worker uses it."""
    if activity.sid in (workspace.default_activity_sid, workspace.timeout_activity_sid):
        raise InvalidParameter(
            f"Activity {activity.sid} is in use as the Workspace's default or timeout Activity and cannot be deleted"
        )
    workers = session.scalar(select(func.count()).where(Worker.activity_sid == activity.sid)) or 0
    if workers:
        raise InvalidParameter(
            f"Activity {activity.sid} is in use by {workers} Worker(s) and cannot be deleted"
        )
    queues = session.scalar(
        select(func.count()).where(
            TaskQueue.workspace_sid == workspace.sid,
            (TaskQueue.reservation_activity_sid == activity.sid)
            | (TaskQueue.assignment_activity_sid == activity.sid),
        )
    )
    if queues:
        raise InvalidParameter(
            f"Activity {activity.sid} is in use by a TaskQueue and cannot be deleted"
        )
    _record(
        session,
        clock,
        workspace,
        activity,
        "activity.deleted",
        f"Activity {activity.friendly_name} deleted",
    )
    session.delete(activity)
    session.flush()


def _record(
    session: Session,
    clock: Clock,
    workspace: Workspace,
    activity: Activity,
    event_type: str,
    description: str,
) -> None:
    recorder.record(
        session,
        clock=clock,
        workspace=workspace,
        event_type=event_type,
        resource_type="activity",
        resource_sid=activity.sid,
        resource_path=path(activity),
        description=description,
        data=recorder.activity_fields(activity),
    )
