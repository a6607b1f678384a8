"""Task and reservation events in one line each, with the Task, TaskQueue, Workflow and Worker groups."""

from __future__ import annotations

from taskrouter_emulator.api.urls import child_path
from taskrouter_emulator.events import recorder
from taskrouter_emulator.models import Reservation, Task, Worker
from taskrouter_emulator.routing.context import RoutingContext


def task_event(
    ctx: RoutingContext,
    task: Task,
    event_type: str,
    description: str,
    *,
    reservation: Reservation | None = None,
    worker: Worker | None = None,
    queue_sid: str | None = None,
) -> None:
    """Record an event about a task (and, for reservation events, the reservation and its worker)."""
    data = recorder.task_fields(
        task, channel_unique_name=ctx.channel_name(task.task_channel_sid), now=ctx.now
    )
    if queue_sid is not None:
        data["task_queue_sid"] = queue_sid
    # `queue_sid` names the queue a new task is about to enter: live task.created callbacks carry it.
    queue = ctx.queues.get(queue_sid or task.task_queue_sid or "")
    if queue is not None:
        data.update(recorder.task_queue_fields(queue))
    workflow = ctx.workflows.get(task.workflow_sid or "")
    if workflow is not None:
        data.update(recorder.workflow_fields(workflow))
    if reservation is not None:
        data.update(recorder.reservation_fields(reservation))
    if worker is not None:
        activity = ctx.activities.get(worker.activity_sid)
        if activity is not None:
            data.update(recorder.worker_fields(worker, activity))
    recorder.record(
        ctx.session,
        clock=ctx.clock,
        workspace=ctx.workspace,
        event_type=event_type,
        resource_type="task",
        resource_sid=task.sid,
        resource_path=child_path(ctx.workspace.sid, "Tasks", task.sid),
        description=description,
        data=data,
    )
