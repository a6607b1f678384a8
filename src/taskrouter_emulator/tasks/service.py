"""Tasks as a resource: lookup, create and update requests validated, the list and its filters.

The transitions themselves (routing, cancel, wrap-up, completion, deletion) are the lifecycle's
(`lifecycle.tasks`, `lifecycle.dispatch`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from taskrouter_emulator import lookup, validation, versions
from taskrouter_emulator.api.forms import json_object_text
from taskrouter_emulator.api.pagination import RowFilter
from taskrouter_emulator.api.urls import child_path
from taskrouter_emulator.errors import InvalidParameter, PreconditionFailed
from taskrouter_emulator.expressions import evaluate, parse
from taskrouter_emulator.lifecycle import tasks as task_lifecycle
from taskrouter_emulator.lifecycle.dispatch import cancel
from taskrouter_emulator.lifecycle.events import task_event
from taskrouter_emulator.models import (
    Task,
    TaskChannel,
    TaskQueue,
    Worker,
    Workflow,
    Workspace,
)
from taskrouter_emulator.routing import engine
from taskrouter_emulator.routing.context import RoutingContext, cached_attributes
from taskrouter_emulator.sids import Prefix, is_sid, new_sid

STATUSES = ("pending", "reserved", "assigned", "canceled", "wrapping", "completed")
DEFAULT_TIMEOUT = 86400
MAX_TIMEOUT = 1209600
MAX_PRIORITY = 2**31 - 1
MAX_ATTRIBUTES_LENGTH = 4096
MAX_ASSIGNMENT_COUNT = engine.MAX_ASSIGNMENT_COUNT
# Tasks per workspace in any state (Twilio's limits page); checked in strict-limits mode only,
# because counting them on every create costs time that the hot path should not pay by default.
MAX_TASKS_PER_WORKSPACE = 500_000
ORDERING_FIELDS = {
    "datecreated": Task.id,
    "priority": Task.priority,
    "virtualstarttime": Task.virtual_start_time,
}
_YEAR_1900 = datetime(1900, 1, 1, tzinfo=UTC)


def path(task: Task) -> str:
    """Return the path of a task."""
    return child_path(task.workspace_sid, "Tasks", task.sid)


def get(session: Session, *, workspace: Workspace, sid: str) -> Task:
    """Return a task of the workspace, or 404 (also once it has been deleted)."""
    return lookup.get_in_workspace(
        session, Task, workspace_sid=workspace.sid, sid=sid, prefix=Prefix.TASK, segment="Tasks"
    )


def check_if_match(task: Task, if_match: str | None) -> None:
    """Compare an If-Match header with the task's version (412 on mismatch)."""
    if if_match is not None and if_match.strip().strip('"') != str(task.version):
        raise PreconditionFailed(
            f"Precondition failed: ETag {task.version} does not match If-Match {if_match.strip()}"
        )


