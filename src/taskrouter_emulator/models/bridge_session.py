"""BridgeSession: an open event-bridge socket, shared by every emulator process through the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from taskrouter_emulator.db.types import UTCDateTime
from taskrouter_emulator.models.base import Base


class BridgeSession(Base):
    """One socket of a worker; `seen_at` is refreshed by the process holding it, so a crashed
    process's sessions stop counting once they go stale."""

    __tablename__ = "bridge_session"
    __table_args__ = (Index("ix_bridge_session_worker_sid", "worker_sid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sid: Mapped[str] = mapped_column(String(34), unique=True)
    account_sid: Mapped[str] = mapped_column(String(34))
    workspace_sid: Mapped[str] = mapped_column(String(34))
    worker_sid: Mapped[str] = mapped_column(String(34))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set by a newer socket of the worker opened with closeExistingSessions=true.
    close_requested: Mapped[bool] = mapped_column(Boolean, default=False)
