"""Record events: one call per state change, with the field groups of the Event reference.

Services call `record(...)` in the same transaction as the change it describes, so the log (and,
later, the callback outbox) never mentions a change that was rolled back. The `*_fields` helpers
build the snake_case `event_data` groups; callers combine the groups an event type needs.

The events of a transaction are plain rows, inserted together just before it commits: one
executemany of a statement built once, their bucket counts in one upsert, and (PostgreSQL) one
NOTIFY that wakes the event bridge's pollers in every process; on PostgreSQL all three are one
statement. No ORM object is made per event.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, TextClause, insert, text
from sqlalchemy.event import listens_for
from sqlalchemy.orm import Session, SessionTransaction

from taskrouter_emulator.api.urls import workspace_path
from taskrouter_emulator.callbacks import outbox
from taskrouter_emulator.clock import Clock
from taskrouter_emulator.db.notify import EVENTS_CHANNEL
from taskrouter_emulator.events import counts
from taskrouter_emulator.models import (
    Activity,
    Event,
    EventCount,
    Reservation,
    Task,
    TaskChannel,
    TaskQueue,
    Worker,
    Workflow,
    Workspace,
)
from taskrouter_emulator.sids import Prefix, new_sid

# event_data keys copied into indexed columns so the Events list filters use indexes, and the
# values statistics aggregate (so they read typed columns instead of parsing JSON per row).
_TEXT_COLUMNS = (
    "task_sid",
    "worker_sid",
    "reservation_sid",
    "task_queue_sid",
    "workflow_sid",
    "task_channel_sid",
    "task_channel_unique_name",
    "worker_previous_activity_sid",
)
_INTEGER_COLUMNS = ("task_age", "task_queue_entered_date", "worker_time_in_previous_activity_ms")


_PENDING_EVENTS = "taskrouter_pending_events"
_SAVEPOINT_MARKS = "taskrouter_event_savepoints"
# Set in `Session.info` once the transaction has inserted events (the bridge wakes its poller on commit).
EVENTS_INSERTED = "taskrouter_events_inserted"
_EVENT_TABLE = cast(Table, Event.__table__)
_COUNT_TABLE = cast(Table, EventCount.__table__)
# Built once: run with the list of rows (executemany, batched into multi-row VALUES where the
# driver allows), in the order they were recorded, so event ids follow that order.
_INSERT_EVENTS = insert(_EVENT_TABLE)


def _postgres_events_statement() -> TextClause:
    """One PostgreSQL statement that inserts a transaction's events, adds their counts and sends
    the bridge's NOTIFY: one round trip instead of three.

    The rows travel as two JSON arrays (one parameter each, cheap to send) that
    `json_populate_recordset` turns back into typed rows in array order, so the events' ids follow
    the order they were recorded in, and the counts' keys keep `count_rows`'s order (concurrent
    writers lock bucket rows in the same order, so they never deadlock).
    """

    def names(table: Table) -> str:
        return ", ".join(column.name for column in table.c if column.name != "id")

    def rows_of(table: Table, parameter: str) -> str:
        # Rows in array order (WITH ORDINALITY makes it explicit, not a plan's accident).
        columns = names(table)
        return (
            f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM ROWS FROM "
            f"(json_populate_recordset(NULL::{table.name}, CAST(:{parameter} AS json))) "
            "WITH ORDINALITY AS r ORDER BY r.ordinality"
        )

    return text(
        f"WITH inserted AS ({rows_of(_EVENT_TABLE, 'events')}), "
        f"counted AS ({rows_of(_COUNT_TABLE, 'counts')} "
        f"ON CONFLICT ({', '.join(counts.KEY)}) "
        "DO UPDATE SET count = event_count.count + excluded.count) "
        "SELECT pg_notify(:channel, '')"
    )


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()  # aware (UTC): PostgreSQL reads it as a timestamptz
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


_POSTGRES_EVENTS = _postgres_events_statement()


@listens_for(Session, "before_commit")
def _insert_recorded_events(session: Session) -> None:
    """Insert the events recorded in this transaction, in order, with their counts, before the commit."""
    rows = session.info.pop(_PENDING_EVENTS, None)
    if not rows:
        return
    tallied = counts.tally(rows)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            _POSTGRES_EVENTS,
            {
                "events": json.dumps(rows, default=_json_value, ensure_ascii=False),
                "counts": json.dumps(counts.count_rows(tallied), ensure_ascii=False),
                "channel": EVENTS_CHANNEL,
            },
        )
    else:
        session.execute(_INSERT_EVENTS, rows)
        counts.add_counts(session, tallied)
    session.info[EVENTS_INSERTED] = True


@listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    """Remember how many events were recorded when a savepoint began."""
    if transaction.nested:
        marks = session.info.setdefault(_SAVEPOINT_MARKS, {})
        marks[id(transaction)] = len(session.info.get(_PENDING_EVENTS, ()))


@listens_for(Session, "after_soft_rollback")
def _forget_recorded_events(session: Session, previous_transaction: SessionTransaction) -> None:
    """Drop the events recorded in a rolled-back savepoint, or all of them when the transaction rolls back."""
    marks = session.info.get(_SAVEPOINT_MARKS, {})
    if previous_transaction.nested:
        mark = marks.pop(id(previous_transaction), None)
        if mark is not None and _PENDING_EVENTS in session.info:
            del session.info[_PENDING_EVENTS][mark:]
    elif not session.in_transaction():
        session.info.pop(_PENDING_EVENTS, None)
        session.info.pop(_SAVEPOINT_MARKS, None)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def epoch_seconds(moment: datetime) -> str:
    """Render a datetime as epoch seconds, the way live callbacks send dates."""
    return str(int(moment.timestamp()))


def record(
    session: Session,
    *,
    clock: Clock,
    workspace: Workspace,
    event_type: str,
    resource_type: str,
    resource_sid: str,
    resource_path: str,
    description: str,
    data: Mapping[str, object] | None = None,
) -> None:
    """Append one event to the workspace's log (values are stored as strings, as Twilio sends them)."""
    now = clock.now()
    event_data = {"workspace_sid": workspace.sid, "workspace_name": workspace.friendly_name}
    event_data.update({k: _text(v) for k, v in (data or {}).items() if v is not None})
    row: dict[str, Any] = {
        "sid": new_sid(Prefix.EVENT),
        "account_sid": workspace.account_sid,
        "workspace_sid": workspace.sid,
        "event_type": event_type,
        "event_date": now,
        "event_date_ms": int(now.timestamp() * 1000),
        "description": description,
        "resource_type": resource_type,
        "resource_sid": resource_sid,
        "resource_url": resource_path,
        "actor_type": "workspace",
        "actor_sid": workspace.sid,
        "actor_url": workspace_path(workspace.sid),
        "source_ip_address": None,
        "event_data": json.dumps(event_data),
        **extracted_columns(event_data),
    }
    # Inserted together when the transaction commits (one batched INSERT instead of one per flush).
    session.info.setdefault(_PENDING_EVENTS, []).append(row)
    outbox.event_callback(session, workspace=workspace, event=row, data=event_data)


