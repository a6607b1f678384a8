"""Which tables hold an account's TaskRouter state, derived from the models, and how to scope them.

Every table of `models/` is account state unless it is listed in `NOT_STATE`, so a new table or a new
column is reset, exported and imported without anyone having to remember to add it here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, ColumnElement, Integer, Table, delete, select
from sqlalchemy.orm import Session

from taskrouter_emulator.db.locks import journal_lock, workspace_lock
from taskrouter_emulator.models import (
    AccountClock,
    Base,
    BridgeSession,
    Fault,
    RateWindow,
    Workspace,
)

# Tables that are not TaskRouter state: credentials and the emulator's own controls.
NOT_STATE = {
    "account": "auth tokens bound to account SIDs (credentials, not state)",
    # Reset and import leave an account's time alone; move it with /emulator/clock.
    AccountClock.__tablename__: "the account's emulated time (moved by /emulator/clock)",
    Fault.__tablename__: "injected faults (emulator controls)",
    RateWindow.__tablename__: "request-rate windows (transient)",
    BridgeSession.__tablename__: "open worker SDK connections (transient)",
}


def state_tables() -> list[Table]:
    """Return the state tables, parents before children (insert order; reverse it to delete)."""
    return [table for table in Base.metadata.sorted_tables if table.name not in NOT_STATE]


# Columns a snapshot leaves out besides the `id` key: the routing cache's key is the server's own
# (an imported workspace gets a new one, so no process routes from rows cached before the import).
NOT_SAVED = {(Workspace.__tablename__, "config_version")}


def saved_columns(table: Table) -> list[Column[Any]]:
    """Return the columns of a state table that a snapshot holds (all but `id` and `NOT_SAVED`)."""
    key = surrogate_key(table)
    return [c for c in table.columns if c.name != key and (table.name, c.name) not in NOT_SAVED]


def surrogate_key(table: Table) -> str | None:
    """Return the name of the table's integer autoincrement key (`id`), which a snapshot leaves out."""
    keys = list(table.primary_key.columns)
    if len(keys) == 1 and isinstance(keys[0].type, Integer):
        return keys[0].name
    return None


def scope_filter(
    table: Table, *, account_sid: str, workspace_sids: Sequence[str] | None
) -> ColumnElement[bool]:
    """Return the WHERE clause selecting the rows of an account (or of some of its workspaces)."""
    workspace_table = Workspace.__table__
    if table.name == Workspace.__tablename__:
        if workspace_sids is None:
            return table.c.account_sid == account_sid
        return table.c.sid.in_(workspace_sids)
    column = table.c.workspace_sid
    if workspace_sids is not None:
        return column.in_(workspace_sids)
    if "account_sid" not in table.c or any(
        fk.column.table is workspace_table for fk in column.foreign_keys
    ):
        # Rows that cannot outlive their workspace (by a foreign key, or deleted with it, like the
        # statistics' event counts): reach them through the workspace index.
        return column.in_(
            select(workspace_table.c.sid).where(workspace_table.c.account_sid == account_sid)
        )
    # The event log and the webhook journal outlive deleted workspaces: select them by account.
    return table.c.account_sid == account_sid


def workspace_sids_of(session: Session, account_sid: str) -> list[str]:
    """Return the SIDs of the account's workspaces."""
    return list(session.scalars(select(Workspace.sid).where(Workspace.account_sid == account_sid)))


def lock_account(session: Session, account_sid: str) -> None:
    """Serialise whole-account operations (reset, import, seeding) of one account across processes.

    Takes the webhook journal's lock first: these operations delete deliveries in bulk.
    """
    journal_lock(session)
    # The advisory lock is keyed by any string; an account SID never equals a workspace SID.
    workspace_lock(session, account_sid)


def lock_workspaces(session: Session, sids: Sequence[str]) -> None:
    """Take the routing lock of each workspace (sorted, so two callers never deadlock)."""
    for sid in sorted(sids):
        workspace_lock(session, sid)


def delete_state(
    session: Session, *, account_sid: str, workspace_sids: Sequence[str] | None
) -> dict[str, int]:
    """Delete the account's state (or some workspaces'), children first; return rows deleted per table."""
    deleted: dict[str, int] = {}
    # Read the workspaces first: tables scoped through them may come after `workspace` in the
    # deletion order (those without a foreign key to it, like the statistics' event counts).
    scoped = workspace_sids if workspace_sids is not None else workspace_sids_of(session, account_sid)
    for table in reversed(state_tables()):
        where = (
            table.c.workspace_sid.in_(scoped)
            if "account_sid" not in table.c and "workspace_sid" in table.c
            else scope_filter(table, account_sid=account_sid, workspace_sids=workspace_sids)
        )
        result = session.execute(delete(table).where(where))
        deleted[table.name] = int(getattr(result, "rowcount", 0) or 0)
    return deleted


def forget_rate_windows(session: Session, workspace_sids: Sequence[str]) -> None:
    """Drop the request-rate windows of the given workspaces."""
    for sid in workspace_sids:
        session.execute(delete(RateWindow).where(RateWindow.key.startswith(f"{sid}:")))
