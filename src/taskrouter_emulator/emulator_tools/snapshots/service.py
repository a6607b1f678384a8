"""Snapshots: an account's or a workspace's whole state as one JSON document, and back.

The document lists, per state table (see `emulator_tools.state`), every row with every column except
the integer `id` key, in creation order. SIDs, dates, due times of pending timers, the event log and
the webhook journal are kept as they were; on import the rows get new `id`s in the same order, so
lists keep their order. Import replaces the scope it covers in one transaction and validates the
whole document first: a bad document changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import Boolean, Column, Float, Integer, String, Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from taskrouter_emulator.clock import Clock
from taskrouter_emulator.db.types import UTCDateTime
from taskrouter_emulator.emulator_tools import state
from taskrouter_emulator.errors import Conflict, InvalidParameter
from taskrouter_emulator.models import Workspace
from taskrouter_emulator.sids import Prefix, is_sid

FORMAT = "taskrouter-emulator-snapshot"
VERSION = 1
# Bound parameters per IN (...) list; SQLite's historical limit is 999.
_CHUNK = 500


class SnapshotDocument(BaseModel):
    """The envelope of a snapshot; the rows are checked column by column against the models."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["taskrouter-emulator-snapshot"]
    version: Literal[1]
    scope: Literal["account", "workspace"]
    account_sid: str
    workspace_sid: str | None = None
    exported_at: str | None = None
    tables: dict[str, list[dict[str, Any]]]


def _dump_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def export(
    session: Session, *, clock: Clock, account_sid: str, workspace_sid: str | None = None
) -> dict[str, Any]:
    """Return the account's state (or one workspace's) as a snapshot document."""
    scope_sids = None if workspace_sid is None else [workspace_sid]
    tables: dict[str, list[dict[str, Any]]] = {}
    for table in state.state_tables():
        columns = state.saved_columns(table)
        stmt = select(*columns).where(
            state.scope_filter(table, account_sid=account_sid, workspace_sids=scope_sids)
        )
        # A stable row order (the key), so exporting the same state twice gives the same document.
        stmt = stmt.order_by(*table.primary_key.columns)
        tables[table.name] = [
            {c.name: _dump_value(row[i]) for i, c in enumerate(columns)}
            for row in session.execute(stmt)
        ]
    return {
        "format": FORMAT,
        "version": VERSION,
        "scope": "account" if workspace_sid is None else "workspace",
        "account_sid": account_sid,
        "workspace_sid": workspace_sid,
        "exported_at": _dump_value(clock.now()),
        "tables": tables,
    }


def _bad(where: str, message: str) -> InvalidParameter:
    return InvalidParameter(f"Invalid snapshot: {where}: {message}")


