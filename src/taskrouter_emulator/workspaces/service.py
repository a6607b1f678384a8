"""Workspace rules: creation with its default contents, updates, the single-tasking rule, deletion."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from taskrouter_emulator import validation
from taskrouter_emulator.activities import service as activity_service
from taskrouter_emulator.api.urls import workspace_path
from taskrouter_emulator.clock import Clock
from taskrouter_emulator.errors import InvalidParameter, ResourceNotFound
from taskrouter_emulator.events import counts, recorder
from taskrouter_emulator.models import AccountClock, Activity, Event, Worker, Workspace
from taskrouter_emulator.sids import Prefix, new_sid
from taskrouter_emulator.workspaces import templates

TEMPLATES = ("NONE", "FIFO")
QUEUE_ORDERS = ("FIFO", "LIFO")
MAX_WORKSPACES_PER_ACCOUNT = 5000


def get(session: Session, *, account_sid: str, sid: str, for_update: bool = False) -> Workspace:
    """Return a workspace of the account, or raise 404 (also for another account's workspace)."""
    stmt = _workspace_query(account_sid, sid)
    if for_update:
        stmt = stmt.with_for_update()
    workspace = session.scalars(stmt).one_or_none()
    if workspace is None:
        raise ResourceNotFound(workspace_path(sid))
    return workspace


def get_with_clock(
    session: Session, *, account_sid: str, sid: str
) -> tuple[Workspace, datetime | None, int | None]:
    """Return a workspace of the account (or raise 404) with its account clock's `frozen_at` and
    `offset_us` (None, None when the account has no stored clock), in one query."""
    stmt = _workspace_query(account_sid, sid).outerjoin(
        AccountClock, AccountClock.account_sid == Workspace.account_sid
    )
    row = session.execute(
        stmt.add_columns(AccountClock.frozen_at, AccountClock.offset_us)
    ).one_or_none()
    if row is None:
        raise ResourceNotFound(workspace_path(sid))
    return row[0], row[1], row[2]


def _workspace_query(account_sid: str, sid: str) -> Select[Workspace]:
    validation.path_sid(sid, Prefix.WORKSPACE, workspace_path(sid))
    return select(Workspace).where(Workspace.sid == sid, Workspace.account_sid == account_sid)


def list_query(*, account_sid: str, friendly_name: str | None) -> Select[Workspace]:
    """Return the ordered query behind the workspace list."""
    stmt = select(Workspace).where(Workspace.account_sid == account_sid)
    if friendly_name is not None:
        stmt = stmt.where(Workspace.friendly_name == friendly_name)
    return stmt.order_by(Workspace.id)


def activity_names(session: Session, workspace: Workspace) -> dict[str, str]:
    """Return the names of the workspace's default and timeout activities, keyed by SID."""
    return activity_service.names_of(
        session, {workspace.default_activity_sid, workspace.timeout_activity_sid}
    )


def create(
    session: Session,
    *,
    clock: Clock,
    account_sid: str,
    friendly_name: str | None,
    event_callback_url: str | None = None,
    events_filter: str | None = None,
    multi_task_enabled: bool | None = None,
    template: str | None = None,
    prioritize_queue_order: str | None = None,
    sid: str | None = None,
) -> Workspace:
    """Create a workspace with its default activities and channels (and the FIFO template's queue and workflow)."""
    name = validation.friendly_name(friendly_name)
    template_name = validation.one_of(template, TEMPLATES, name="Template") or "NONE"
    order = (
        validation.one_of(prioritize_queue_order, QUEUE_ORDERS, name="PrioritizeQueueOrder")
        or "FIFO"
    )
    validation.callback_url(event_callback_url, name="EventCallbackUrl")
    count = session.scalar(select(func.count()).where(Workspace.account_sid == account_sid)) or 0
    if count >= MAX_WORKSPACES_PER_ACCOUNT:
        raise InvalidParameter(
            f"An account may have at most {MAX_WORKSPACES_PER_ACCOUNT} workspaces"
        )
    now = clock.now()
    workspace = Workspace(
        sid=sid or new_sid(Prefix.WORKSPACE),
        account_sid=account_sid,
        friendly_name=name,
        event_callback_url=event_callback_url or None,
        events_filter=events_filter or None,
        multi_task_enabled=True if multi_task_enabled is None else multi_task_enabled,
        prioritize_queue_order=order,
        date_created=now,
        date_updated=now,
    )
    session.add(workspace)
    session.flush()
    _record(session, clock, workspace, "workspace.created", f"Workspace {name} created")
    templates.populate(session, clock=clock, workspace=workspace, template=template_name)
    return workspace


def update(
    session: Session,
    *,
    clock: Clock,
    workspace: Workspace,
    friendly_name: str | None = None,
    event_callback_url: str | None = None,
    events_filter: str | None = None,
    multi_task_enabled: bool | None = None,
    default_activity_sid: str | None = None,
    timeout_activity_sid: str | None = None,
    prioritize_queue_order: str | None = None,
) -> Workspace:
    """Apply the given changes; parameters left as None are unchanged."""
    if friendly_name is not None:
        workspace.friendly_name = validation.friendly_name(friendly_name) or workspace.friendly_name
    if event_callback_url is not None:
        validation.callback_url(event_callback_url, name="EventCallbackUrl")
        workspace.event_callback_url = event_callback_url or None
    if events_filter is not None:
        workspace.events_filter = events_filter or None
    if prioritize_queue_order is not None:
        workspace.prioritize_queue_order = (
            validation.one_of(prioritize_queue_order, QUEUE_ORDERS, name="PrioritizeQueueOrder")
            or "FIFO"
        )
    if default_activity_sid is not None:
        workspace.default_activity_sid = _own_activity(
            session, workspace, default_activity_sid, "DefaultActivitySid"
        )
    if timeout_activity_sid is not None:
        workspace.timeout_activity_sid = _own_activity(
            session, workspace, timeout_activity_sid, "TimeoutActivitySid"
        )
    if multi_task_enabled is not None and multi_task_enabled != workspace.multi_task_enabled:
        if not multi_task_enabled:
            _check_can_become_single_tasking(session, workspace)
        workspace.multi_task_enabled = multi_task_enabled
    workspace.date_updated = clock.now()
    session.flush()
    _record(
        session,
        clock,
        workspace,
        "workspace.updated",
        f"Workspace {workspace.friendly_name} updated",
    )
    return workspace


def delete_workspace(session: Session, *, clock: Clock, workspace: Workspace) -> None:
    """Delete a workspace and everything inside it."""
    sid = workspace.sid
    # Workers reference activities without a cascade, so remove them before the workspace cascade runs.
    session.execute(delete(Worker).where(Worker.workspace_sid == sid))
    session.execute(delete(Event).where(Event.workspace_sid == sid))
    counts.delete_workspace_counts(session, workspace_sid=sid)
    # Kept after the purge: this event outlives the workspace so its callback can still be delivered.
    _record(
        session,
        clock,
        workspace,
        "workspace.deleted",
        f"Workspace {workspace.friendly_name} deleted",
    )
    session.delete(workspace)
    session.flush()


def _own_activity(session: Session, workspace: Workspace, sid: str, name: str) -> str:
    activity = session.scalars(
        select(Activity).where(Activity.sid == sid, Activity.workspace_sid == workspace.sid)
    ).one_or_none()
    if activity is None:
        raise InvalidParameter(f"{name} {sid} is not an Activity of Workspace {workspace.sid}")
    return activity.sid


def _check_can_become_single_tasking(session: Session, workspace: Workspace) -> None:
    # Multitasking is the only mode Twilio offers new workspaces; an account may switch one back only
    # when it already runs a legacy single-tasking workspace.
    others = session.scalar(
        select(func.count()).where(
            Workspace.account_sid == workspace.account_sid,
            Workspace.sid != workspace.sid,
            Workspace.multi_task_enabled.is_(False),
        )
    )
    if not others:
        raise InvalidParameter(
            f"Workspace {workspace.sid} is multi-tasking and cannot be switched to single-tasking: "
            "the account has no other single-tasking workspace"
        )


def _record(
    session: Session, clock: Clock, workspace: Workspace, event_type: str, description: str
) -> None:
    recorder.record(
        session,
        clock=clock,
        workspace=workspace,
        event_type=event_type,
        resource_type="workspace",
        resource_sid=workspace.sid,
        resource_path=workspace_path(workspace.sid),
        description=description,
        data=recorder.workspace_fields(workspace),
    )


def in_use_activity_sids(workspace: Workspace) -> Sequence[str]:
    """Return the activity SIDs the workspace itself points at (default and timeout)."""
    return [s for s in (workspace.default_activity_sid, workspace.timeout_activity_sid) if s]
