"""Versions (ETags) of Tasks, Workers and Reservations: 0 on create, +1 per change.

Twilio's "API mutation and conflict resolution" page: the version "starts at 0 on create and goes
up by one on each change" (a Task created and updated once has ETag 1). A change is one
transaction that alters the row, at one moment: a request (with everything the routing engine
does inside it) or one timer firing. Internal steps inside that change (placing the task in a
queue, offering it to a worker in the same request) do not count again, and nothing that happens
in the transaction that created the row moves it off 0.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

_KEY = "taskrouter_versions"


class Versioned(Protocol):
    """A row with a SID and a version counter."""

    sid: str
    version: int


def created(session: Session, row: Versioned) -> None:
    """Mark a row created in this transaction: it keeps version 0 until a later change."""
    _counted(session).add((type(row).__name__, row.sid, None))


def bump(session: Session, row: Versioned, now: datetime) -> None:
    """Count a change of the row: at most one per transaction and moment, none in its creating one."""
    counted = _counted(session)
    name = type(row).__name__
    if (name, row.sid, None) in counted or (name, row.sid, now) in counted:
        return
    counted.add((name, row.sid, now))
    row.version += 1


def _counted(session: Session) -> set[tuple[str, str, datetime | None]]:
    transaction = session.get_transaction()
    state = session.info.get(_KEY)
    if state is None or state[0] is not transaction:
        state = session.info[_KEY] = (transaction, set())
    counted: set[tuple[str, str, datetime | None]] = state[1]
    return counted
