"""Reservation rows: offer a task, end an offer, move reservations along with their task.

Nothing here routes: the callers (dispatch, tasks, reservations) route the tasks and workers these
functions return once the change is complete.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, select

from taskrouter_emulator import versions
from taskrouter_emulator.callbacks import outbox
from taskrouter_emulator.lifecycle import workers
from taskrouter_emulator.lifecycle.events import task_event
from taskrouter_emulator.models import Reservation, Task, TaskQueue, Worker
from taskrouter_emulator.routing.context import RoutingContext
from taskrouter_emulator.sids import Prefix, new_sid

DEFAULT_RESERVATION_TIMEOUT = 120


def bump(reservation: Reservation, ctx: RoutingContext, status: str) -> None:
    """Move a reservation to `status`, bumping its version."""
    reservation.reservation_status = status
    versions.bump(ctx.session, reservation, ctx.now)
    reservation.date_updated = ctx.now
    if status != "pending":
        reservation.timeout_at = None


def create(
    ctx: RoutingContext, *, task: Task, worker: Worker, queue: TaskQueue | None
) -> Reservation:
    """Offer a task to a worker: the reservation is pending until accepted, rejected or timed out."""
    workflow = ctx.workflows.get(task.workflow_sid or "")
    timeout = workflow.task_reservation_timeout if workflow else DEFAULT_RESERVATION_TIMEOUT
    reservation = Reservation(
        sid=new_sid(Prefix.RESERVATION),
        account_sid=task.account_sid,
        workspace_sid=task.workspace_sid,
        task_sid=task.sid,
        worker_sid=worker.sid,
        reservation_status="pending",
        task_channel_sid=task.task_channel_sid,
        task_queue_sid=queue.sid if queue else None,
        workflow_sid=task.workflow_sid,
        timeout_at=ctx.now + timedelta(seconds=timeout),
        version=0,
        date_created=ctx.now,
        date_updated=ctx.now,
    )
    if task.assignment_status == "pending":
        task.assignment_status = "reserved"
        task.assignment_count += 1
    versions.bump(ctx.session, task, ctx.now)
    task.date_updated = ctx.now
    # Longest-idle ordering counts from the worker's last reservation.
    worker.idle_since = ctx.now
    if task not in ctx.session:
        # A new task (`lifecycle.tasks.admit`) is inserted with its first offer, and before it
        # (the flush does not order rows of unrelated mappers by their foreign keys).
        ctx.session.add(task)
        ctx.session.flush()
    ctx.session.add(reservation)
    versions.created(ctx.session, reservation)
    ctx.session.flush()
    if (
        not ctx.workspace.multi_task_enabled
        and queue is not None
        and queue.reservation_activity_sid
    ):
        move_worker(ctx, worker, queue.reservation_activity_sid)
    task_event(
        ctx,
        task,
        "reservation.created",
        f"Task {task.sid} reserved for Worker {worker.friendly_name} with Reservation {reservation.sid}",
        reservation=reservation,
        worker=worker,
    )
    outbox.assignment_callback(ctx, task=task, worker=worker, reservation=reservation)
    return reservation


def end_offer(
    ctx: RoutingContext,
    reservation: Reservation,
    *,
    status: str,
    event_type: str,
    description: str,
    activity_sid: str | None = None,
) -> Task:
    """End a pending offer unaccepted and return its task, which the caller routes again.

    Every path (reject, `WorkerActivitySid`, time-out, `RejectPendingReservations`) shares this
    order: the reservation ends, the worker moves to its new activity, the task is released, the
    event is recorded, and only then is the task re-routed, so it never goes back to a worker
    that is leaving.
    """
    worker = worker_of(ctx, reservation)
    task = task_of(ctx, reservation)
    bump(reservation, ctx, status)
    if activity_sid:
        move_worker(ctx, worker, activity_sid)
    _release_task(ctx, task)
    task_event(ctx, task, event_type, description, reservation=reservation, worker=worker)
    return task


def withdraw(ctx: RoutingContext, task: Task) -> list[str]:
    """Cancel a waiting task's pending offers (it is pending again); return the workers freed."""
    freed = end_pending(ctx, task, status="canceled", event_type="reservation.canceled")
    if task.assignment_status == "reserved":
        task.assignment_status = "pending"
    return freed


def end_pending(ctx: RoutingContext, task: Task, *, status: str, event_type: str) -> list[str]:
    """End every pending reservation of a task (canceled or rescinded); return the workers freed."""
    moved = _move(
        ctx, Reservation.task_sid == task.sid, ("pending",), status, event_type, task=task
    )
    return [r.worker_sid for r in moved]


def follow_task(ctx: RoutingContext, task: Task, *, status: str, event_type: str) -> list[str]:
    """Move the task's accepted (or wrapping) reservations along with it; return their workers."""
    sources = ("accepted",) if status == "wrapping" else ("accepted", "wrapping")
    moved = _move(ctx, Reservation.task_sid == task.sid, sources, status, event_type, task=task)
    return [r.worker_sid for r in moved]


def move_worker(ctx: RoutingContext, worker: Worker, activity_sid: str) -> None:
    """Move a worker to one of the workspace's activities (an unknown SID is ignored)."""
    activity = ctx.activities.get(activity_sid)
    if activity is not None:
        workers.change_activity(
            ctx.session, clock=ctx.clock, workspace=ctx.workspace, worker=worker, activity=activity
        )


def task_of(ctx: RoutingContext, reservation: Reservation) -> Task:
    """Load the reservation's task."""
    return ctx.session.scalars(select(Task).where(Task.sid == reservation.task_sid)).one()


def worker_of(ctx: RoutingContext, reservation: Reservation) -> Worker:
    """Load the reservation's worker."""
    return ctx.session.scalars(select(Worker).where(Worker.sid == reservation.worker_sid)).one()


def _move(
    ctx: RoutingContext,
    owner: ColumnElement[bool],
    sources: tuple[str, ...],
    status: str,
    event_type: str,
    *,
    task: Task | None = None,
) -> list[Reservation]:
    """Move the reservations selected by `owner` and `sources` to `status`, one event each."""
    found = list(
        ctx.session.scalars(
            select(Reservation)
            .where(owner, Reservation.reservation_status.in_(sources))
            .order_by(Reservation.id)
        )
    )
    for reservation in found:
        worker = worker_of(ctx, reservation)
        bump(reservation, ctx, status)
        task_event(
            ctx,
            task or task_of(ctx, reservation),
            event_type,
            f"Reservation {reservation.sid} {status} for Worker {worker.friendly_name}",
            reservation=reservation,
            worker=worker,
        )
    ctx.session.flush()
    return found


def _release_task(ctx: RoutingContext, task: Task) -> None:
    """After an offer ends unaccepted: back to pending when no other offer is outstanding."""
    still_pending = ctx.session.scalars(
        select(Reservation.sid).where(
            Reservation.task_sid == task.sid, Reservation.reservation_status == "pending"
        )
    ).first()
    if task.assignment_status == "reserved" and still_pending is None:
        task.assignment_status = "pending"
    versions.bump(ctx.session, task, ctx.now)
    task.date_updated = ctx.now
    ctx.session.flush()
