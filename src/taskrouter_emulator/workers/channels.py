"""WorkerChannels: one per (worker, task channel), created automatically, never through the API."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskrouter_emulator.clock import Clock
from taskrouter_emulator.models import TaskChannel, Worker, WorkerChannel
from taskrouter_emulator.sids import Prefix, new_sid

DEFAULT_CAPACITY = 1


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
