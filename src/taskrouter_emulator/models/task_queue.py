"""TaskQueue: where tasks wait for workers matched by `target_workers`."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from taskrouter_emulator.models.base import Base, ResourceMixin


class TaskQueue(ResourceMixin, Base):
    """A task queue of a workspace."""

    __tablename__ = "task_queue"
    __table_args__ = (Index("ix_task_queue_workspace_sid", "workspace_sid", "id"),)

    workspace_sid: Mapped[str] = mapped_column(ForeignKey("workspace.sid", ondelete="CASCADE"))
    friendly_name: Mapped[str] = mapped_column(String(256))
    target_workers: Mapped[str | None] = mapped_column(Text, nullable=True)
    task_order: Mapped[str] = mapped_column(String(4))
    max_reserved_workers: Mapped[int] = mapped_column(Integer)
    reservation_activity_sid: Mapped[str | None] = mapped_column(String(34), nullable=True)
    assignment_activity_sid: Mapped[str | None] = mapped_column(String(34), nullable=True)
