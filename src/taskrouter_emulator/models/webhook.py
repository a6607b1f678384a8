"""WebhookDelivery: the outbox of assignment and event callbacks, and the journal of what was sent.

A row is written in the same transaction as the change it reports, so a callback is never sent for
a change that was rolled back and never lost when the process stops before sending it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from taskrouter_emulator.db.types import UTCDateTime
from taskrouter_emulator.models.base import Base


class WebhookDelivery(Base):
    """One outbound callback: its request, its state, and the last answer received."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_status_id", "status", "id"),
        Index("ix_webhook_delivery_workspace_id", "workspace_sid", "id"),
        Index("ix_webhook_delivery_account_id", "account_sid", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_sid: Mapped[str] = mapped_column(String(34))
    workspace_sid: Mapped[str] = mapped_column(String(34))
    # "event" (EventCallbackUrl, delivered in order per workspace) or "assignment" (AssignmentCallbackUrl).
    kind: Mapped[str] = mapped_column(String(16))
    event_sid: Mapped[str | None] = mapped_column(String(34), nullable=True)
    event_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reservation_sid: Mapped[str | None] = mapped_column(String(34), nullable=True)
    url: Mapped[str] = mapped_column(Text)
    fallback_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The form parameters as a JSON object (string values).
    parameters: Mapped[str] = mapped_column(Text)
    # pending → in_flight → delivered | failed (retries exhausted) | deferred/applied/rejected (assignment outcomes)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    signature: Mapped[str | None] = mapped_column(String(64), nullable=True)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    instruction: Mapped[str | None] = mapped_column(String(16), nullable=True)
    date_created: Mapped[datetime] = mapped_column(UTCDateTime())
    date_updated: Mapped[datetime] = mapped_column(UTCDateTime())
