"""Objects in the event bridge's dialect, which the SDK's descriptors read.

It differs from the public REST shapes: snake_case keys but dates in epoch seconds (the SDK multiplies
them by 1000), a `version` on versioned objects, `attributes`/`addons` as JSON strings, and no
`url`/`links`. `last_reserved_time` alone is in milliseconds (WorkerChannelDescriptor reads it as
such). Event payloads take the point-in-time values the event recorded (status, version,
attributes) over the row's current ones, so a late-delivered `reservation.created` still says pending.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskrouter_emulator.lifecycle.offers import DEFAULT_RESERVATION_TIMEOUT
from taskrouter_emulator.models import (
    Activity,
    Reservation,
    Task,
    TaskChannel,
    TaskQueue,
    Worker,
    WorkerChannel,
    Workflow,
    Workspace,
)
from taskrouter_emulator.workers.context import ChannelState

# reservation.<suffix> event -> the reservation_status it leaves the reservation in.
RESERVATION_EVENT_STATUS = {
    "created": "pending",
    "accepted": "accepted",
    "rejected": "rejected",
    "timeout": "timeout",
    "canceled": "canceled",
    "rescinded": "rescinded",
    "completed": "completed",
    "wrapup": "wrapping",
}


T = TypeVar("T", Activity, Task, TaskChannel, TaskQueue, Worker, Workflow, Workspace)


def by_sid(session: Session, model: type[T], sid: str | None) -> T | None:
    """The row of `model` with this SID (primary keys are integer ids, so `session.get` cannot)."""
    if sid is None:
        return None
    return session.scalars(select(model).where(model.sid == sid)).first()


def epoch(moment: datetime | None) -> int | None:
    """Epoch seconds, the bridge's date format."""
    return None if moment is None else int(moment.timestamp())


def activity_payload(activity: Activity) -> dict[str, Any]:
    """An Activity as ActivityDescriptor reads it."""
    return {
        "account_sid": activity.account_sid,
        "available": activity.available,
        "date_created": epoch(activity.date_created),
        "date_updated": epoch(activity.date_updated),
        "friendly_name": activity.friendly_name,
        "sid": activity.sid,
        "workspace_sid": activity.workspace_sid,
    }


