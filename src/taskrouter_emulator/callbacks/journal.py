"""The delivery journal: what was sent to which URL, with what signature, and what came back."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from taskrouter_emulator.api.resources import format_date
from taskrouter_emulator.db.locks import journal_lock
from taskrouter_emulator.models import WebhookDelivery

KINDS = ("event", "assignment")
# Deliveries in these states will not be sent again: they are the journal, pruned after retention.
FINISHED = ("delivered", "failed", "applied", "rejected", "deferred")


def prune(session: Session, *, before: datetime) -> int:
    """Delete finished deliveries last updated before `before`; return how many."""
    journal_lock(session)
    result = session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.status.in_(FINISHED), WebhookDelivery.date_updated < before
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def list_query(
    *,
    account_sid: str,
    workspace_sid: str | None = None,
    kind: str | None = None,
    event_type: str | None = None,
    status: str | None = None,
) -> Select[WebhookDelivery]:
    """Return the account's deliveries, newest first, with optional filters."""
    stmt = select(WebhookDelivery).where(WebhookDelivery.account_sid == account_sid)
    if workspace_sid is not None:
        stmt = stmt.where(WebhookDelivery.workspace_sid == workspace_sid)
    if kind is not None:
        stmt = stmt.where(WebhookDelivery.kind == kind)
    if event_type is not None:
        stmt = stmt.where(WebhookDelivery.event_type == event_type)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    return stmt.order_by(WebhookDelivery.id.desc())


def render(row: WebhookDelivery) -> dict[str, Any]:
    """Serialise one delivery for `GET /emulator/webhooks`."""
    return {
        "id": row.id,
        "kind": row.kind,
        "workspace_sid": row.workspace_sid,
        "event_sid": row.event_sid,
        "event_type": row.event_type,
        "reservation_sid": row.reservation_sid,
        "url": row.url,
        "fallback_url": row.fallback_url,
        "delivered_url": row.delivered_url,
        "parameters": json.loads(row.parameters),
        "signature": row.signature,
        "status": row.status,
        "attempts": row.attempts,
        "response_status": row.response_status,
        "response_body": row.response_body,
        "error": row.error,
        "error_code": row.error_code,
        "instruction": row.instruction,
        "date_created": format_date(row.date_created),
        "date_updated": format_date(row.date_updated),
    }
