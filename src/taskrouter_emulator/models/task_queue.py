"""TaskQueue: where tasks wait for workers matched by `target_workers`."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from taskrouter_emulator.models.base import Base, ResourceMixin


class TaskQueue(ResourceMixin, Base):
    """A task queue of a workspace."""

    __tablename__ = "task_queue"
    __table_args__ = (
        Index("ix_task_queue_workspace_sid", "workspace_sid", "id"),
        Index("ix_task_queue_workspace_indexed", "workspace_sid", "members_indexed"),
    )

    workspace_sid: Mapped[str] = mapped_column(ForeignKey("workspace.sid", ondelete="CASCADE"))
    friendly_name: Mapped[str] = mapped_column(String(256))
    target_workers: Mapped[str | None] = mapped_column(Text, nullable=True)
    task_order: Mapped[str] = mapped_column(String(4))
    max_reserved_workers: Mapped[int] = mapped_column(Integer)
    reservation_activity_sid: Mapped[str | None] = mapped_column(String(34), nullable=True)
    assignment_activity_sid: Mapped[str | None] = mapped_column(String(34), nullable=True)
    # True when `target_workers` reads only what changes with a worker's attributes and name, so the
    # members are kept in `task_queue_member`; False when it reads activity or channel figures
    # (evaluated per candidate while routing) or is empty.
    members_indexed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class TaskQueueMember(Base):
    """A worker selected by a queue's `target_workers`, kept up to date as workers and queues change."""

    __tablename__ = "task_queue_member"
    __table_args__ = (Index("ix_task_queue_member_worker", "worker_sid", "task_queue_sid"),)

    task_queue_sid: Mapped[str] = mapped_column(
        ForeignKey("task_queue.sid", ondelete="CASCADE"), primary_key=True
    )
    worker_sid: Mapped[str] = mapped_column(
        ForeignKey("worker.sid", ondelete="CASCADE"), primary_key=True
    )
    workspace_sid: Mapped[str] = mapped_column(ForeignKey("workspace.sid", ondelete="CASCADE"))
