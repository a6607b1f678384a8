"""Worker and its per-channel capacity (WorkerChannel)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from taskrouter_emulator.db.types import UTCDateTime
from taskrouter_emulator.models.base import Base, ResourceMixin


class Worker(ResourceMixin, Base):
    """A worker with JSON attributes and a current activity."""

    __tablename__ = "worker"
    __table_args__ = (
        # Friendly names are case-insensitively unique per workspace.
        UniqueConstraint("workspace_sid", "friendly_name_key", name="uq_worker_workspace_name"),
        Index("ix_worker_workspace_sid", "workspace_sid", "id"),
        Index("ix_worker_activity_sid", "activity_sid"),
        # Longest-idle order: routing reads workers in this order, a page at a time.
        Index("ix_worker_workspace_idle", "workspace_sid", "idle_since", "id"),
    )

    workspace_sid: Mapped[str] = mapped_column(ForeignKey("workspace.sid", ondelete="CASCADE"))
    friendly_name: Mapped[str] = mapped_column(String(64))
    friendly_name_key: Mapped[str] = mapped_column(String(64))
    attributes: Mapped[str] = mapped_column(Text)
    activity_sid: Mapped[str] = mapped_column(ForeignKey("activity.sid"))
    date_status_changed: Mapped[datetime] = mapped_column(UTCDateTime())
    # Start of the current idle period: longest-idle-first ordering sorts on it.
    idle_since: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=0)


class WorkerChannel(ResourceMixin, Base):
    """A worker's capacity and availability on one task channel."""

    __tablename__ = "worker_channel"
    __table_args__ = (
        UniqueConstraint("worker_sid", "task_channel_sid", name="uq_worker_channel_worker_channel"),
        Index("ix_worker_channel_task_channel_sid", "task_channel_sid"),
        # Reset and snapshots select a workspace's rows by workspace.
        Index("ix_worker_channel_workspace_sid", "workspace_sid"),
    )

    workspace_sid: Mapped[str] = mapped_column(ForeignKey("workspace.sid", ondelete="CASCADE"))
    worker_sid: Mapped[str] = mapped_column(ForeignKey("worker.sid", ondelete="CASCADE"))
    task_channel_sid: Mapped[str] = mapped_column(
        ForeignKey("task_channel.sid", ondelete="CASCADE")
    )
    configured_capacity: Mapped[int] = mapped_column(Integer)
    available: Mapped[bool] = mapped_column(Boolean)
