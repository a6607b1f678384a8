"""A task's place in its workflow: entering a step, step timeouts, re-evaluation.

The engine chooses the step (`engine.decide`, `engine.next_target`); this module moves the task
there, records the workflow and queue events, and sets the step's timeout.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskrouter_emulator import versions
from taskrouter_emulator.clock import Clock
from taskrouter_emulator.lifecycle import offers
from taskrouter_emulator.lifecycle.dispatch import cancel, route
from taskrouter_emulator.lifecycle.events import task_event
from taskrouter_emulator.models import Task, TaskQueue, Workspace
from taskrouter_emulator.routing import engine
from taskrouter_emulator.routing.context import RoutingContext
from taskrouter_emulator.routing.engine import WAITING
from taskrouter_emulator.workflows.configuration import Target


def enter_workflow(
    ctx: RoutingContext,
    task: Task,
    *,
    reevaluate: bool = False,
    decision: engine.Decision | None = None,
) -> None:
    """Evaluate the task's workflow and place it in the chosen step (or cancel it if it skipped out)."""
    decision = decision or engine.decide(ctx, task)
    if not reevaluate:
        task_event(
            ctx, task, "workflow.entered", f"Task {task.sid} entered Workflow {task.workflow_sid}"
        )
    if decision.target is None:
        task_event(
            ctx,
            task,
            "workflow.skipped",
            f"Task {task.sid} skipped out of Workflow {task.workflow_sid}",
        )
        cancel(ctx, task, reason=engine.WORKFLOW_SKIPPED_REASON)
        return
    _place(ctx, task, decision.filter_index, decision.target_index, decision.target)


def place_in_queue(ctx: RoutingContext, task: Task, queue: TaskQueue) -> None:
    """Put a task straight into a queue (direct queue routing: no workflow steps)."""
    task.filter_index = None
    task.target_index = None
    _enter_queue(ctx, task, queue.sid, step_timeout_at=None)


def advance_step(ctx: RoutingContext, task: Task) -> None:
    """A step timed out: leave the queue, take the next target, or cancel the task at the end."""
    if (
        task.assignment_status not in WAITING
        or task.filter_index is None
        or task.target_index is None
    ):
        task.step_timeout_at = None
        return
    freed = offers.withdraw(ctx, task)
    task.step_timeout_at = None
    task_event(
        ctx,
        task,
        "task-queue.timeout",
        f"Task {task.sid} timed out of TaskQueue {task.task_queue_sid}",
    )
    next_index = engine.next_target(ctx, task)
    if next_index is not None:
        _place_in_step(ctx, task, next_index)
        route(ctx, task_sids=[task.sid])
    else:
        task_event(
            ctx,
            task,
            "workflow.timeout",
            f"Task {task.sid} timed out of Workflow {task.workflow_sid}",
        )
        cancel(ctx, task, reason=engine.WORKFLOW_TIMEOUT_REASON)
    route(ctx, worker_sids=freed)


def move_on_after_reservation_timeout(ctx: RoutingContext, task: Task) -> None:
    """A reservation timed out: the task re-evaluates and takes the next step of its filter.

    Twilio's worked example (docs "Lifecycle of a Task: Timeout evaluation"): targets Q1, Q2, Q3 of
    10 s each, reservation timeout 5 s; the reservation made at t=3 times out at t=8 and "Task A
    re-evaluates and maps to Q2", whose deadline stays the cumulative, task-age based 20 s. In the
    last step (or the default filter) the task stays where it is until that step's deadline.
    """
    if task.assignment_status != "pending" or (
        task.routing_target is not None and not task.routing_target.startswith("WW")
    ):
        return
    next_index = engine.next_target(ctx, task)
    if next_index is None:
        return
    _place_in_step(ctx, task, next_index)


def reevaluate_workflow(ctx: RoutingContext, workflow_sid: str) -> None:
    """Push the workflow's waiting tasks through its (new) configuration again (`ReEvaluateTasks`)."""
    waiting = list(
        ctx.session.scalars(
            select(Task)
            .where(
                Task.workspace_sid == ctx.workspace.sid,
                Task.workflow_sid == workflow_sid,
                Task.assignment_status.in_(WAITING),
                Task.routing_target.is_(None) | Task.routing_target.like("WW%"),
            )
            .order_by(Task.id)
        )
    )
    freed: list[str] = []
    for task in waiting:
        freed.extend(offers.withdraw(ctx, task))
        try:
            enter_workflow(ctx, task, reevaluate=True)
        except engine.NoMatchingFilter:
            cancel(ctx, task, reason="Task no longer matches any filter of its Workflow")
    route(ctx, task_sids=[t.sid for t in waiting if t.assignment_status in WAITING])
    route(ctx, worker_sids=freed)


def route_after_change(
    session: Session,
    *,
    clock: Clock,
    workspace: Workspace,
    worker_sids: Collection[str] | None = None,
    workflow_sid: str | None = None,
) -> None:
    """Route after a change made outside the lifecycle: some workers changed, a queue changed (all), or a workflow re-evaluates."""
    ctx = RoutingContext.load(session, clock=clock, workspace=workspace)
    if workflow_sid is not None:
        reevaluate_workflow(ctx, workflow_sid)
    else:
        route(ctx, worker_sids=worker_sids)


def _place_in_step(ctx: RoutingContext, task: Task, index: int) -> None:
    """Place the task in another target of its current filter."""
    configuration = ctx.configuration(task.workflow_sid)
    assert configuration is not None
    assert task.filter_index is not None
    targets = configuration.filters[task.filter_index].targets
    _place(ctx, task, task.filter_index, index, targets[index])


def _place(ctx: RoutingContext, task: Task, filter_index: int, index: int, target: Target) -> None:
    configuration = ctx.configuration(task.workflow_sid)
    assert configuration is not None
    task.filter_index, task.target_index = filter_index, index
    # A target's priority wins over the task's own while the task is in that step.
    task.priority = (
        target.priority if target.priority is not None else (task.requested_priority or 0)
    )
    deadline = (
        engine.step_deadline(task, configuration.filters[filter_index].targets, index)
        if filter_index >= 0
        else None
    )
    step = "default filter" if filter_index < 0 else f"filter {filter_index} target {index}"
    task_event(
        ctx,
        task,
        "workflow.target-matched",
        f"Task {task.sid} matched {step} of Workflow {task.workflow_sid}",
    )
    _enter_queue(ctx, task, target.queue, step_timeout_at=deadline)


def _enter_queue(
    ctx: RoutingContext, task: Task, queue_sid: str, *, step_timeout_at: datetime | None
) -> None:
    previous = task.task_queue_sid
    task.step_timeout_at = step_timeout_at
    versions.bump(ctx.session, task, ctx.now)
    task.date_updated = ctx.now
    if previous == queue_sid:
        ctx.session.flush()
        return
    if previous is not None:
        task_event(
            ctx,
            task,
            "task-queue.moved",
            f"Task {task.sid} moved from TaskQueue {previous} to {queue_sid}",
        )
    task.task_queue_sid = queue_sid
    task.task_queue_entered_at = ctx.now
    ctx.session.flush()
    task_event(ctx, task, "task-queue.entered", f"Task {task.sid} entered TaskQueue {queue_sid}")
