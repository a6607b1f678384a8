"""TaskQueue rules: CRUD, the `target_workers` expression, and which workers a queue selects."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from taskrouter_emulator import lookup, validation
from taskrouter_emulator.activities import service as activity_service
from taskrouter_emulator.api.pagination import RowFilter
from taskrouter_emulator.api.urls import child_path
from taskrouter_emulator.clock import Clock
from taskrouter_emulator.errors import InvalidParameter
from taskrouter_emulator.events import recorder
from taskrouter_emulator.expressions import evaluate, parse
from taskrouter_emulator.jsontext import loads_strict
from taskrouter_emulator.models import Activity, Task, TaskQueue, Worker, Workflow, Workspace
from taskrouter_emulator.sids import Prefix, new_sid
from taskrouter_emulator.task_queues import members
from taskrouter_emulator.workers.context import parse_attributes, worker_variables
from taskrouter_emulator.workflows.configuration import ConfigurationError, parse_configuration

TASK_ORDERS = ("FIFO", "LIFO")
DEFAULT_TARGET_WORKERS = "1==1"
MAX_QUEUES = 5000
MAX_RESERVED_WORKERS = 50
ACTIVE_TASK_STATUSES = ("pending", "reserved", "assigned", "wrapping")


def path(queue: TaskQueue) -> str:
    """Return the path of a task queue."""
    return child_path(queue.workspace_sid, "TaskQueues", queue.sid)


def get(session: Session, *, workspace: Workspace, sid: str) -> TaskQueue:
    """Return a queue of the workspace or raise 404."""
    return lookup.get_in_workspace(
        session,
        TaskQueue,
        workspace_sid=workspace.sid,
        sid=sid,
        prefix=Prefix.TASK_QUEUE,
        segment="TaskQueues",
    )


def matches(queue: TaskQueue, worker_document: Mapping[str, Any]) -> bool:
    """Tell whether a worker document satisfies the queue's `target_workers` (empty matches nobody)."""
    return _selects(queue.target_workers, worker_document)


def _selects(target_workers: str | None, worker_document: Mapping[str, Any]) -> bool:
    if not target_workers:
        return False
    return evaluate(parse(target_workers), {"worker": worker_document}, bare="worker")


def list_query(
    *, workspace: Workspace, friendly_name: str | None, descending: bool
) -> Select[TaskQueue]:
    """Return the ordered query behind the queue list (expression filters are applied afterwards)."""
    stmt = select(TaskQueue).where(TaskQueue.workspace_sid == workspace.sid)
    if friendly_name is not None:
        stmt = stmt.where(TaskQueue.friendly_name == friendly_name)
    return stmt.order_by(TaskQueue.id.desc() if descending else TaskQueue.id)


def worker_document_filter(documents: Sequence[Mapping[str, Any] | None]) -> RowFilter:
    """Keep the queues whose `target_workers` select every described worker (None: no queue does)."""

    def verdicts(rows: Sequence[Any]) -> list[bool]:
        return [
            all(
                document is not None and _selects(target_workers, document)
                for document in documents
            )
            for _, target_workers in rows
        ]

    return RowFilter(key=TaskQueue.sid, columns=(TaskQueue.target_workers,), verdicts=verdicts)


