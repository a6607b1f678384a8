"""Task and Reservation: the work being routed and the offers made to workers.

Due times live on the rows they belong to (`expires_at`, `step_timeout_at`, `delete_at`,
`Reservation.timeout_at`), so the scheduler finds overdue work with an indexed query and a restart
loses no timer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from taskrouter_emulator.db.types import UTCDateTime
from taskrouter_emulator.models.base import Base, ResourceMixin

# The rows whose timers can fall due. `scheduler/due_times` recomputes a workspace's next due time
# with exactly these conditions, so it walks these partial indexes (a few rows) whatever the
# planner's statistics say or a prepared statement's generic plan picks; with the plain indexes
# alone, PostgreSQL could sort every waiting task of the workspace (22 ms at 100,000).
PENDING_TIMEOUT = "timeout_at IS NOT NULL AND reservation_status = 'pending'"
WAITING_STEP_TIMEOUT = (
    "step_timeout_at IS NOT NULL AND assignment_status IN ('pending', 'reserved')"
)
LIVE_EXPIRY = (
    "expires_at IS NOT NULL"
    " AND assignment_status IN ('pending', 'reserved', 'assigned', 'wrapping')"
)


def _partial(name: str, columns: tuple[str, ...], predicate: str) -> Index:
    """A partial index, on both backends."""
    where = text(predicate)
    return Index(name, *columns, postgresql_where=where, sqlite_where=where)


class Task(ResourceMixin, Base):
    """A task of a workspace, routed by its workflow (or a routing target)."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_workspace_status", "workspace_sid", "assignment_status"),
        Index("ix_task_workspace_id", "workspace_sid", "id"),
        Index("ix_task_queue_status", "task_queue_sid", "assignment_status"),
        # Due-time lookups per workspace (scheduler/due_times.py).
        Index("ix_task_workspace_expires_at", "workspace_sid", "expires_at"),
        Index("ix_task_workspace_step_timeout_at", "workspace_sid", "step_timeout_at"),
        Index("ix_task_workspace_delete_at", "workspace_sid", "delete_at"),
        # Tasks addressed to a worker (routing a freed worker reads them).
        Index("ix_task_routing_target", "routing_target", "assignment_status"),
        _partial(
            "ix_task_waiting_step_timeout",
            ("workspace_sid", "step_timeout_at"),
            WAITING_STEP_TIMEOUT,
        ),
        _partial("ix_task_live_expiry", ("workspace_sid", "expires_at"), LIVE_EXPIRY),
    )

    workspace_sid: Mapped[str] = mapped_column(ForeignKey("workspace.sid", ondelete="CASCADE"))
    attributes: Mapped[str] = mapped_column(Text)
    addons: Mapped[str] = mapped_column(Text, default="{}")
    assignment_status: Mapped[str] = mapped_column(String(16))
    # The priority in force (a workflow target's `priority` overrides the requested one).
    priority: Mapped[int] = mapped_column(Integer)
    requested_priority: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    timeout: Mapped[int] = mapped_column(Integer)
    task_channel_sid: Mapped[str] = mapped_column(String(34))
    workflow_sid: Mapped[str | None] = mapped_column(String(34), nullable=True)
    task_queue_sid: Mapped[str | None] = mapped_column(String(34), nullable=True)
    task_queue_entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    virtual_start_time: Mapped[datetime] = mapped_column(UTCDateTime())
    routing_target: Mapped[str | None] = mapped_column(String(34), nullable=True)
    ignore_capacity: Mapped[bool] = mapped_column(Boolean, default=False)
    # Position in the workflow: the matched filter (-1 = default_filter) and the current target.
    filter_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    target_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Timers: TTL while not assigned, the current step's deadline, retention after a final state.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    step_timeout_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delete_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # pending -> reserved transitions so far (Twilio cancels the task at 1,000).
    assignment_count: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=0)


class Reservation(ResourceMixin, Base):
    """An offer of a task to one worker."""

    __tablename__ = "reservation"
    __table_args__ = (
        Index("ix_reservation_task_sid", "task_sid", "id"),
        Index("ix_reservation_worker_status", "worker_sid", "reservation_status"),
        Index("ix_reservation_workspace_status", "workspace_sid", "reservation_status"),
        Index("ix_reservation_workspace_timeout_at", "workspace_sid", "timeout_at"),
        _partial(
            "ix_reservation_pending_timeout", ("workspace_sid", "timeout_at"), PENDING_TIMEOUT
        ),
    )

    workspace_sid: Mapped[str] = mapped_column(ForeignKey("workspace.sid", ondelete="CASCADE"))
    task_sid: Mapped[str] = mapped_column(ForeignKey("task.sid", ondelete="CASCADE"))
    worker_sid: Mapped[str] = mapped_column(ForeignKey("worker.sid", ondelete="CASCADE"))
    reservation_status: Mapped[str] = mapped_column(String(16))
    task_channel_sid: Mapped[str] = mapped_column(String(34))
    task_queue_sid: Mapped[str | None] = mapped_column(String(34), nullable=True)
    workflow_sid: Mapped[str | None] = mapped_column(String(34), nullable=True)
    # Due time of a pending reservation (the workflow's task_reservation_timeout).
    timeout_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The last instruction applied (accept, dequeue, conference, ...) and its parameters as JSON.
    instruction: Mapped[str | None] = mapped_column(String(16), nullable=True)
    instruction_params: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
