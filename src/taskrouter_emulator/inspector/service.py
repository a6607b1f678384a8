"""Event feed queries: the newest events of a workspace, then the ones recorded after a cursor.

The cursor is the event row's autoincrement id. Within one workspace every writer holds the
workspace's lock (`db.locks.workspace_lock`; SQLite serialises all writers), so ids become visible
in increasing order and "id > cursor" never skips an event committed late by another process.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskrouter_emulator.models import Event


def newest_events(session: Session, *, workspace_sid: str, limit: int) -> Sequence[Event]:
    """Return the workspace's `limit` most recent events, oldest first."""
    if limit <= 0:
        return []
    rows = session.scalars(
        select(Event)
        .where(Event.workspace_sid == workspace_sid)
        .order_by(Event.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))


def events_after(
    session: Session, *, workspace_sid: str, after_id: int, limit: int
) -> Sequence[Event]:
    """Return up to `limit` events of the workspace recorded after the event with id `after_id`."""
    return session.scalars(
        select(Event)
        .where(Event.workspace_sid == workspace_sid, Event.id > after_id)
        .order_by(Event.id)
        .limit(limit)
    ).all()


def last_event_id(session: Session, *, workspace_sid: str) -> int:
    """Return the id of the workspace's latest event, or 0 when it has none."""
    latest = session.scalars(
        select(Event.id)
        .where(Event.workspace_sid == workspace_sid)
        .order_by(Event.id.desc())
        .limit(1)
    ).first()
    return latest or 0