def extracted_columns(event_data: Mapping[str, str]) -> dict[str, str | int | None]:
    """The Event columns copied from `event_data` (string values, as recorded): SIDs and integers."""
    columns: dict[str, str | int | None] = {key: event_data.get(key) for key in _TEXT_COLUMNS}
    for key in _INTEGER_COLUMNS:
        value = event_data.get(key)
        columns[key] = int(value) if value is not None else None
    return columns


def workspace_fields(workspace: Workspace) -> dict[str, object]:
    """The Workspace field group."""
    return {"workspace_sid": workspace.sid, "workspace_name": workspace.friendly_name}


def activity_fields(activity: Activity) -> dict[str, object]:
    """The Activity field group."""
    return {
        "activity_sid": activity.sid,
        "activity_name": activity.friendly_name,
        "activity_available": activity.available,
    }


def task_channel_fields(channel: TaskChannel) -> dict[str, object]:
    """The TaskChannel field group."""
    return {
        "task_channel_sid": channel.sid,
        "task_channel_name": channel.friendly_name,
        "task_channel_unique_name": channel.unique_name,
        "task_channel_optimized_routing": channel.channel_optimized_routing,
    }


def task_queue_fields(queue: TaskQueue) -> dict[str, object]:
    """The TaskQueue field group."""
    return {
        "task_queue_sid": queue.sid,
        "task_queue_name": queue.friendly_name,
        "task_queue_target_expression": queue.target_workers or "",
    }


def workflow_fields(workflow: Workflow) -> dict[str, object]:
    """The Workflow field group."""
    return {"workflow_sid": workflow.sid, "workflow_name": workflow.friendly_name}


def worker_fields(worker: Worker, activity: Activity) -> dict[str, object]:
    """The Worker field group."""
    return {
        "worker_sid": worker.sid,
        "worker_name": worker.friendly_name,
        "worker_attributes": worker.attributes,
        "worker_activity_sid": activity.sid,
        "worker_activity_name": activity.friendly_name,
        "worker_available": activity.available,
        "worker_version": worker.version,
    }


def task_fields(task: Task, *, channel_unique_name: str | None, now: datetime) -> dict[str, object]:
    """The Task field group (dates as epoch seconds, as live callbacks send them)."""
    return {
        "task_sid": task.sid,
        "task_attributes": task.attributes,
        "task_age": max(0, int((now - task.date_created).total_seconds())),
        "task_priority": task.priority,
        "task_assignment_status": task.assignment_status,
        "task_canceled_reason": task.reason if task.assignment_status == "canceled" else None,
        "task_completed_reason": task.reason if task.assignment_status == "completed" else None,
        "task_version": task.version,
        "task_channel_sid": task.task_channel_sid,
        "task_channel_unique_name": channel_unique_name,
        "task_date_created": epoch_seconds(task.date_created),
        "task_queue_entered_date": epoch_seconds(task.task_queue_entered_at)
        if task.task_queue_entered_at
        else None,
        "task_ignore_capacity": task.ignore_capacity,
        "task_virtual_start_time": epoch_seconds(task.virtual_start_time),
        "task_queue_sid": task.task_queue_sid,
        "workflow_sid": task.workflow_sid,
    }


def reservation_fields(reservation: Reservation) -> dict[str, object]:
    """The Reservation field group."""
    return {"reservation_sid": reservation.sid, "reservation_version": reservation.version}