def worker_payload(
    worker: Worker, activity: Activity, event_data: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A Worker as WorkerDescriptor reads it (event values override the row's)."""
    data = event_data or {}
    return {
        "account_sid": worker.account_sid,
        "activity_name": data.get("worker_activity_name", activity.friendly_name),
        "activity_sid": data.get("worker_activity_sid", activity.sid),
        "attributes": data.get("worker_attributes", worker.attributes),
        "available": _bool(data["worker_available"])
        if "worker_available" in data
        else activity.available,
        "date_created": epoch(worker.date_created),
        "date_status_changed": epoch(worker.date_status_changed),
        "date_updated": epoch(worker.date_updated),
        "friendly_name": worker.friendly_name,
        "sid": worker.sid,
        "workspace_sid": worker.workspace_sid,
        "version": _int(data.get("worker_version"), worker.version),
    }


def channel_payload(
    channel: WorkerChannel,
    *,
    unique_name: str,
    state: ChannelState,
    last_reserved: datetime | None,
) -> dict[str, Any]:
    """A WorkerChannel as WorkerChannelDescriptor reads it."""
    return {
        "account_sid": channel.account_sid,
        "assigned_tasks": state.assigned_tasks,
        "available": state.available,
        "available_capacity_percentage": state.available_capacity_percentage,
        "configured_capacity": state.configured_capacity,
        "date_created": epoch(channel.date_created),
        "date_updated": epoch(channel.date_updated),
        "last_reserved_time": None
        if last_reserved is None
        else int(last_reserved.timestamp() * 1000),
        "sid": channel.sid,
        "task_channel_sid": channel.task_channel_sid,
        "task_channel_unique_name": unique_name,
        "worker_sid": channel.worker_sid,
        "workspace_sid": channel.workspace_sid,
    }


def last_reserved_times(session: Session, *, worker_sid: str) -> dict[str, datetime]:
    """When the worker was last offered a task, per task channel."""
    rows = session.execute(
        select(Reservation.task_channel_sid, func.max(Reservation.date_created))
        .where(Reservation.worker_sid == worker_sid)
        .group_by(Reservation.task_channel_sid)
    )
    return {channel_sid: moment for channel_sid, moment in rows if moment is not None}


def task_payload(
    session: Session, task: Task, *, now: datetime, event_data: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A Task as TaskDescriptor reads it (event values override the row's)."""
    data = event_data or {}
    queue = by_sid(session, TaskQueue, task.task_queue_sid)
    workflow = by_sid(session, Workflow, task.workflow_sid)
    channel = by_sid(session, TaskChannel, task.task_channel_sid)
    status = data.get("task_assignment_status", task.assignment_status)
    reason = data.get("task_canceled_reason") or data.get("task_completed_reason") or task.reason
    return {
        "account_sid": task.account_sid,
        "addons": task.addons,
        "age": _int(data.get("task_age"), max(0, int((now - task.date_created).total_seconds()))),
        "assignment_status": status,
        "attributes": data.get("task_attributes", task.attributes),
        "date_created": epoch(task.date_created),
        "date_updated": epoch(task.date_updated),
        "priority": _int(data.get("task_priority"), task.priority),
        "queue_name": queue.friendly_name if queue else None,
        "queue_sid": task.task_queue_sid,
        "reason": reason,
        "routing_target": task.routing_target,
        "sid": task.sid,
        "task_channel_sid": task.task_channel_sid,
        "task_channel_unique_name": channel.unique_name if channel else None,
        "timeout": task.timeout,
        "version": _int(data.get("task_version"), task.version),
        "virtual_start_time": epoch(task.virtual_start_time),
        "workflow_name": workflow.friendly_name if workflow else None,
        "workflow_sid": task.workflow_sid,
        "workspace_sid": task.workspace_sid,
    }


def reservation_payload(
    session: Session,
    reservation: Reservation,
    *,
    now: datetime,
    event_type: str | None = None,
    event_data: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A Reservation with its Task nested, as ReservationDescriptor reads it."""
    data = event_data or {}
    task = by_sid(session, Task, reservation.task_sid)
    worker = by_sid(session, Worker, reservation.worker_sid)
    status = reservation.reservation_status
    if event_type is not None:
        status = RESERVATION_EVENT_STATUS.get(event_type.partition(".")[2], status)
    payload: dict[str, Any] = {
        "account_sid": reservation.account_sid,
        "date_created": epoch(reservation.date_created),
        "date_updated": epoch(reservation.date_updated),
        "reservation_status": status,
        "reservation_timeout": _reservation_timeout(session, reservation),
        "sid": reservation.sid,
        "task": None if task is None else task_payload(session, task, now=now, event_data=data),
        "task_sid": reservation.task_sid,
        "worker_name": worker.friendly_name if worker else None,
        "worker_sid": reservation.worker_sid,
        "workspace_sid": reservation.workspace_sid,
        "version": _int(data.get("reservation_version"), reservation.version),
    }
    if status == "canceled" and data.get("task_canceled_reason"):
        payload["canceled_reason"] = data["task_canceled_reason"]
    return payload


def event_data_of(text: str) -> dict[str, str]:
    """Decode an event row's stored event_data."""
    value = json.loads(text)
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _reservation_timeout(session: Session, reservation: Reservation) -> int:
    if reservation.timeout_at is not None:
        return max(0, int((reservation.timeout_at - reservation.date_created).total_seconds()))
    workflow = by_sid(session, Workflow, reservation.workflow_sid)
    return workflow.task_reservation_timeout if workflow else DEFAULT_RESERVATION_TIMEOUT


def _bool(text: str) -> bool:
    return text.lower() == "true"


def _int(text: str | None, default: int) -> int:
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        return default