def create(
    ctx: RoutingContext,
    *,
    attributes: str | None = None,
    priority: int | None = None,
    timeout: int | None = None,
    task_channel: str | None = None,
    workflow_sid: str | None = None,
    virtual_start_time: datetime | None = None,
    routing_target: str | None = None,
    ignore_capacity: bool | None = None,
    task_queue_sid: str | None = None,
    max_tasks: int | None = None,
) -> Task:
    """Create a task, route it through its workflow (or straight to its target) and try to reserve a worker."""
    session, workspace, now = ctx.session, ctx.workspace, ctx.now
    if max_tasks is not None:
        count = session.scalar(select(func.count()).where(Task.workspace_sid == workspace.sid))
        if (count or 0) >= max_tasks:
            raise InvalidParameter(f"A Workspace may have at most {max_tasks} Tasks")
    text = (
        json_object_text(attributes, name="Attributes", max_length=MAX_ATTRIBUTES_LENGTH)
        if attributes
        else "{}"
    )
    _check_priority(priority)
    ttl = DEFAULT_TIMEOUT if timeout is None else timeout
    if not 1 <= ttl <= MAX_TIMEOUT:
        raise InvalidParameter(f"Timeout must be between 1 and {MAX_TIMEOUT} seconds")
    channel = _channel(ctx, task_channel or "default")
    start = _virtual_start_time(virtual_start_time, now) if virtual_start_time else now
    target_worker, target_queue, workflow = _route_target(
        ctx, routing_target, task_queue_sid, workflow_sid
    )
    if ignore_capacity is None:
        # Direct-to-worker tasks ignore capacity and availability unless told otherwise.
        ignore_capacity = target_worker is not None
    task = Task(
        sid=new_sid(Prefix.TASK),
        account_sid=workspace.account_sid,
        workspace_sid=workspace.sid,
        attributes=text,
        addons="{}",
        assignment_status="pending",
        priority=priority or 0,
        requested_priority=priority,
        timeout=ttl,
        task_channel_sid=channel.sid,
        workflow_sid=workflow.sid if workflow else None,
        virtual_start_time=start,
        routing_target=routing_target or None,
        ignore_capacity=ignore_capacity,
        expires_at=now + timedelta(seconds=ttl),
        assignment_count=0,
        version=0,
        date_created=now,
        date_updated=now,
    )
    versions.created(session, task)
    task_lifecycle.admit(ctx, task, queue=target_queue)
    return task


def update(
    ctx: RoutingContext,
    task: Task,
    *,
    attributes: str | None = None,
    assignment_status: str | None = None,
    reason: str | None = None,
    priority: int | None = None,
    task_channel: str | None = None,
    virtual_start_time: datetime | None = None,
) -> Task:
    """Update a task; attribute, priority or channel changes on a waiting task re-route it."""
    if assignment_status is not None and assignment_status not in STATUSES:
        raise InvalidParameter(
            f"Invalid AssignmentStatus '{assignment_status}'; expected one of {', '.join(STATUSES)}"
        )
    if assignment_status in ("wrapping", "completed") and attributes is not None:
        # Twilio requires two requests for this.
        raise InvalidParameter(
            "AssignmentStatus wrapping or completed cannot be combined with an Attributes update"
        )
    if task.assignment_status in ("canceled", "completed") and (
        attributes is not None
        or priority is not None
        or task_channel is not None
        or virtual_start_time is not None
    ):
        raise InvalidParameter(f"Task {task.sid} is {task.assignment_status} and cannot be updated")
    _check_priority(priority)
    changed = False
    reroute = False
    if attributes is not None:
        task.attributes = json_object_text(
            attributes, name="Attributes", max_length=MAX_ATTRIBUTES_LENGTH
        )
        changed = reroute = True
    if priority is not None:
        task.requested_priority = priority
        target = ctx.target_of(task)
        task.priority = (
            target.priority if target is not None and target.priority is not None else priority
        )
        changed = reroute = True
    if task_channel is not None:
        task.task_channel_sid = _channel(ctx, task_channel).sid
        changed = reroute = True
    if virtual_start_time is not None:
        task.virtual_start_time = _virtual_start_time(virtual_start_time, ctx.now)
        changed = True
    if reason is not None and assignment_status is None:
        task.reason = reason
        changed = True
    if changed:
        versions.bump(ctx.session, task, ctx.now)
        task.date_updated = ctx.now
        ctx.session.flush()
        if attributes is not None:
            task_event(ctx, task, "task.updated", f"Task {task.sid} updated")
    if assignment_status is not None and assignment_status != task.assignment_status:
        _transition(ctx, task, assignment_status, reason)
    elif reroute and task.assignment_status in ("pending", "reserved"):
        # New attributes can match another filter of the task's workflow: evaluate it again.
        reevaluate = (
            attributes is not None and bool(task.workflow_sid) and task.routing_target is None
        )
        task_lifecycle.reroute(ctx, task, reevaluate=reevaluate)
    return task


