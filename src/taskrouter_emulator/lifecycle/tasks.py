"""Task transitions: a new task entering routing, re-routing, wrap-up, completion, deletion, expiry.

Statuses: pending → reserved (an offer is out) → assigned (accepted) → wrapping → completed;
pending or reserved → canceled (`dispatch.cancel`). An assigned task never becomes canceled.
"""

from __future__ import annotations

from sqlalchemy import select

from taskrouter_emulator import versions
from taskrouter_emulator.errors import InvalidParameter
from taskrouter_emulator.lifecycle import offers
from taskrouter_emulator.lifecycle.dispatch import cancel, finish, route
from taskrouter_emulator.lifecycle.events import task_event
from taskrouter_emulator.lifecycle.workflow import enter_workflow, place_in_queue
from taskrouter_emulator.models import Reservation, Task, TaskQueue
from taskrouter_emulator.routing import engine
from taskrouter_emulator.routing.context import RoutingContext

# An assigned task is deleted by the system after 24 hours (not configurable on Twilio).
ASSIGNED_TASK_LIFETIME = 86400
TTL_REASON = "Task TTL Exceeded"


def admit(ctx: RoutingContext, task: Task, *, queue: TaskQueue | None) -> None:
    """Route a new task: into `queue` (direct queue routing) or through its workflow, then offer it.

    The task is not in the session yet: it is added once routed (`offers.create` adds it before
    its first reservation), so its row is inserted once with its queue and status instead of
    being inserted and then updated after each step.
    """
    decision = engine.decide(ctx, task) if task.workflow_sid is not None else None
    queue_sid = queue.sid if queue is not None else (decision.queue_sid if decision else None)
    task_event(ctx, task, "task.created", f"Task {task.sid} created", queue_sid=queue_sid)
    if queue is not None:
        place_in_queue(ctx, task, queue)
    elif decision is not None:
        enter_workflow(ctx, task, decision=decision)
    if task.assignment_status == "pending":
        route(ctx, tasks=[task])
    ctx.session.add(task)


def reroute(ctx: RoutingContext, task: Task, *, reevaluate: bool) -> None:
    """Route a waiting task again after a change; with `reevaluate` its workflow is evaluated anew."""
    if reevaluate:
        # New attributes can match another filter: evaluate the workflow again.
        freed = offers.withdraw(ctx, task)
        enter_workflow(ctx, task, reevaluate=True)
        route(ctx, worker_sids=freed)
    if task.assignment_status == "pending":
        route(ctx, tasks=[task])


def wrap(ctx: RoutingContext, task: Task) -> None:
    """Move an assigned task (and its accepted reservations) to wrapping."""
    if task.assignment_status != "assigned":
        raise InvalidParameter(
            f"Cannot wrap up a task {task.sid} in workspace {task.workspace_sid} for account {task.account_sid} "
            "because it is not currently assigned."
        )
    task.assignment_status = "wrapping"
    versions.bump(ctx.session, task, ctx.now)
    task.date_updated = ctx.now
    ctx.session.flush()
    task_event(ctx, task, "task.wrapup", f"Task {task.sid} wrapping up")
    offers.follow_task(ctx, task, status="wrapping", event_type="reservation.wrapup")


def complete(ctx: RoutingContext, task: Task, *, reason: str | None) -> None:
    """Complete an assigned or wrapping task (and its reservations); the workers' capacity is freed."""
    if task.assignment_status not in ("assigned", "wrapping"):
        raise InvalidParameter(
            f"Cannot complete task {task.sid} in workspace {task.workspace_sid} for account {task.account_sid} "
            "because it is not currently assigned."
        )
    freed = offers.follow_task(ctx, task, status="completed", event_type="reservation.completed")
    task.assignment_status = "completed"
    task.reason = reason
    finish(ctx, task)
    task_event(
        ctx,
        task,
        "task.completed",
        f"Task {task.sid} completed" + (f": {reason}" if reason else ""),
    )
    route(ctx, worker_sids=freed)


def delete(ctx: RoutingContext, task: Task) -> None:
    """Delete a task through the API (`task.deleted`); pending offers are canceled first."""
    freed = offers.withdraw(ctx, task)
    busy = list(
        ctx.session.scalars(
            select(Reservation.worker_sid).where(
                Reservation.task_sid == task.sid,
                Reservation.reservation_status.in_(("accepted", "wrapping")),
            )
        )
    )
    task_event(ctx, task, "task.deleted", f"Task {task.sid} deleted")
    ctx.session.delete(task)
    ctx.session.flush()
    route(ctx, worker_sids=[*freed, *busy])


def expire(ctx: RoutingContext, task: Task) -> None:
    """Apply the task's deadline: TTL cancels a waiting task; an assigned one is system-deleted after 24 h."""
    if task.assignment_status in ("pending", "reserved"):
        cancel(ctx, task, reason=TTL_REASON)
    elif task.assignment_status in ("assigned", "wrapping"):
        system_delete(ctx, task)


def system_delete(ctx: RoutingContext, task: Task) -> None:
    """Remove a task on TaskRouter's own initiative (retention or the 24-hour limit): `task.system-deleted`."""
    busy = list(
        ctx.session.scalars(
            select(Reservation.worker_sid).where(
                Reservation.task_sid == task.sid,
                Reservation.reservation_status.in_(("pending", "accepted", "wrapping")),
            )
        )
    )
    task_event(ctx, task, "task.system-deleted", f"Task {task.sid} deleted by the system")
    ctx.session.delete(task)
    ctx.session.flush()
    route(ctx, worker_sids=busy)
