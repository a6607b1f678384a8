"""WorkerChannels: one per (worker, task channel), created automatically, never through the API.

Also the live per-channel figures (`channel_states`) that the API, expressions and routing share.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from taskrouter_emulator.api.urls import child_path
from taskrouter_emulator.clock import Clock
from taskrouter_emulator.errors import InvalidParameter, ResourceNotFound
from taskrouter_emulator.lifecycle.workers import activity_of, record
from taskrouter_emulator.models import (
    Reservation,
    TaskChannel,
    Worker,
    WorkerChannel,
    Workspace,
)
from taskrouter_emulator.sids import Prefix, is_sid, new_sid
from taskrouter_emulator.workers.context import ChannelState

DEFAULT_CAPACITY = 1
# Worker SIDs per `IN (...)` list, well below every backend's bound-parameter limit.
_CHUNK = 5000


def _new(worker_sid: str, channel: TaskChannel, clock: Clock) -> WorkerChannel:
    now = clock.now()
    return WorkerChannel(
        sid=new_sid(Prefix.WORKER_CHANNEL),
        account_sid=channel.account_sid,
        workspace_sid=channel.workspace_sid,
        worker_sid=worker_sid,
        task_channel_sid=channel.sid,
        configured_capacity=DEFAULT_CAPACITY,
        available=True,
        date_created=now,
        date_updated=now,
    )


def add_channel_to_workers(session: Session, *, clock: Clock, channel: TaskChannel) -> None:
    """Give every worker of the channel's workspace a WorkerChannel for a new task channel."""
    worker_sids = session.scalars(
        select(Worker.sid).where(Worker.workspace_sid == channel.workspace_sid)
    )
    session.add_all([_new(sid, channel, clock) for sid in worker_sids])


def add_worker_to_channels(session: Session, *, clock: Clock, worker: Worker) -> None:
    """Give a new worker one WorkerChannel per task channel of its workspace."""
    channels = session.scalars(
        select(TaskChannel).where(TaskChannel.workspace_sid == worker.workspace_sid)
    )
    session.add_all([_new(worker.sid, channel, clock) for channel in channels])


# Reservation statuses that hold a slot of the worker's capacity, and those that count as assigned tasks.
CONSUMING_STATUSES = ("pending", "accepted", "wrapping")
ASSIGNED_STATUSES = ("accepted", "wrapping")
MAX_CAPACITY = 50