def list_query(
    *,
    workspace: Workspace,
    priority: int | None = None,
    statuses: Sequence[str] | None = None,
    workflow_sid: str | None = None,
    workflow_name: str | None = None,
    task_queue_sid: str | None = None,
    task_queue_name: str | None = None,
    routing_target: str | None = None,
    ordering: str | None = None,
    has_addons: bool | None = None,
) -> Select[Task]:
    """Return the ordered query behind the task list (EvaluateTaskAttributes is applied afterwards)."""
    stmt = select(Task).where(Task.workspace_sid == workspace.sid)
    if priority is not None:
        stmt = stmt.where(Task.priority == priority)
    if statuses:
        bad = [s for s in statuses if s not in STATUSES]
        if bad:
            raise InvalidParameter(
                f"Invalid AssignmentStatus '{bad[0]}'; expected one of {', '.join(STATUSES)}"
            )
        stmt = stmt.where(Task.assignment_status.in_(statuses))
    if workflow_sid is not None:
        stmt = stmt.where(Task.workflow_sid == workflow_sid)
    if workflow_name is not None:
        stmt = stmt.where(
            Task.workflow_sid.in_(
                select(Workflow.sid).where(
                    Workflow.workspace_sid == workspace.sid, Workflow.friendly_name == workflow_name
                )
            )
        )
    if task_queue_sid is not None:
        stmt = stmt.where(Task.task_queue_sid == task_queue_sid)
    if task_queue_name is not None:
        stmt = stmt.where(
            Task.task_queue_sid.in_(
                select(TaskQueue.sid).where(
                    TaskQueue.workspace_sid == workspace.sid,
                    TaskQueue.friendly_name == task_queue_name,
                )
            )
        )
    if routing_target is not None:
        stmt = stmt.where(Task.routing_target == routing_target)
    if has_addons is not None:
        stmt = stmt.where(Task.addons != "{}") if has_addons else stmt.where(Task.addons == "{}")
    return stmt.order_by(*_ordering(ordering))


def expression_filter(expression: str) -> RowFilter:
    """Keep the tasks whose attributes satisfy an `EvaluateTaskAttributes` expression."""
    parsed = parse(validation.expression(expression, name="EvaluateTaskAttributes"))

    def verdicts(rows: Sequence[Any]) -> list[bool]:
        return [
            evaluate(parsed, {"task": cached_attributes(attributes)}, bare="task")
            for _, attributes in rows
        ]

    return RowFilter(key=Task.sid, columns=(Task.attributes,), verdicts=verdicts)


def names(session: Session, tasks: Sequence[Task]) -> dict[str, Any]:
    """Load the queue, workflow and channel names a page of tasks shows, in three queries."""
    queue_sids = {t.task_queue_sid for t in tasks if t.task_queue_sid}
    workflow_sids = {t.workflow_sid for t in tasks if t.workflow_sid}
    channel_sids = {t.task_channel_sid for t in tasks}
    found: dict[str, Any] = {}
    for sid_column, name_column, sids in (
        (TaskQueue.sid, TaskQueue.friendly_name, queue_sids),
        (Workflow.sid, Workflow.friendly_name, workflow_sids),
        (TaskChannel.sid, TaskChannel.unique_name, channel_sids),
    ):
        if sids:
            found.update(
                {
                    row[0]: row[1]
                    for row in session.execute(
                        select(sid_column, name_column).where(sid_column.in_(sids))
                    )
                }
            )
    return found


def names_in(ctx: RoutingContext, task: Task) -> dict[str, Any]:
    """The queue, workflow and channel names of one task, from the routing context already loaded."""
    found: dict[str, Any] = {}
    queue = ctx.queues.get(task.task_queue_sid or "")
    if queue is not None:
        found[queue.sid] = queue.friendly_name
    workflow = ctx.workflows.get(task.workflow_sid or "")
    if workflow is not None:
        found[workflow.sid] = workflow.friendly_name
    channel = ctx.channels.get(task.task_channel_sid)
    if channel is not None:
        found[channel.sid] = channel.unique_name
    return found


def delete_task(ctx: RoutingContext, task: Task) -> None:
    """Delete a task through the API (`task.deleted`); pending offers are canceled first."""
    task_lifecycle.delete(ctx, task)


