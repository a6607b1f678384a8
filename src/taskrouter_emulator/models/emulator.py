"""Emulator control state (not TaskRouter resources): injected faults and request-rate windows.

Both live in the database so every process serving the same database applies the same faults and
shares one rate budget per workspace.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from taskrouter_emulator.db.types import UTCDateTime
from taskrouter_emulator.models.base import Base


class Fault(Base):
    """A fault injected into the API answers of one account."""

    __tablename__ = "emulator_fault"
    __table_args__ = (Index("ix_emulator_fault_account_sid", "account_sid", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_sid: Mapped[str] = mapped_column(String(34))
    # What it applies to: Twilio's operationId (e.g. CreateTask) and/or a path glob, and a method.
    operation: Mapped[str | None] = mapped_column(String(64), nullable=True)
    path: Mapped[str | None] = mapped_column(Text, nullable=True)
    method: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # What it does: an error answer and/or added latency.
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    probability: Mapped[float] = mapped_column(Float, default=1.0)
    # Times it may still fire (None: until deleted) and times it fired.
    remaining: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    date_created: Mapped[datetime] = mapped_column(UTCDateTime())


class RateWindow(Base):
    """The rate state of one (workspace, limited endpoint) pair: GCRA's theoretical arrival time."""

    __tablename__ = "emulator_rate_window"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    # Seconds since the epoch (wall clock): rate limits are infrastructure, not emulated time.
    theoretical_arrival: Mapped[float] = mapped_column(Float)
