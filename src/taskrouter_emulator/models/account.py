"""Accounts known to the emulator and the auth token bound to each."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from taskrouter_emulator.db.types import UTCDateTime
from taskrouter_emulator.models.base import Base


class Account(Base):
    """An account (or API key) and the first token it authenticated with."""

    __tablename__ = "account"

    username: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_sid: Mapped[str] = mapped_column(String(34))
    auth_token: Mapped[str] = mapped_column(String(256))
    date_created: Mapped[datetime] = mapped_column(UTCDateTime())
