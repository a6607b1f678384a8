"""Activity: a worker state, available or not."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from taskrouter_emulator.models.base import Base, ResourceMixin


class Activity(ResourceMixin, Base):
    """A workspace activity such as Offline or Available."""

    __tablename__ = "activity"
    __table_args__ = (Index("ix_activity_workspace_sid", "workspace_sid", "id"),)

    workspace_sid: Mapped[str] = mapped_column(ForeignKey("workspace.sid", ondelete="CASCADE"))
    friendly_name: Mapped[str] = mapped_column(String(64))
    available: Mapped[bool] = mapped_column(Boolean)
