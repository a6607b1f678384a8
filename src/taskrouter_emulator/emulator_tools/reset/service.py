"""Reset: remove an account's (or one workspace's) state at once, with no events and no callbacks.

Unlike `DELETE /v1/Workspaces/{Sid}`, which records `workspace.deleted` and sends its callback, a
reset leaves no trace: rows, due timers (they are columns of those rows), the event log and queued
webhook deliveries all go in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.orm import Session

from taskrouter_emulator.db.locks import journal_lock
from taskrouter_emulator.emulator_tools import state
from taskrouter_emulator.models import Fault, RateWindow


@dataclass(frozen=True)
class ResetOutcome:
    """What a reset removed."""

    account_sid: str | None
    workspace_sid: str | None
    deleted: dict[str, int]


def reset_account(session: Session, *, account_sid: str) -> ResetOutcome:
    """Delete every workspace of the account with everything in it, its event log, journal and faults."""
    state.lock_account(session, account_sid)
    sids = state.workspace_sids_of(session, account_sid)
    state.lock_workspaces(session, sids)
    deleted = state.delete_state(session, account_sid=account_sid, workspace_sids=None)
    faults = session.execute(delete(Fault).where(Fault.account_sid == account_sid))
    deleted[Fault.__tablename__] = int(getattr(faults, "rowcount", 0) or 0)
    state.forget_rate_windows(session, sids)
    return ResetOutcome(account_sid=account_sid, workspace_sid=None, deleted=deleted)


def reset_workspace(session: Session, *, account_sid: str, workspace_sid: str) -> ResetOutcome:
    """Delete one workspace of the account with everything in it, its events and its deliveries."""
    state.lock_account(session, account_sid)
    state.lock_workspaces(session, [workspace_sid])
    deleted = state.delete_state(session, account_sid=account_sid, workspace_sids=[workspace_sid])
    state.forget_rate_windows(session, [workspace_sid])
    return ResetOutcome(account_sid=account_sid, workspace_sid=workspace_sid, deleted=deleted)


def reset_server(session: Session) -> ResetOutcome:
    """Delete the state of every account, every fault and every rate window (credentials stay)."""
    deleted: dict[str, int] = {}
    journal_lock(session)
    for table in reversed(state.state_tables()):
        deleted[table.name] = int(getattr(session.execute(delete(table)), "rowcount", 0) or 0)
    faults = session.execute(delete(Fault))
    deleted[Fault.__tablename__] = int(getattr(faults, "rowcount", 0) or 0)
    session.execute(delete(RateWindow))
    return ResetOutcome(account_sid=None, workspace_sid=None, deleted=deleted)
