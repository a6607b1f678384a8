"""Workspace: the container of every other TaskRouter resource."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from taskrouter_emulator.db.types import UTCDateTime
from taskrouter_emulator.models.base import Base, ResourceMixin


def new_config_version() -> str:
    """Return a configuration version never used before (random, so a rolled-back one is never reused)."""
    return uuid.uuid4().hex


class Workspace(ResourceMixin, Base):
    """A TaskRouter workspace."""

    __tablename__ = "workspace"
    __table_args__ = (
        Index("ix_workspace_account_sid", "account_sid", "id"),
        Index("ix_workspace_next_due_at", "next_due_at"),
    )

    friendly_name: Mapped[str] = mapped_column(String(64))
    event_callback_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    events_filter: Mapped[str | None] = mapped_column(Text, nullable=True)
    multi_task_enabled: Mapped[bool] = mapped_column(Boolean)
    prioritize_queue_order: Mapped[str] = mapped_column(String(4))
    default_activity_sid: Mapped[str | None] = mapped_column(String(34), nullable=True)
    timeout_activity_sid: Mapped[str | None] = mapped_column(String(34), nullable=True)
    # The earliest due time of the workspace's timers (see scheduler/due_times.py).
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Changes whenever one of the workspace's queues, workflows, activities or task channels does
    # (`routing.cache`): what routing reads of them is cached per version across requests/processes.
    config_version: Mapped[str | None] = mapped_column(
        String(32), nullable=True, default=new_config_version
    )
