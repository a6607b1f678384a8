"""Reservation transitions: accept, reject, time out, wrap up, complete; a worker's offers withdrawn.

Every transition here is the single implementation used by the REST API, assignment-callback
instructions, the worker bridge and the timers. Allowed client transitions: pending → accepted |
rejected, accepted → wrapping | completed, wrapping → completed. Everything else is a 400.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import select

from taskrouter_emulator import versions
from taskrouter_emulator.errors import InvalidParameter
from taskrouter_emulator.lifecycle import offers, tasks
from taskrouter_emulator.lifecycle.dispatch import route
from taskrouter_emulator.lifecycle.events import task_event
from taskrouter_emulator.lifecycle.workflow import move_on_after_reservation_timeout
from taskrouter_emulator.models import Activity, Reservation, Task, Worker
from taskrouter_emulator.routing.context import RoutingContext, cached_attributes


def accept(ctx: RoutingContext, reservation: Reservation) -> None:
    """Accept a pending reservation: the task is assigned, other pending offers are rescinded."""
    _require_pending(reservation, "accept")
    task = offers.task_of(ctx, reservation)
    worker = offers.worker_of(ctx, reservation)
    offers.bump(reservation, ctx, "accepted")
    task.assignment_status = "assigned"
    task.assigned_at = ctx.now
    # An assigned task lives at most 24 hours (Twilio's limit); then it is system-deleted.
    task.expires_at = ctx.now + timedelta(seconds=tasks.ASSIGNED_TASK_LIFETIME)
    task.step_timeout_at = None
    versions.bump(ctx.session, task, ctx.now)
    task.date_updated = ctx.now
    ctx.session.flush()
    queue = ctx.queues.get(reservation.task_queue_sid or "")
    if not ctx.workspace.multi_task_enabled and queue is not None and queue.assignment_activity_sid:
        offers.move_worker(ctx, worker, queue.assignment_activity_sid)
    task_event(
        ctx,
        task,
        "reservation.accepted",
        f"Reservation {reservation.sid} accepted by Worker {worker.friendly_name}",
        reservation=reservation,
        worker=worker,
    )
    freed = offers.end_pending(ctx, task, status="rescinded", event_type="reservation.rescinded")
    route(ctx, worker_sids=freed)


def reject(
    ctx: RoutingContext, reservation: Reservation, *, activity_sid: str | None = None
) -> None:
    """Reject a pending reservation, optionally moving the worker; the task is routed again."""
    _require_pending(reservation, "reject")
    activity = _activity(ctx, activity_sid, "WorkerActivitySid") if activity_sid else None
    worker = offers.worker_of(ctx, reservation)
    task = offers.end_offer(
        ctx,
        reservation,
        status="rejected",
        event_type="reservation.rejected",
        description=f"Reservation {reservation.sid} rejected by Worker {worker.friendly_name}",
        activity_sid=activity.sid if activity else None,
    )
    route(ctx, task_sids=[task.sid])
    route(ctx, worker_sids=[worker.sid])


def time_out(ctx: RoutingContext, reservation: Reservation) -> None:
    """Expire a pending reservation: the worker moves to the timeout activity, the task to its next step."""
    if reservation.reservation_status != "pending":
        return
    worker = offers.worker_of(ctx, reservation)
    task = offers.end_offer(
        ctx,
        reservation,
        status="timeout",
        event_type="reservation.timeout",
        description=f"Reservation {reservation.sid} timed out for Worker {worker.friendly_name}",
        activity_sid=ctx.workspace.timeout_activity_sid,
    )
    move_on_after_reservation_timeout(ctx, task)
    route(ctx, task_sids=[task.sid])
    route(ctx, worker_sids=[worker.sid])


def withdraw_from_worker(
    ctx: RoutingContext, worker: Worker, *, status: str, event_type: str, reroute: bool = True
) -> list[str]:
    """End a worker's pending reservations (rejected, or canceled when the worker is deleted); return their tasks.

    The caller has already moved the worker to its new activity (see `offers.end_offer`). With
    `reroute` the tasks are offered again at once; a worker being deleted passes False and
    re-routes after it is gone, so the tasks cannot come straight back to it.
    """
    pending = ctx.session.scalars(
        select(Reservation)
        .where(Reservation.worker_sid == worker.sid, Reservation.reservation_status == "pending")
        .order_by(Reservation.id)
    ).all()
    task_sids = [
        offers.end_offer(
            ctx,
            reservation,
            status=status,
            event_type=event_type,
            description=f"Reservation {reservation.sid} {status} for Worker {worker.friendly_name}",
        ).sid
        for reservation in pending
    ]
    if reroute:
        route(ctx, task_sids=task_sids)
    return task_sids


def wrap(ctx: RoutingContext, reservation: Reservation) -> None:
    """Move an accepted reservation (and its assigned task) to wrapping."""
    if reservation.reservation_status != "accepted":
        raise InvalidParameter(
            f"Reservation {reservation.sid} is not accepted and cannot be wrapped up"
        )
    task = offers.task_of(ctx, reservation)
    if task.assignment_status == "assigned":
        tasks.wrap(ctx, task)
    else:
        offers.bump(reservation, ctx, "wrapping")


def complete(ctx: RoutingContext, reservation: Reservation) -> None:
    """Complete an accepted or wrapping reservation; the task completes when all of its are done."""
    if reservation.reservation_status not in ("accepted", "wrapping"):
        raise InvalidParameter(
            f"Reservation {reservation.sid} is not accepted or wrapping and cannot be completed"
        )
    task = offers.task_of(ctx, reservation)
    worker = offers.worker_of(ctx, reservation)
    offers.bump(reservation, ctx, "completed")
    task_event(
        ctx,
        task,
        "reservation.completed",
        f"Reservation {reservation.sid} completed by Worker {worker.friendly_name}",
        reservation=reservation,
        worker=worker,
    )
    remaining = ctx.session.scalars(
        select(Reservation.sid).where(
            Reservation.task_sid == task.sid,
            Reservation.reservation_status.in_(("accepted", "wrapping")),
        )
    ).first()
    if remaining is None and task.assignment_status in ("assigned", "wrapping"):
        tasks.complete(ctx, task, reason="All reservations were completed")
    else:
        route(ctx, worker_sids=[worker.sid])


def record_instruction(reservation: Reservation, name: str, params: Mapping[str, object]) -> None:
    """Store the instruction a reservation received and its parameters (no telephony happens)."""
    reservation.instruction = name
    reservation.instruction_params = json.dumps(dict(params), default=str)


def add_worker_call_sid(ctx: RoutingContext, task: Task) -> None:
    """Write the worker's (emulated) call leg next to `call_sid` in the task's attributes, as TaskRouter does."""
    attributes = dict(cached_attributes(task.attributes))
    attributes["worker_call_sid"] = f"CA{uuid.uuid4().hex}"
    task.attributes = json.dumps(attributes)
    versions.bump(ctx.session, task, ctx.now)
    task.date_updated = ctx.now


def touch(ctx: RoutingContext, reservation: Reservation) -> None:
    """Bump a reservation's version after a change that leaves its status alone."""
    versions.bump(ctx.session, reservation, ctx.now)
    reservation.date_updated = ctx.now
    ctx.session.flush()


def _require_pending(reservation: Reservation, action: str) -> None:
    if reservation.reservation_status != "pending":
        raise InvalidParameter(
            f"Cannot {action} Reservation {reservation.sid}: it is {reservation.reservation_status}, not pending"
        )


def _activity(ctx: RoutingContext, sid: str, parameter: str) -> Activity:
    activity = ctx.activities.get(sid)
    if activity is None:
        raise InvalidParameter(
            f"{parameter} {sid} is not an Activity of Workspace {ctx.workspace.sid}"
        )
    return activity
