"""Workflow: routing rules (filters and targets) stored as a JSON document."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from taskrouter_emulator.models.base import Base, ResourceMixin


class Workflow(ResourceMixin, Base):
    """A workflow of a workspace."""

    __tablename__ = "workflow"
    __table_args__ = (Index("ix_workflow_workspace_sid", "workspace_sid", "id"),)

    workspace_sid: Mapped[str] = mapped_column(ForeignKey("workspace.sid", ondelete="CASCADE"))
    friendly_name: Mapped[str] = mapped_column(String(256))
    configuration: Mapped[str] = mapped_column(Text)
    assignment_callback_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    fallback_assignment_callback_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    task_reservation_timeout: Mapped[int] = mapped_column(Integer)
