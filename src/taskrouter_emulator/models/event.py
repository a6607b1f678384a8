"""Event: the append-only log of every state change in a workspace."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from taskrouter_emulator.db.types import UTCDateTime
from taskrouter_emulator.models.base import Base


class Event(Base):
    """One recorded event; the resource SIDs it concerns are columns so the list filters use indexes."""

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_workspace_date", "workspace_sid", "event_date"),
        # The inspector's live feed: "this workspace's events after id N", in id order.
        Index("ix_event_workspace_id", "workspace_sid", "id"),
        Index("ix_event_workspace_type_date", "workspace_sid", "event_type", "event_date"),
        Index("ix_event_task_sid", "task_sid"),
        Index("ix_event_worker_sid", "worker_sid"),
        Index("ix_event_reservation_sid", "reservation_sid"),
        Index("ix_event_task_queue_sid", "task_queue_sid"),
        Index("ix_event_workflow_sid", "workflow_sid"),
        # Statistics: per-type counts of one queue's/workflow's/worker's events in a window, and of a
        # workspace's events on one task channel, read from the index alone.
        Index("ix_event_queue_type_date", "task_queue_sid", "event_type", "event_date", "task_channel_sid"),
        Index("ix_event_workflow_type_date", "workflow_sid", "event_type", "event_date", "task_channel_sid"),
        Index("ix_event_worker_type_date", "worker_sid", "event_type", "event_date", "task_channel_sid"),
        Index("ix_event_workspace_channel_type_date", "workspace_sid", "task_channel_sid", "event_type", "event_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sid: Mapped[str] = mapped_column(String(34), unique=True)
    account_sid: Mapped[str] = mapped_column(String(34))
    # Not a foreign key: workspace.deleted outlives its workspace until the workspace's events are purged.
    workspace_sid: Mapped[str] = mapped_column(String(34))
    event_type: Mapped[str] = mapped_column(String(64))
    event_date: Mapped[datetime] = mapped_column(UTCDateTime())
    event_date_ms: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(Text)
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_sid: Mapped[str] = mapped_column(String(34))
    resource_url: Mapped[str] = mapped_column(Text)
    actor_type: Mapped[str] = mapped_column(String(32))
    actor_sid: Mapped[str] = mapped_column(String(34))
    actor_url: Mapped[str] = mapped_column(Text)
    source_ip_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    event_data: Mapped[str] = mapped_column(Text)
    task_sid: Mapped[str | None] = mapped_column(String(34), nullable=True)
    worker_sid: Mapped[str | None] = mapped_column(String(34), nullable=True)
    reservation_sid: Mapped[str | None] = mapped_column(String(34), nullable=True)
    task_queue_sid: Mapped[str | None] = mapped_column(String(34), nullable=True)
    workflow_sid: Mapped[str | None] = mapped_column(String(34), nullable=True)
    task_channel_sid: Mapped[str | None] = mapped_column(String(34), nullable=True)
    task_channel_unique_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
