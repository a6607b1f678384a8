"""TaskChannel: the kind of work a task is (voice, chat, ...)."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from taskrouter_emulator.models.base import Base, ResourceMixin


class TaskChannel(ResourceMixin, Base):
    """A task channel of a workspace, addressable by SID or unique name."""

    __tablename__ = "task_channel"
    __table_args__ = (
        UniqueConstraint(
            "workspace_sid", "unique_name", name="uq_task_channel_workspace_unique_name"
        ),
        Index("ix_task_channel_workspace_sid", "workspace_sid", "id"),
    )

    workspace_sid: Mapped[str] = mapped_column(ForeignKey("workspace.sid", ondelete="CASCADE"))
    friendly_name: Mapped[str] = mapped_column(String(64))
    unique_name: Mapped[str] = mapped_column(String(64))
    channel_optimized_routing: Mapped[bool] = mapped_column(Boolean)