def _transition(ctx: RoutingContext, task: Task, status: str, reason: str | None) -> None:
    if status == "canceled":
        cancel(ctx, task, reason=reason)
    elif status == "wrapping":
        task_lifecycle.wrap(ctx, task)
    elif status == "completed":
        task_lifecycle.complete(ctx, task, reason=reason)
    else:
        raise InvalidParameter(
            f"AssignmentStatus can only be set to canceled, wrapping or completed, not '{status}'"
        )


def _check_priority(priority: int | None) -> None:
    if priority is not None and not 0 <= priority <= MAX_PRIORITY:
        raise InvalidParameter(f"Priority must be between 0 and {MAX_PRIORITY}")


def _channel(ctx: RoutingContext, sid_or_name: str) -> TaskChannel:
    for channel in ctx.channels.values():
        if sid_or_name in (channel.sid, channel.unique_name):
            return channel
    raise InvalidParameter(
        f"TaskChannel '{sid_or_name}' does not exist in Workspace {ctx.workspace.sid}"
    )


def _virtual_start_time(value: datetime, now: datetime) -> datetime:
    if value > now:
        raise InvalidParameter("VirtualStartTime cannot be in the future")
    if value < _YEAR_1900:
        raise InvalidParameter("VirtualStartTime cannot be before 1900")
    return value


def _route_target(
    ctx: RoutingContext,
    routing_target: str | None,
    task_queue_sid: str | None,
    workflow_sid: str | None,
) -> tuple[Worker | None, TaskQueue | None, Workflow | None]:
    """Resolve where a new task goes: a worker, a queue, or a workflow (the only one, if not named)."""
    if routing_target:
        if is_sid(routing_target, Prefix.WORKER):
            worker = ctx.session.scalars(
                select(Worker).where(
                    Worker.sid == routing_target, Worker.workspace_sid == ctx.workspace.sid
                )
            ).one_or_none()
            if worker is None:
                raise InvalidParameter(
                    f"RoutingTarget {routing_target} is not a Worker of this Workspace"
                )
            return worker, None, None
        if is_sid(routing_target, Prefix.TASK_QUEUE):
            queue = ctx.queues.get(routing_target)
            if queue is None:
                raise InvalidParameter(
                    f"RoutingTarget {routing_target} is not a TaskQueue of this Workspace"
                )
            return None, queue, None
        if is_sid(routing_target, Prefix.WORKFLOW):
            workflow_sid = routing_target
        else:
            raise InvalidParameter(
                f"RoutingTarget {routing_target} must be a Worker, TaskQueue or Workflow SID"
            )
    if task_queue_sid and not workflow_sid:
        queue = ctx.queues.get(task_queue_sid)
        if queue is None:
            raise InvalidParameter(
                f"TaskQueueSid {task_queue_sid} is not a TaskQueue of this Workspace"
            )
        return None, queue, None
    if workflow_sid:
        workflow = ctx.workflows.get(workflow_sid)
        if workflow is None:
            raise InvalidParameter(
                f"WorkflowSid {workflow_sid} is not a Workflow of this Workspace"
            )
        return None, None, workflow
    only = ctx.only_workflow()
    if only is not None:
        return None, None, only
    raise InvalidParameter("WorkflowSid field is required")


def _ordering(ordering: str | None) -> list[Any]:
    if not ordering:
        return [Task.id]
    columns: list[Any] = []
    seen = set()
    for part in ordering.split(","):
        field, _, direction = part.strip().partition(":")
        key = field.strip().lower()
        direction = (direction or "asc").strip().lower()
        if key not in ORDERING_FIELDS or direction not in ("asc", "desc"):
            raise InvalidParameter(
                f"Invalid Ordering '{ordering}'; use DateCreated, Priority or VirtualStartTime with :asc or :desc"
            )
        seen.add(key)
        column = ORDERING_FIELDS[key]
        columns.append(column.desc() if direction == "desc" else column.asc())
    if {"datecreated", "virtualstarttime"} <= seen:
        raise InvalidParameter("Ordering cannot combine DateCreated and VirtualStartTime")
    return [*columns, Task.id]
