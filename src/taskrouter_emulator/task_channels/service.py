"""TaskChannel rules: CRUD by SID or unique name; each new channel gives every worker a WorkerChannel."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from taskrouter_emulator import validation
from taskrouter_emulator.api.urls import child_path
from taskrouter_emulator.clock import Clock
from taskrouter_emulator.errors import InvalidParameter, ResourceNotFound
from taskrouter_emulator.events import recorder
from taskrouter_emulator.models import Task, TaskChannel, Workspace
from taskrouter_emulator.sids import Prefix, is_sid, new_sid
from taskrouter_emulator.workers import channels as worker_channels

MAX_CHANNELS = 15


def path(channel: TaskChannel) -> str:
    """Return the path of a task channel."""
    return child_path(channel.workspace_sid, "TaskChannels", channel.sid)


def lookup(session: Session, *, workspace: Workspace, sid_or_name: str) -> TaskChannel | None:
    """Return the workspace's channel with this SID or unique name, if any."""
    column = (
        TaskChannel.sid if is_sid(sid_or_name, Prefix.TASK_CHANNEL) else TaskChannel.unique_name
    )
    return session.scalars(
        select(TaskChannel).where(TaskChannel.workspace_sid == workspace.sid, column == sid_or_name)
    ).one_or_none()


def get(session: Session, *, workspace: Workspace, sid_or_name: str) -> TaskChannel:
    """Return a channel by SID or unique name, or raise 404."""
    channel = lookup(session, workspace=workspace, sid_or_name=sid_or_name)
    if channel is None:
        raise ResourceNotFound(child_path(workspace.sid, "TaskChannels", sid_or_name))
    return channel


def list_query(*, workspace: Workspace) -> Select[TaskChannel]:
    """Return the ordered query behind the channel list."""
    return (
        select(TaskChannel)
        .where(TaskChannel.workspace_sid == workspace.sid)
        .order_by(TaskChannel.id)
    )


def create(
    session: Session,
    *,
    clock: Clock,
    workspace: Workspace,
    friendly_name: str | None,
    unique_name: str | None,
    channel_optimized_routing: bool | None = None,
    sid: str | None = None,
) -> TaskChannel:
    """Create a channel and a WorkerChannel for every existing worker."""
    name = validation.friendly_name(friendly_name)
    if unique_name is None:
        raise validation.missing("UniqueName")
    _check_unique_name(session, workspace, unique_name)
    count = (
        session.scalar(select(func.count()).where(TaskChannel.workspace_sid == workspace.sid)) or 0
    )
    if count >= MAX_CHANNELS:
        raise InvalidParameter(f"A Workspace may have at most {MAX_CHANNELS} TaskChannels")
    now = clock.now()
    channel = TaskChannel(
        sid=sid or new_sid(Prefix.TASK_CHANNEL),
        account_sid=workspace.account_sid,
        workspace_sid=workspace.sid,
        friendly_name=name,
        unique_name=unique_name,
        # Twilio's examples show both values; false unless asked for.
        channel_optimized_routing=bool(channel_optimized_routing),
        date_created=now,
        date_updated=now,
    )
    session.add(channel)
    session.flush()
    worker_channels.add_channel_to_workers(session, clock=clock, channel=channel)
    _record(
        session,
        clock,
        workspace,
        channel,
        "task-channel.created",
        f"TaskChannel {unique_name} created",
    )
    return channel


def update(
    session: Session,
    *,
    clock: Clock,
    workspace: Workspace,
    channel: TaskChannel,
    friendly_name: str | None = None,
    channel_optimized_routing: bool | None = None,
) -> TaskChannel:
    """Rename a channel or change its ChannelOptimizedRouting flag."""
    if friendly_name is not None:
        channel.friendly_name = validation.friendly_name(friendly_name) or channel.friendly_name
    if channel_optimized_routing is not None:
        channel.channel_optimized_routing = channel_optimized_routing
    channel.date_updated = clock.now()
    session.flush()
    _record(
        session,
        clock,
        workspace,
        channel,
        "task-channel.updated",
        f"TaskChannel {channel.unique_name} updated",
    )
    return channel


def delete_channel(
    session: Session, *, clock: Clock, workspace: Workspace, channel: TaskChannel
) -> None:
    """Delete a channel (its WorkerChannels go with it) unless active tasks use it."""
    active = session.scalar(
        select(func.count()).where(
            Task.task_channel_sid == channel.sid,
            Task.assignment_status.in_(("pending", "reserved", "assigned", "wrapping")),
        )
    )
    if active:
        raise InvalidParameter(f"TaskChannel {channel.unique_name} has {active} active Task(s) and cannot be deleted")
    _record(
        session,
        clock,
        workspace,
        channel,
        "task-channel.deleted",
        f"TaskChannel {channel.unique_name} deleted",
    )
    session.delete(channel)
    session.flush()


def _check_unique_name(session: Session, workspace: Workspace, unique_name: str) -> None:
    if not unique_name.strip() or len(unique_name) > 64:
        raise InvalidParameter("UniqueName must be between 1 and 64 characters long")
    # TaskChannel names appear in expressions (worker.channel.<name>...), where hyphens do not parse.
    if "-" in unique_name:
        raise InvalidParameter(f"UniqueName '{unique_name}' must not contain hyphens")
    if lookup(session, workspace=workspace, sid_or_name=unique_name) is not None:
        raise InvalidParameter(
            f"A TaskChannel with UniqueName '{unique_name}' already exists in this Workspace"
        )


def _record(
    session: Session,
    clock: Clock,
    workspace: Workspace,
    channel: TaskChannel,
    event_type: str,
    description: str,
) -> None:
    recorder.record(
        session,
        clock=clock,
        workspace=workspace,
        event_type=event_type,
        resource_type="taskchannel",
        resource_sid=channel.sid,
        resource_path=path(channel),
        description=description,
        data=recorder.task_channel_fields(channel),
    )