def _load_value(column: Column[Any], value: Any, where: str) -> Any:
    """Convert one JSON value to what the column stores, or raise a 400 naming the place."""
    if value is None:
        if not column.nullable:
            raise _bad(where, "must not be null")
        return None
    kind = column.type
    if isinstance(kind, UTCDateTime):
        if not isinstance(value, str):
            raise _bad(where, "must be an ISO 8601 date string")
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _bad(where, f"'{value}' is not an ISO 8601 date") from None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if isinstance(kind, Boolean):
        if not isinstance(value, bool):
            raise _bad(where, "must be true or false")
        return value
    if isinstance(kind, Integer):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(where, "must be an integer")
        return value
    if isinstance(kind, Float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad(where, "must be a number")
        return float(value)
    if isinstance(kind, String):
        if not isinstance(value, str):
            raise _bad(where, "must be a string")
        if kind.length is not None and len(value) > kind.length:
            raise _bad(where, f"is longer than {kind.length} characters")
        return value
    raise _bad(where, f"has an unsupported column type {kind!r}")  # pragma: no cover


def _rows(
    table: Table, raw_rows: Sequence[Mapping[str, Any]], *, account_sid: str
) -> list[dict[str, Any]]:
    columns = {c.name: c for c in state.saved_columns(table)}
    rows = []
    for index, raw in enumerate(raw_rows):
        where = f"tables.{table.name}[{index}]"
        if not isinstance(raw, Mapping):
            raise _bad(where, "must be an object")
        unknown = sorted(set(raw) - set(columns))
        if unknown:
            raise _bad(f"{where}.{unknown[0]}", f"is not a column of {table.name}")
        row: dict[str, Any] = {}
        for name, column in columns.items():
            if name not in raw:
                # A column added after the export: its default, else null, else it is required.
                default = column.default
                if isinstance(default, ScalarElementColumnDefault):
                    row[name] = default.arg
                elif column.nullable:
                    row[name] = None
                else:
                    raise _bad(f"{where}.{name}", "is required")
                continue
            row[name] = _load_value(column, raw[name], f"{where}.{name}")
        if "account_sid" in columns:
            # Rows are imported into the caller's account, whichever account they came from.
            row["account_sid"] = account_sid
        rows.append(row)
    return rows


def _check_scope(
    document: SnapshotDocument, rows: Mapping[str, list[dict[str, Any]]]
) -> list[str]:
    """Check that every row belongs to the document's workspaces; return those workspace SIDs."""
    workspace_rows = rows.get(Workspace.__tablename__, [])
    sids = [row["sid"] for row in workspace_rows]
    for sid in sids:
        if not is_sid(sid, Prefix.WORKSPACE):
            raise _bad("tables.workspace", f"'{sid}' is not a Workspace SID")
    if document.scope == "workspace" and (
        document.workspace_sid is None or sids != [document.workspace_sid]
    ):
        raise _bad(
            "tables.workspace",
            "a workspace snapshot holds exactly the workspace named by workspace_sid",
        )
    known = set(sids)
    for table in state.state_tables():
        if table.name == Workspace.__tablename__:
            continue
        column = table.c.workspace_sid
        owned = any(fk.column.table is Workspace.__table__ for fk in column.foreign_keys)
        for index, row in enumerate(rows.get(table.name, [])):
            # The event log and journal may name deleted workspaces in an account snapshot.
            if row["workspace_sid"] not in known and (owned or document.scope == "workspace"):
                raise _bad(
                    f"tables.{table.name}[{index}].workspace_sid",
                    f"{row['workspace_sid']} is not a workspace of this snapshot",
                )
    return sids


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _check_sids_free(session: Session, rows: Mapping[str, list[dict[str, Any]]]) -> None:
    """Refuse SIDs that another account (or another workspace of this one) already uses."""
    for table in state.state_tables():
        if "sid" not in table.c:
            continue
        sids = [row["sid"] for row in rows.get(table.name, [])]
        for chunk in _chunks(sids):
            taken = session.scalars(select(table.c.sid).where(table.c.sid.in_(chunk))).first()
            if taken is not None:
                raise Conflict(
                    f"Cannot import the snapshot: {table.name} SID {taken} already exists "
                    "(SIDs are unique across the emulator; reset the account that holds it first)"
                )


def import_document(
    session: Session, *, account_sid: str, document: Mapping[str, Any]
) -> dict[str, Any]:
    """Replace the account's state (or one workspace's) with a snapshot's, atomically."""
    try:
        envelope = SnapshotDocument.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(part) for part in first["loc"]) or "document"
        raise _bad(place, str(first["msg"])) from None
    known_tables = {table.name: table for table in state.state_tables()}
    unknown = sorted(set(envelope.tables) - set(known_tables))
    if unknown:
        raise _bad(f"tables.{unknown[0]}", "is not a table of the emulator's state")
    rows = {
        name: _rows(table, envelope.tables.get(name, []), account_sid=account_sid)
        for name, table in known_tables.items()
    }
    workspace_sids = _check_scope(envelope, rows)
    state.lock_account(session, account_sid)

    if envelope.scope == "account":
        replaced = state.workspace_sids_of(session, account_sid)
        state.lock_workspaces(session, sorted(set(replaced) | set(workspace_sids)))
        state.delete_state(session, account_sid=account_sid, workspace_sids=None)
    else:
        sid = workspace_sids[0]
        state.lock_workspaces(session, [sid])
        owner = session.scalar(select(Workspace.account_sid).where(Workspace.sid == sid))
        if owner is not None and owner != account_sid:
            raise Conflict(f"Cannot import the snapshot: Workspace {sid} belongs to another account")
        state.delete_state(session, account_sid=account_sid, workspace_sids=[sid])
    _check_sids_free(session, rows)
    counts: dict[str, int] = {}
    try:
        for name, table in known_tables.items():
            if rows[name]:
                session.execute(insert(table), rows[name])
            counts[name] = len(rows[name])
        session.flush()
    except IntegrityError as exc:
        detail = str(exc.orig).splitlines()[0] if exc.orig is not None else "constraint violated"
        raise InvalidParameter(
            f"Invalid snapshot: rows refer to missing rows or repeat a unique value ({detail})"
        ) from None
    return {
        "scope": envelope.scope,
        "account_sid": account_sid,
        "workspace_sid": envelope.workspace_sid if envelope.scope == "workspace" else None,
        "imported": counts,
    }
