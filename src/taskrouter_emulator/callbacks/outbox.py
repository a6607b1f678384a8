"""Write callback deliveries in the caller's transaction (never send anything from a request)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from taskrouter_emulator.clock import utc_now
from taskrouter_emulator.db.notify import OUTBOX_CHANNEL, notify
from taskrouter_emulator.models import Reservation, Task, WebhookDelivery, Worker, Workspace
from taskrouter_emulator.routing.context import RoutingContext

OUTBOX_WRITTEN = "taskrouter_outbox_written"


def on_commit(factory: sessionmaker[Session], callback: Callable[[], None]) -> None:
    """Call `callback` after each commit of a session that queued a delivery."""

    @event.listens_for(factory, "after_commit")
    def _committed(session: Session) -> None:
        if session.info.pop(OUTBOX_WRITTEN, False):
            callback()

    @event.listens_for(factory, "after_rollback")
    def _rolled_back(session: Session) -> None:
        session.info.pop(OUTBOX_WRITTEN, None)


def pascal(name: str) -> str:
    """`task_queue_sid` → `TaskQueueSid`: event_data keys become callback parameter names."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def wanted(workspace: Workspace, event_type: str) -> bool:
    """Tell whether the workspace's EventsFilter lets this event type through (empty means all)."""
    if not workspace.event_callback_url:
        return False
    if not workspace.events_filter or not workspace.events_filter.strip():
        return True
    allowed = {part.strip() for part in workspace.events_filter.split(",") if part.strip()}
    return event_type in allowed


def event_callback(
    session: Session,
    *,
    workspace: Workspace,
    event: Mapping[str, Any],
    data: Mapping[str, str],
) -> None:
    """Queue the POST of one event (a row of Event columns) to the workspace's EventCallbackUrl,
    if it wants this type."""
    if not wanted(workspace, event["event_type"]):
        return
    params = {
        "EventType": event["event_type"],
        "AccountSid": event["account_sid"],
        "WorkspaceSid": workspace.sid,
        "WorkspaceName": workspace.friendly_name,
        "EventDescription": event["description"],
        "ResourceType": event["resource_type"],
        "ResourceSid": event["resource_sid"],
        "Timestamp": str(event["event_date_ms"] // 1000),
        "TimestampMs": str(event["event_date_ms"]),
        "Sid": event["sid"],
    }
    for key, value in data.items():
        params.setdefault(pascal(key), value)
    _queue(
        session,
        workspace=workspace,
        kind="event",
        url=workspace.event_callback_url or "",
        params=params,
        event_sid=event["sid"],
        event_type=event["event_type"],
    )


def assignment_callback(
    ctx: RoutingContext, *, task: Task, worker: Worker, reservation: Reservation
) -> None:
    """Queue the assignment callback of a new reservation, if its workflow has an AssignmentCallbackUrl."""
    workflow = ctx.workflows.get(task.workflow_sid or "")
    if workflow is None or not workflow.assignment_callback_url:
        return
    params = {
        "Timestamp": str(int(ctx.now.timestamp())),
        "AccountSid": task.account_sid,
        "WorkspaceSid": task.workspace_sid,
        "WorkflowSid": workflow.sid,
        "TaskQueueSid": reservation.task_queue_sid or "",
        "WorkerSid": worker.sid,
        "WorkerAttributes": worker.attributes,
        "TaskSid": task.sid,
        "TaskAttributes": task.attributes,
        "TaskAge": str(max(0, int((ctx.now - task.date_created).total_seconds()))),
        "TaskPriority": str(task.priority),
        "ReservationSid": reservation.sid,
    }
    _queue(
        ctx.session,
        workspace=ctx.workspace,
        kind="assignment",
        url=workflow.assignment_callback_url,
        fallback_url=workflow.fallback_assignment_callback_url,
        params=params,
        reservation_sid=reservation.sid,
        event_type="reservation.created",
    )


def _queue(
    session: Session,
    *,
    workspace: Workspace,
    kind: str,
    url: str,
    params: Mapping[str, str],
    fallback_url: str | None = None,
    event_sid: str | None = None,
    event_type: str | None = None,
    reservation_sid: str | None = None,
) -> None:
    # Delivery scheduling runs on wall-clock time: retries and back-off are infrastructure, not
    # TaskRouter behaviour, and must progress even while the emulated clock is frozen.
    now = utc_now()
    if not session.info.get(OUTBOX_WRITTEN):
        session.info[OUTBOX_WRITTEN] = True
        notify(session, OUTBOX_CHANNEL)  # other processes' dispatchers, on commit (Postgres)
    session.add(
        WebhookDelivery(
            account_sid=workspace.account_sid,
            workspace_sid=workspace.sid,
            kind=kind,
            event_sid=event_sid,
            event_type=event_type,
            reservation_sid=reservation_sid,
            url=url,
            fallback_url=fallback_url,
            parameters=json.dumps(dict(params)),
            status="pending",
            attempts=0,
            next_attempt_at=now,
            date_created=now,
            date_updated=now,
        )
    )
