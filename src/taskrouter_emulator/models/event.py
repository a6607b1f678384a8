"""Event: the append-only log of every state change in a workspace."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from taskrouter_emulator.db.types import UTCDateTime
from taskrouter_emulator.models.base import Base

# Key columns of the partial indexes that hold the aggregated values (SQLite has no INCLUDE):
# the window comes first, then everything a scope filters or groups on, then the values.
WAIT_INDEX_COLUMNS = (
    "workspace_sid",
    "event_date",
    "task_queue_sid",
    "workflow_sid",
    "task_channel_sid",
    "event_date_ms",
    "task_age",
    "task_queue_entered_date",
)
STAY_INDEX_COLUMNS = (
    "workspace_sid",
    "event_date",
    "worker_sid",
    "event_date_ms",
    "worker_previous_activity_sid",
    "worker_time_in_previous_activity_ms",
)


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
        # Account reset and snapshots find an account's events, those of deleted workspaces included.
        Index("ix_event_account_sid", "account_sid"),
        # Statistics: the events whose values are aggregated, with those values (the extracted
        # columns below), so the waits and activity stays of a window are read from an index alone.
        Index(
            "ix_event_accepted_waits",
            *WAIT_INDEX_COLUMNS,
            postgresql_where=text("event_type = 'reservation.accepted'"),
            sqlite_where=text("event_type = 'reservation.accepted'"),
        ),
        Index(
            "ix_event_canceled_waits",
            *WAIT_INDEX_COLUMNS,
            postgresql_where=text("event_type = 'task.canceled'"),
            sqlite_where=text("event_type = 'task.canceled'"),
        ),
        Index(
            "ix_event_activity_stays",
            *STAY_INDEX_COLUMNS,
            postgresql_where=text("event_type = 'worker.activity.update'"),
            sqlite_where=text("event_type = 'worker.activity.update'"),
        ),
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
    # `event_data` values the statistics aggregate, typed, so no JSON is parsed per row.
    task_age: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    task_queue_entered_date: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    worker_previous_activity_sid: Mapped[str | None] = mapped_column(String(34), nullable=True)
    worker_time_in_previous_activity_ms: Mapped[int | None] = mapped_column(
        BigInteger, nullable=True
    )


class EventCount(Base):
    """How many events of one type (and task channel) a scope recorded in one 10-second bucket.

    Maintained in the transaction that records the events (`events.counts`), so the cumulative
    counters of a long window add up bucket rows instead of counting every event; only the
    partial buckets at the window's edges are counted from the events themselves.
    """

    __tablename__ = "event_count"
    __table_args__ = (Index("ix_event_count_workspace_bucket", "workspace_sid", "bucket"),)

    # The workspace itself, one of its task queues or one of its workflows (the SID prefix tells).
    scope_sid: Mapped[str] = mapped_column(String(34), primary_key=True)
    # Epoch seconds // 10 of the events' `event_date`.
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    # "" for events without a task channel.
    task_channel_sid: Mapped[str] = mapped_column(String(34), primary_key=True)
    workspace_sid: Mapped[str] = mapped_column(String(34))
    count: Mapped[int] = mapped_column(Integer)
