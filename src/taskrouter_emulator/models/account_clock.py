"""The emulated time of each account: frozen at a moment, or real time plus an offset."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from taskrouter_emulator.db.types import UTCDateTime
from taskrouter_emulator.models.base import Base


class AccountClock(Base):
    """One account's clock, shared by every server process on the database."""

    __tablename__ = "account_clock"

    account_sid: Mapped[str] = mapped_column(String(34), primary_key=True)
    # Set: time stands still at this moment until moved. Null: real time plus `offset_us`.
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    offset_us: Mapped[int] = mapped_column(BigInteger, default=0)