def evaluate_worker_attributes(text: str) -> dict[str, Any]:
    """Parse the `EvaluateWorkerAttributes` filter (a JSON object of worker attributes)."""
    try:
        value = loads_strict(text)
    except json.JSONDecodeError as exc:
        raise InvalidParameter(f"EvaluateWorkerAttributes is not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise InvalidParameter("EvaluateWorkerAttributes must be a JSON object")
    return value


def worker_document(
    session: Session, *, workspace: Workspace, worker_sid: str
) -> dict[str, Any] | None:
    """Return the expression document of one worker of the workspace, if it exists."""
    row = session.execute(
        select(Worker, Activity)
        .join(Activity, Activity.sid == Worker.activity_sid)
        .where(Worker.sid == worker_sid, Worker.workspace_sid == workspace.sid)
    ).one_or_none()
    if row is None:
        return None
    worker, activity = row
    return worker_variables(
        sid=worker.sid,
        friendly_name=worker.friendly_name,
        attributes=parse_attributes(worker.attributes),
        activity_sid=activity.sid,
        activity_name=activity.friendly_name,
    )


def activity_names(session: Session, queues: Sequence[TaskQueue]) -> dict[str, str]:
    """Return the names of the reservation/assignment activities the queues point at."""
    return activity_service.names_of(
        session,
        {s for q in queues for s in (q.reservation_activity_sid, q.assignment_activity_sid)},
    )


def create(
    session: Session,
    *,
    clock: Clock,
    workspace: Workspace,
    friendly_name: str | None,
    target_workers: str | None = None,
    max_reserved_workers: int | None = None,
    task_order: str | None = None,
    reservation_activity_sid: str | None = None,
    assignment_activity_sid: str | None = None,
    sid: str | None = None,
) -> TaskQueue:
    """Create a queue; `target_workers` defaults to `1==1` (every worker)."""
    name = validation.friendly_name(friendly_name)
    count = (
        session.scalar(select(func.count()).where(TaskQueue.workspace_sid == workspace.sid)) or 0
    )
    if count >= MAX_QUEUES:
        raise InvalidParameter(f"A Workspace may have at most {MAX_QUEUES} TaskQueues")
    now = clock.now()
    queue = TaskQueue(
        sid=sid or new_sid(Prefix.TASK_QUEUE),
        account_sid=workspace.account_sid,
        workspace_sid=workspace.sid,
        friendly_name=name,
        target_workers=DEFAULT_TARGET_WORKERS,
        task_order="FIFO",
        max_reserved_workers=1,
        date_created=now,
        date_updated=now,
    )
    _apply(
        session,
        workspace,
        queue,
        target_workers=target_workers,
        max_reserved_workers=max_reserved_workers,
        task_order=task_order,
        reservation_activity_sid=reservation_activity_sid,
        assignment_activity_sid=assignment_activity_sid,
    )
    session.add(queue)
    members.refresh_queue(session, queue)
    session.flush()
    _record(session, clock, workspace, queue, "task-queue.created", f"TaskQueue {name} created")
    return queue


def update(
    session: Session,
    *,
    clock: Clock,
    workspace: Workspace,
    queue: TaskQueue,
    friendly_name: str | None = None,
    target_workers: str | None = None,
    max_reserved_workers: int | None = None,
    task_order: str | None = None,
    reservation_activity_sid: str | None = None,
    assignment_activity_sid: str | None = None,
) -> TaskQueue:
    """Apply the given changes; parameters left as None are unchanged."""
    previous_expression = queue.target_workers
    if friendly_name is not None:
        queue.friendly_name = validation.friendly_name(friendly_name) or queue.friendly_name
    _apply(
        session,
        workspace,
        queue,
        target_workers=target_workers,
        max_reserved_workers=max_reserved_workers,
        task_order=task_order,
        reservation_activity_sid=reservation_activity_sid,
        assignment_activity_sid=assignment_activity_sid,
    )
    queue.date_updated = clock.now()
    if queue.target_workers != previous_expression:
        members.refresh_queue(session, queue)
    session.flush()
    _record(
        session,
        clock,
        workspace,
        queue,
        "task-queue.updated",
        f"TaskQueue {queue.friendly_name} updated",
    )
    if queue.target_workers != previous_expression:
        _record(
            session,
            clock,
            workspace,
            queue,
            "task-queue.expression.updated",
            f"TaskQueue {queue.sid} expression updated to '{queue.target_workers or ''}'",
        )
    return queue


def delete_queue(session: Session, *, clock: Clock, workspace: Workspace, queue: TaskQueue) -> None:
    """Delete a queue unless a workflow routes to it or tasks are waiting or being worked in it."""
    for workflow in session.scalars(
        select(Workflow).where(Workflow.workspace_sid == workspace.sid)
    ):
        try:
            referenced = parse_configuration(workflow.configuration).queue_sids()
        except ConfigurationError:
            continue
        if queue.sid in referenced:
            raise InvalidParameter(
                f"TaskQueue {queue.sid} is referenced by Workflow {workflow.sid} and cannot be deleted"
            )
    active = session.scalar(
        select(func.count()).where(
            Task.task_queue_sid == queue.sid, Task.assignment_status.in_(ACTIVE_TASK_STATUSES)
        )
    )
    if active:
        raise InvalidParameter(
            f"TaskQueue {queue.sid} has {active} active Task(s) and cannot be deleted"
        )
    _record(
        session,
        clock,
        workspace,
        queue,
        "task-queue.deleted",
        f"TaskQueue {queue.friendly_name} deleted",
    )
    session.delete(queue)
    session.flush()


def _apply(
    session: Session,
    workspace: Workspace,
    queue: TaskQueue,
    *,
    target_workers: str | None,
    max_reserved_workers: int | None,
    task_order: str | None,
    reservation_activity_sid: str | None,
    assignment_activity_sid: str | None,
) -> None:
    if target_workers is not None:
        # An empty expression is allowed: tasks then wait until they are moved or canceled.
        queue.target_workers = (
            validation.expression(target_workers, name="TargetWorkers")
            if target_workers.strip()
            else ""
        )
    if max_reserved_workers is not None:
        if not 1 <= max_reserved_workers <= MAX_RESERVED_WORKERS:
            raise InvalidParameter(
                f"MaxReservedWorkers must be between 1 and {MAX_RESERVED_WORKERS}"
            )
        queue.max_reserved_workers = max_reserved_workers
    if task_order is not None:
        queue.task_order = validation.one_of(task_order, TASK_ORDERS, name="TaskOrder") or "FIFO"
    if reservation_activity_sid is not None:
        queue.reservation_activity_sid = _activity_or_none(
            session, workspace, reservation_activity_sid, "ReservationActivitySid"
        )
    if assignment_activity_sid is not None:
        queue.assignment_activity_sid = _activity_or_none(
            session, workspace, assignment_activity_sid, "AssignmentActivitySid"
        )


def _activity_or_none(
    session: Session, workspace: Workspace, sid: str, parameter: str
) -> str | None:
    if sid == "":
        return None
    return activity_service.find(session, workspace=workspace, sid=sid, parameter=parameter).sid


def _record(
    session: Session,
    clock: Clock,
    workspace: Workspace,
    queue: TaskQueue,
    event_type: str,
    description: str,
) -> None:
    recorder.record(
        session,
        clock=clock,
        workspace=workspace,
        event_type=event_type,
        resource_type="taskqueue",
        resource_sid=queue.sid,
        resource_path=path(queue),
        description=description,
        data=recorder.task_queue_fields(queue),
    )