def capacity_percentage(*, capacity: int, consumed: int, available: bool) -> int:
    """Return the share of the channel's capacity still free (0 when unavailable or capacity 0)."""
    if capacity <= 0 or not available:
        return 0
    return max(0, (100 * (capacity - consumed)) // capacity)


def channel_states(
    session: Session, *, worker_sids: Collection[str]
) -> dict[tuple[str, str], ChannelState]:
    """Return the live figures of the workers' channels, keyed by (worker_sid, task_channel_sid).

    One query: the WorkerChannels joined to the grouped counts of their open reservations.
    """
    states: dict[tuple[str, str], ChannelState] = {}
    sids = list(dict.fromkeys(worker_sids))
    for start in range(0, len(sids), _CHUNK):
        chunk = sids[start : start + _CHUNK]
        counts = (
            select(
                Reservation.worker_sid.label("worker_sid"),
                Reservation.task_channel_sid.label("task_channel_sid"),
                func.sum(
                    case((Reservation.reservation_status.in_(ASSIGNED_STATUSES), 1), else_=0)
                ).label("assigned"),
                func.count().label("consumed"),
            )
            .where(
                Reservation.worker_sid.in_(chunk),
                Reservation.reservation_status.in_(CONSUMING_STATUSES),
            )
            .group_by(Reservation.worker_sid, Reservation.task_channel_sid)
            .subquery()
        )
        rows = session.execute(
            select(
                WorkerChannel.worker_sid,
                WorkerChannel.task_channel_sid,
                WorkerChannel.configured_capacity,
                WorkerChannel.available,
                func.coalesce(counts.c.assigned, 0),
                func.coalesce(counts.c.consumed, 0),
            )
            .outerjoin(
                counts,
                (counts.c.worker_sid == WorkerChannel.worker_sid)
                & (counts.c.task_channel_sid == WorkerChannel.task_channel_sid),
            )
            .where(WorkerChannel.worker_sid.in_(chunk))
        )
        for worker_sid, channel_sid, capacity, available, assigned, consumed in rows:
            states[(worker_sid, channel_sid)] = ChannelState(
                configured_capacity=capacity,
                assigned_tasks=int(assigned),
                available=available,
                available_capacity_percentage=capacity_percentage(
                    capacity=capacity, consumed=int(consumed), available=available
                ),
            )
    return states


def state_of(session: Session, channel: WorkerChannel) -> ChannelState:
    """Return the live figures of one worker channel."""
    states = channel_states(session, worker_sids=[channel.worker_sid])
    return states.get(
        (channel.worker_sid, channel.task_channel_sid),
        ChannelState(
            configured_capacity=channel.configured_capacity,
            assigned_tasks=0,
            available=channel.available,
            available_capacity_percentage=capacity_percentage(
                capacity=channel.configured_capacity, consumed=0, available=channel.available
            ),
        ),
    )


def path(channel: WorkerChannel) -> str:
    """Return the path of a worker channel."""
    return child_path(channel.workspace_sid, "Workers", channel.worker_sid, "Channels", channel.sid)


def list_query(*, worker: Worker) -> Select[WorkerChannel]:
    """Return the ordered query behind a worker's channel list."""
    return (
        select(WorkerChannel)
        .where(WorkerChannel.worker_sid == worker.sid)
        .order_by(WorkerChannel.id)
    )


def unique_names(session: Session, *, workspace_sid: str) -> dict[str, str]:
    """Return the unique names of the workspace's task channels, keyed by SID."""
    rows = session.execute(
        select(TaskChannel.sid, TaskChannel.unique_name).where(
            TaskChannel.workspace_sid == workspace_sid
        )
    )
    return {row[0]: row[1] for row in rows}


def get(
    session: Session, *, worker: Worker, sid_or_name: str, for_update: bool = False
) -> tuple[WorkerChannel, TaskChannel]:
    """Return a worker's channel (by WC SID or task channel unique name) and its task channel, or 404."""
    stmt = (
        select(WorkerChannel, TaskChannel)
        .join(TaskChannel, TaskChannel.sid == WorkerChannel.task_channel_sid)
        .where(WorkerChannel.worker_sid == worker.sid)
    )
    if is_sid(sid_or_name, Prefix.WORKER_CHANNEL):
        stmt = stmt.where(WorkerChannel.sid == sid_or_name)
    else:
        stmt = stmt.where(TaskChannel.unique_name == sid_or_name)
    if for_update:
        stmt = stmt.with_for_update(of=WorkerChannel)
    row = session.execute(stmt).one_or_none()
    if row is None:
        raise ResourceNotFound(
            child_path(worker.workspace_sid, "Workers", worker.sid, "Channels", sid_or_name)
        )
    return row[0], row[1]


def update(
    session: Session,
    *,
    clock: Clock,
    workspace: Workspace,
    worker: Worker,
    channel: WorkerChannel,
    task_channel: TaskChannel,
    capacity: int | None = None,
    available: bool | None = None,
) -> WorkerChannel:
    """Change a worker channel's capacity (0-50) and/or availability, recording what changed."""
    if capacity is not None and not 0 <= capacity <= MAX_CAPACITY:
        raise InvalidParameter(f"Capacity must be between 0 and {MAX_CAPACITY} (got {capacity})")
    previous_capacity = channel.configured_capacity
    capacity_changed = capacity is not None and capacity != channel.configured_capacity
    availability_changed = available is not None and available != channel.available
    if capacity is not None:
        channel.configured_capacity = capacity
    if available is not None:
        channel.available = available
    channel.date_updated = clock.now()
    session.flush()
    if not (capacity_changed or availability_changed):
        return channel
    activity = activity_of(session, worker)
    state = state_of(session, channel)
    extra = {
        "worker_channel_available": channel.available,
        "worker_channel_available_capacity": state.available_capacity_percentage,
        "worker_channel_previous_capacity": previous_capacity,
        "task_channel_sid": task_channel.sid,
        "task_channel_unique_name": task_channel.unique_name,
        "worker_channel_task_count": state.assigned_tasks,
    }
    changes = []
    if capacity_changed:
        changes.append(
            (
                "worker.capacity.update",
                f"Worker {worker.friendly_name} capacity on channel {task_channel.unique_name} "
                f"updated to {channel.configured_capacity}",
            )
        )
    if availability_changed:
        state_text = "available" if channel.available else "unavailable"
        changes.append(
            (
                "worker.channel.availability.update",
                f"Worker {worker.friendly_name} channel {task_channel.unique_name} "
                f"updated to {state_text}",
            )
        )
    for event_type, description in changes:
        record(session, clock, workspace, worker, activity, event_type, description, extra)
    return channel
