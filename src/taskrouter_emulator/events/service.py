"""Event queries: the time window of the list, its filters and fetching one event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from taskrouter_emulator import validation
from taskrouter_emulator.api.urls import child_path
from taskrouter_emulator.errors import InvalidParameter, ResourceNotFound
from taskrouter_emulator.models import Event, TaskChannel, Workspace
from taskrouter_emulator.sids import Prefix

DEFAULT_WINDOW_MINUTES = 15
START_DATE_TOO_OLD = 14241


def get(session: Session, *, workspace: Workspace, sid: str) -> Event:
    """Return an event of the workspace or raise 404."""
    where = child_path(workspace.sid, "Events", sid)
    validation.path_sid(sid, Prefix.EVENT, where)
    event = session.scalars(
        select(Event).where(Event.sid == sid, Event.workspace_sid == workspace.sid)
    ).one_or_none()
    if event is None:
        raise ResourceNotFound(where)
    return event


def resolve_window(
    *,
    now: datetime,
    retention_days: int,
    minutes: int | None = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    continuation: bool = False,
) -> tuple[datetime, datetime]:
    """Return the (start, end) of the list window, both inclusive.

    `Minutes` means the last N minutes and excludes `StartDate`/`EndDate`; without any of them the
    window is the last 15 minutes. `EndDate` defaults to now and `StartDate` to 15 minutes before
    `EndDate`. A start older than the retention period is error 14241, except on a continuation
    page (a `PageToken` is present): its bounds are the ones the first page resolved and checked.
    """
    retention = timedelta(days=retention_days)
    if minutes is not None:
        if start_date is not None or end_date is not None:
            raise InvalidParameter("Minutes cannot be combined with StartDate or EndDate")
        if minutes < 1:
            raise InvalidParameter("Minutes must be a positive number of minutes")
        # Nothing older than the retention period is kept, so a longer look-back is just that period.
        return now - timedelta(minutes=min(minutes, retention_days * 24 * 60)), now
    end = now if end_date is None else end_date
    start = start_date
    if start is None:
        try:
            start = end - timedelta(minutes=DEFAULT_WINDOW_MINUTES)
        except OverflowError:  # an EndDate in year 1: the retention check below rejects it
            start = end
    if start > end:
        raise InvalidParameter(f"StartDate {_iso(start)} must not be after EndDate {_iso(end)}")
    if start < now - retention and not continuation:
        raise InvalidParameter(
            f"StartDate {_iso(start)} is older than {retention_days} days",
            code=START_DATE_TOO_OLD,
        )
    return start, end


def list_query(
    *,
    workspace: Workspace,
    window_start: datetime,
    window_end: datetime,
    event_types: Sequence[str] | None = None,
    sid: str | None = None,
    task_sid: str | None = None,
    worker_sid: str | None = None,
    reservation_sid: str | None = None,
    task_queue_sid: str | None = None,
    workflow_sid: str | None = None,
    task_channel: str | None = None,
) -> Select[Event]:
    """Return the query behind the event list, newest first.

    `task_channel` is a TaskChannel SID or unique name; a unique name also matches events that only
    carry the SID of the workspace's channel of that name.
    """
    stmt = select(Event).where(
        Event.workspace_sid == workspace.sid,
        Event.event_date >= window_start,
        Event.event_date <= window_end,
    )
    if event_types:
        types = list(dict.fromkeys(event_types))
        stmt = stmt.where(
            Event.event_type == types[0] if len(types) == 1 else Event.event_type.in_(types)
        )
    for column, value in (
        (Event.sid, sid),
        (Event.task_sid, task_sid),
        (Event.worker_sid, worker_sid),
        (Event.reservation_sid, reservation_sid),
        (Event.task_queue_sid, task_queue_sid),
        (Event.workflow_sid, workflow_sid),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if task_channel is not None:
        named = select(TaskChannel.sid).where(
            TaskChannel.workspace_sid == workspace.sid, TaskChannel.unique_name == task_channel
        )
        stmt = stmt.where(
            or_(
                Event.task_channel_sid == task_channel,
                Event.task_channel_unique_name == task_channel,
                Event.task_channel_sid.in_(named.scalar_subquery()),
            )
        )
    return stmt.order_by(Event.event_date.desc(), Event.id.desc())


def exact_iso(moment: datetime) -> str:
    """Render a window bound for a page URL without losing its fractional seconds."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
