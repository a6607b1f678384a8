"""Reservation lifecycle: create, accept, reject, time out, cancel, rescind, wrap up, complete, instructions.

Every transition here is the single implementation used by the REST API, the routing engine and the
timers. Allowed client transitions: pending → accepted | rejected (directly or through an
instruction), accepted → wrapping | completed, wrapping → completed. Everything else is a 400.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from taskrouter_emulator import validation, versions
from taskrouter_emulator.api.urls import child_path
from taskrouter_emulator.callbacks import outbox
from taskrouter_emulator.errors import (
    InvalidParameter,
    PreconditionFailed,
    ResourceNotFound,
    TwilioError,
)
from taskrouter_emulator.models import Activity, Reservation, Task, TaskQueue, Worker, Workspace
from taskrouter_emulator.routing import engine
from taskrouter_emulator.routing.context import RoutingContext, cached_attributes
from taskrouter_emulator.routing.events import task_event
from taskrouter_emulator.sids import Prefix, is_sid, new_sid
from taskrouter_emulator.tasks import service as task_service
from taskrouter_emulator.workers import service as worker_service

STATUSES = (
    "pending",
    "accepted",
    "rejected",
    "timeout",
    "canceled",
    "rescinded",
    "wrapping",
    "completed",
)
INSTRUCTIONS = ("accept", "reject", "dequeue", "call", "redirect", "conference", "supervise")
DEFAULT_RESERVATION_TIMEOUT = 120
CALL_EVENTS = {"initiated", "ringing", "answered", "completed"}
CONFERENCE_EVENTS = {"start", "end", "join", "leave", "mute", "hold", "speaker", "modify"}
# The "not pending" code of each telephony instruction (Twilio's error catalogue).
NOT_PENDING_CODES = {"call": 40114, "redirect": 40123, "dequeue": 40135, "conference": 40136}


def bump(reservation: Reservation, ctx: RoutingContext, status: str) -> None:
    """Move a reservation to `status`, bumping its version."""
    reservation.reservation_status = status
    versions.bump(ctx.session, reservation, ctx.now)
    reservation.date_updated = ctx.now
    if status != "pending":
        reservation.timeout_at = None


def get_for_task(session: Session, *, workspace: Workspace, task: Task, sid: str) -> Reservation:
    """Return a reservation of the task, or 404."""
    where = child_path(workspace.sid, "Tasks", task.sid, "Reservations", sid)
    validation.path_sid(sid, Prefix.RESERVATION, where)
    found = session.scalars(
        select(Reservation).where(Reservation.sid == sid, Reservation.task_sid == task.sid)
    ).one_or_none()
    if found is None:
        raise ResourceNotFound(where)
    return found


def get_for_worker(
    session: Session, *, workspace: Workspace, worker: Worker, sid: str
) -> Reservation:
    """Return a reservation of the worker, or 404."""
    where = child_path(workspace.sid, "Workers", worker.sid, "Reservations", sid)
    validation.path_sid(sid, Prefix.RESERVATION, where)
    found = session.scalars(
        select(Reservation).where(Reservation.sid == sid, Reservation.worker_sid == worker.sid)
    ).one_or_none()
    if found is None:
        raise ResourceNotFound(where)
    return found


def list_query(
    *,
    workspace: Workspace,
    task_sid: str | None = None,
    worker_sid: str | None = None,
    status: str | None = None,
) -> Select[Reservation]:
    """Return the ordered query behind both reservation lists."""
    stmt = select(Reservation).where(Reservation.workspace_sid == workspace.sid)
    if task_sid is not None:
        stmt = stmt.where(Reservation.task_sid == task_sid)
    if worker_sid is not None:
        stmt = stmt.where(Reservation.worker_sid == worker_sid)
    if status is not None:
        if status not in STATUSES:
            raise InvalidParameter(
                f"Invalid ReservationStatus '{status}'; expected one of {', '.join(STATUSES)}"
            )
        stmt = stmt.where(Reservation.reservation_status == status)
    return stmt.order_by(Reservation.id)


def workers_of(session: Session, reservations: list[Reservation]) -> dict[str, Worker]:
    """Load the workers of a page of reservations in one query."""
    sids = {r.worker_sid for r in reservations}
    if not sids:
        return {}
    return {w.sid: w for w in session.scalars(select(Worker).where(Worker.sid.in_(sids)))}


def check_if_match(reservation: Reservation, if_match: str | None) -> None:
    """Compare an If-Match header with the reservation's version (412 on mismatch)."""
    if if_match is not None and if_match.strip().strip('"') != str(reservation.version):
        raise PreconditionFailed(
            f"Precondition failed: ETag {reservation.version} does not match If-Match {if_match.strip()}"
        )


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
    ctx.session.add(reservation)
    versions.created(ctx.session, reservation)
    if task.assignment_status == "pending":
        task.assignment_status = "reserved"
        task.assignment_count += 1
    versions.bump(ctx.session, task, ctx.now)
    task.date_updated = ctx.now
    # Longest-idle ordering counts from the worker's last reservation.
    worker.idle_since = ctx.now
    ctx.session.flush()
    if (
        not ctx.workspace.multi_task_enabled
        and queue is not None
        and queue.reservation_activity_sid
    ):
        _move_worker(ctx, worker, queue.reservation_activity_sid)
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


def accept(ctx: RoutingContext, reservation: Reservation) -> None:
    """Accept a pending reservation: the task is assigned, other pending offers are rescinded."""
    _require_pending(reservation, "accept")
    task = _task(ctx, reservation)
    worker = _worker(ctx, reservation)
    bump(reservation, ctx, "accepted")
    task.assignment_status = "assigned"
    task.assigned_at = ctx.now
    # An assigned task lives at most 24 hours (Twilio's limit); then it is system-deleted.
    task.expires_at = ctx.now + timedelta(seconds=task_service.ASSIGNED_TASK_LIFETIME)
    task.step_timeout_at = None
    versions.bump(ctx.session, task, ctx.now)
    task.date_updated = ctx.now
    ctx.session.flush()
    queue = ctx.queues.get(reservation.task_queue_sid or "")
    if not ctx.workspace.multi_task_enabled and queue is not None and queue.assignment_activity_sid:
        _move_worker(ctx, worker, queue.assignment_activity_sid)
    task_event(
        ctx,
        task,
        "reservation.accepted",
        f"Reservation {reservation.sid} accepted by Worker {worker.friendly_name}",
        reservation=reservation,
        worker=worker,
    )
    freed = end_pending(ctx, task, status="rescinded", event_type="reservation.rescinded")
    engine.route(ctx, worker_sids=freed)


def reject(
    ctx: RoutingContext, reservation: Reservation, *, activity_sid: str | None = None
) -> None:
    """Reject a pending reservation, optionally moving the worker; the task is routed again."""
    _require_pending(reservation, "reject")
    activity = _activity(ctx, activity_sid, "WorkerActivitySid") if activity_sid else None
    worker = _worker(ctx, reservation)
    task = end_offer(
        ctx,
        reservation,
        status="rejected",
        event_type="reservation.rejected",
        description=f"Reservation {reservation.sid} rejected by Worker {worker.friendly_name}",
        activity_sid=activity.sid if activity else None,
    )
    engine.route(ctx, task_sids=[task.sid])
    engine.route(ctx, worker_sids=[worker.sid])


def time_out(ctx: RoutingContext, reservation: Reservation) -> None:
    """Expire a pending reservation: the worker moves to the timeout activity, the task to its next step."""
    if reservation.reservation_status != "pending":
        return
    worker = _worker(ctx, reservation)
    task = end_offer(
        ctx,
        reservation,
        status="timeout",
        event_type="reservation.timeout",
        description=f"Reservation {reservation.sid} timed out for Worker {worker.friendly_name}",
        activity_sid=ctx.workspace.timeout_activity_sid,
    )
    engine.move_on_after_reservation_timeout(ctx, task)
    engine.route(ctx, task_sids=[task.sid])
    engine.route(ctx, worker_sids=[worker.sid])


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
    worker = _worker(ctx, reservation)
    task = _task(ctx, reservation)
    bump(reservation, ctx, status)
    if activity_sid:
        _move_worker(ctx, worker, activity_sid)
    _release_task(ctx, task)
    task_event(ctx, task, event_type, description, reservation=reservation, worker=worker)
    return task


def withdraw_from_worker(
    ctx: RoutingContext, worker: Worker, *, status: str, event_type: str, reroute: bool = True
) -> list[str]:
    """End a worker's pending reservations (rejected, or canceled when the worker is deleted); return their tasks.

    The caller has already moved the worker to its new activity (see `end_offer`). With `reroute`
    the tasks are offered again at once; a worker being deleted passes False and re-routes after
    it is gone, so the tasks cannot come straight back to it.
    """
    pending = ctx.session.scalars(
        select(Reservation)
        .where(Reservation.worker_sid == worker.sid, Reservation.reservation_status == "pending")
        .order_by(Reservation.id)
    ).all()
    task_sids = [
        end_offer(
            ctx,
            reservation,
            status=status,
            event_type=event_type,
            description=f"Reservation {reservation.sid} {status} for Worker {worker.friendly_name}",
        ).sid
        for reservation in pending
    ]
    if reroute:
        engine.route(ctx, task_sids=task_sids)
    return task_sids


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
        worker = _worker(ctx, reservation)
        bump(reservation, ctx, status)
        task_event(
            ctx,
            task or _task(ctx, reservation),
            event_type,
            f"Reservation {reservation.sid} {status} for Worker {worker.friendly_name}",
            reservation=reservation,
            worker=worker,
        )
    ctx.session.flush()
    return found


def wrap(ctx: RoutingContext, reservation: Reservation) -> None:
    """Move an accepted reservation (and its assigned task) to wrapping."""
    if reservation.reservation_status != "accepted":
        raise InvalidParameter(
            f"Reservation {reservation.sid} is not accepted and cannot be wrapped up"
        )
    task = _task(ctx, reservation)
    if task.assignment_status == "assigned":
        task_service.wrap(ctx, task)
    else:
        bump(reservation, ctx, "wrapping")


def complete(ctx: RoutingContext, reservation: Reservation) -> None:
    """Complete an accepted or wrapping reservation; the task completes when all of its are done."""
    if reservation.reservation_status not in ("accepted", "wrapping"):
        raise InvalidParameter(
            f"Reservation {reservation.sid} is not accepted or wrapping and cannot be completed"
        )
    task = _task(ctx, reservation)
    worker = _worker(ctx, reservation)
    bump(reservation, ctx, "completed")
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
        task_service.complete(ctx, task, reason="All reservations were completed")
    else:
        engine.route(ctx, worker_sids=[worker.sid])


def update(
    ctx: RoutingContext, reservation: Reservation, params: Mapping[str, object], *, task_path: bool
) -> None:
    """Apply a REST reservation update: a `ReservationStatus` change or an `Instruction`."""
    status = params.get("ReservationStatus")
    instruction = params.get("Instruction")
    if status is None and instruction is None:
        return
    if status is not None and instruction is not None:
        raise InvalidParameter("Send either ReservationStatus or Instruction, not both")
    if status is not None:
        _update_status(ctx, reservation, str(status), params)
        return
    name = str(instruction).strip().lower()
    if name not in INSTRUCTIONS or (name == "supervise" and not task_path):
        raise TwilioError(f"Invalid instruction '{instruction}'", code=55555)
    apply_instruction(ctx, reservation, name, params)


def apply_instruction(
    ctx: RoutingContext, reservation: Reservation, name: str, params: Mapping[str, object]
) -> None:
    """Validate and carry out an instruction (no telephony happens; its effect on the reservation does)."""
    if name == "supervise":
        _supervise(ctx, reservation, params)
        return
    if name in NOT_PENDING_CODES and reservation.reservation_status != "pending":
        raise TwilioError(
            f"Unable to execute {name.capitalize()} instruction. Reservation {reservation.sid} is not currently in a Pending state.",
            code=NOT_PENDING_CODES[name],
        )
    task = _task(ctx, reservation)
    worker = _worker(ctx, reservation)
    if name == "accept":
        _record_instruction(reservation, name, params)
        accept(ctx, reservation)
    elif name == "reject":
        _record_instruction(reservation, name, params)
        activity = params.get("WorkerActivitySid") or params.get("activity_sid")
        if activity is not None and not _activity_exists(ctx, str(activity)):
            raise TwilioError(f"Invalid activity_sid {activity}", code=40100)
        reject(ctx, reservation, activity_sid=str(activity) if activity else None)
    elif name == "dequeue":
        _dequeue(ctx, reservation, task, worker, params)
    elif name == "call":
        _call(ctx, reservation, task, worker, params)
    elif name == "redirect":
        _redirect(ctx, reservation, params)
    elif name == "conference":
        _conference(ctx, reservation, task, worker, params)


def _update_status(
    ctx: RoutingContext, reservation: Reservation, status: str, params: Mapping[str, object]
) -> None:
    if status == "accepted":
        accept(ctx, reservation)
    elif status == "rejected":
        activity = params.get("WorkerActivitySid")
        reject(ctx, reservation, activity_sid=str(activity) if activity else None)
    elif status == "wrapping":
        wrap(ctx, reservation)
    elif status == "completed":
        complete(ctx, reservation)
    elif status in STATUSES:
        raise InvalidParameter(
            f"ReservationStatus '{status}' is set by TaskRouter and cannot be requested"
        )
    else:
        raise InvalidParameter(
            f"Invalid ReservationStatus '{status}'; expected accepted, rejected, wrapping or completed"
        )


def _dequeue(
    ctx: RoutingContext,
    reservation: Reservation,
    task: Task,
    worker: Worker,
    params: Mapping[str, object],
) -> None:
    attributes = cached_attributes(task.attributes)
    if not attributes.get("call_sid"):
        raise TwilioError(
            "The dequeue instruction can only be issued on a task that was created using the <Enqueue> TwiML verb "
            "(the task has no call_sid)",
            code=40140,
        )
    to = (
        params.get("DequeueTo")
        or params.get("to")
        or cached_attributes(worker.attributes).get("contact_uri")
    )
    if not to:
        raise TwilioError(
            "Dequeue: no 'to' and the worker has no contact_uri attribute", code=40131
        )
    frm = params.get("DequeueFrom") or params.get("from")
    if frm is not None and not str(frm).strip():
        raise TwilioError("Dequeue: invalid 'from'", code=40132)
    post_work = params.get("DequeuePostWorkActivitySid") or params.get("post_work_activity_sid")
    if post_work and not _activity_exists(ctx, str(post_work)):
        raise TwilioError(f"Dequeue: invalid post_work_activity_sid {post_work}", code=40130)
    events = params.get("DequeueStatusCallbackEvent") or params.get("status_callback_events")
    if events:
        values = events if isinstance(events, list) else str(events).replace(",", " ").split()
        bad = [e for e in values if e not in CALL_EVENTS]
        if bad:
            raise TwilioError(
                f"Dequeue: invalid status_callback_events {', '.join(map(str, bad))}", code=40134
            )
    callback = params.get("DequeueStatusCallbackUrl") or params.get("status_callback_url")
    if callback and not _is_url(str(callback)):
        raise TwilioError(f"Dequeue: invalid status_callback_url {callback}", code=40157)
    timeout = params.get("DequeueTimeout") or params.get("timeout")
    if timeout is not None and not 1 <= _as_int(timeout, 40131) <= 999:
        raise InvalidParameter("DequeueTimeout must be between 1 and 999 seconds")
    _record_instruction(reservation, "dequeue", params)
    _add_worker_call_sid(ctx, task)
    accept(ctx, reservation)


def _call(
    ctx: RoutingContext,
    reservation: Reservation,
    task: Task,
    worker: Worker,
    params: Mapping[str, object],
) -> None:
    to = (
        params.get("CallTo")
        or params.get("to")
        or cached_attributes(worker.attributes).get("contact_uri")
    )
    if not to:
        raise TwilioError("Call: no 'to' and the worker has no contact_uri attribute", code=40110)
    if not (params.get("CallFrom") or params.get("from")):
        raise TwilioError("Call: 'from' is required", code=40111)
    url = params.get("CallUrl") or params.get("url")
    if not url or not _is_url(str(url)):
        raise TwilioError("Call: 'url' must be an absolute URL", code=40112)
    callback = params.get("CallStatusCallbackUrl") or params.get("status_callback_url")
    if callback and not _is_url(str(callback)):
        raise TwilioError(f"Call: invalid status_callback_url {callback}", code=40158)
    _record_instruction(reservation, "call", params)
    _add_worker_call_sid(ctx, task)
    # Unlike dequeue, a call only accepts the reservation when asked to (accept defaults to false).
    if _truthy(params.get("CallAccept", params.get("accept"))):
        accept(ctx, reservation)
    else:
        ctx.session.flush()


def _redirect(ctx: RoutingContext, reservation: Reservation, params: Mapping[str, object]) -> None:
    call_sid = params.get("RedirectCallSid") or params.get("call_sid")
    if not call_sid or not is_sid(str(call_sid), Prefix.CALL):
        raise TwilioError(f"Redirect: invalid call_sid {call_sid}", code=40121)
    url = params.get("RedirectUrl") or params.get("url")
    if not url or not _is_url(str(url)):
        raise TwilioError("Redirect: 'url' must be an absolute URL", code=40120)
    _record_instruction(reservation, "redirect", params)
    if _truthy(params.get("RedirectAccept", params.get("accept"))):
        accept(ctx, reservation)
    else:
        ctx.session.flush()


def _conference(
    ctx: RoutingContext,
    reservation: Reservation,
    task: Task,
    worker: Worker,
    params: Mapping[str, object],
) -> None:
    attributes = cached_attributes(task.attributes)
    if not (attributes.get("call_sid") or attributes.get("outbound_to")):
        raise TwilioError(
            "The conference instruction can only be issued on a task that was created using the <Enqueue> TwiML verb.",
            code=40142,
        )
    to = params.get("To") or cached_attributes(worker.attributes).get("contact_uri")
    if not to:
        raise TwilioError(
            "Conference: no 'To' and the worker has no contact_uri attribute", code=40137
        )
    frm = params.get("From")
    if frm is not None and not str(frm).strip():
        raise TwilioError("Conference: invalid 'From'", code=40138)
    post_work = params.get("PostWorkActivitySid")
    if post_work and not _activity_exists(ctx, str(post_work)):
        raise TwilioError(f"Conference: invalid PostWorkActivitySid {post_work}", code=40139)
    for key in ("StatusCallback", "ConferenceStatusCallback", "WaitUrl", "RecordingStatusCallback"):
        value = params.get(key)
        if value and not _is_url(str(value)):
            raise TwilioError(f"Conference: invalid {key} {value}", code=40159)
    _check_choices(params, "StatusCallbackEvent", CALL_EVENTS)
    _check_choices(params, "ConferenceStatusCallbackEvent", CONFERENCE_EVENTS)
    for key, allowed in (
        ("StatusCallbackMethod", {"GET", "POST"}),
        ("WaitMethod", {"GET", "POST"}),
        ("ConferenceStatusCallbackMethod", {"GET", "POST"}),
        ("RecordingStatusCallbackMethod", {"GET", "POST"}),
        ("ConferenceRecordingStatusCallbackMethod", {"GET", "POST"}),
        ("Beep", {"true", "false", "onEnter", "onExit"}),
        ("ConferenceRecord", {"true", "false", "record-from-start", "do-not-record"}),
        ("ConferenceTrim", {"trim-silence", "do-not-trim"}),
        ("RecordingChannels", {"mono", "dual"}),
        ("Region", {"us1", "us2", "ie1", "de1", "sg1", "br1", "au1", "jp1"}),
        ("JitterBufferSize", {"small", "medium", "large", "off"}),
    ):
        value = params.get(key)
        if value is not None and str(value) not in allowed:
            raise InvalidParameter(
                f"Invalid {key} '{value}'; expected one of {', '.join(sorted(allowed))}"
            )
    participants = params.get("MaxParticipants")
    if participants is not None and not 2 <= _as_int(participants, 20001) <= 250:
        raise InvalidParameter("MaxParticipants must be between 2 and 250")
    _record_instruction(reservation, "conference", params)
    accept(ctx, reservation)


def _supervise(ctx: RoutingContext, reservation: Reservation, params: Mapping[str, object]) -> None:
    if reservation.reservation_status != "accepted":
        raise TwilioError(
            f"Supervise: Reservation {reservation.sid} is not accepted (status {reservation.reservation_status})",
            code=40146,
        )
    mode = params.get("SupervisorMode")
    if mode is not None and str(mode) not in ("monitor", "whisper", "barge"):
        raise InvalidParameter(
            f"Invalid SupervisorMode '{mode}'; expected monitor, whisper or barge"
        )
    supervisor = params.get("Supervisor")
    if not supervisor:
        raise TwilioError(
            "Supervise: 'Supervisor' (a Worker SID or contact URI) is required", code=40147
        )
    if is_sid(str(supervisor), Prefix.WORKER):
        row = ctx.session.scalars(
            select(Worker).where(
                Worker.sid == str(supervisor), Worker.workspace_sid == ctx.workspace.sid
            )
        ).one_or_none()
        if row is None or not cached_attributes(row.attributes).get("contact_uri"):
            raise TwilioError(
                f"Supervise: Worker {supervisor} has no valid contact_uri", code=40147
            )
    _record_instruction(reservation, "supervise", params)
    versions.bump(ctx.session, reservation, ctx.now)
    reservation.date_updated = ctx.now
    ctx.session.flush()


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


def _require_pending(reservation: Reservation, action: str) -> None:
    if reservation.reservation_status != "pending":
        raise InvalidParameter(
            f"Cannot {action} Reservation {reservation.sid}: it is {reservation.reservation_status}, not pending"
        )


def _record_instruction(reservation: Reservation, name: str, params: Mapping[str, object]) -> None:
    reservation.instruction = name
    reservation.instruction_params = json.dumps(dict(params), default=str)


def _add_worker_call_sid(ctx: RoutingContext, task: Task) -> None:
    # TaskRouter writes the worker's call leg next to call_sid in the task's attributes.
    attributes = dict(cached_attributes(task.attributes))
    attributes["worker_call_sid"] = f"CA{uuid.uuid4().hex}"
    task.attributes = json.dumps(attributes)
    versions.bump(ctx.session, task, ctx.now)
    task.date_updated = ctx.now


def _move_worker(ctx: RoutingContext, worker: Worker, activity_sid: str) -> None:
    activity = ctx.activities.get(activity_sid)
    if activity is not None:
        worker_service.change_activity(
            ctx.session, clock=ctx.clock, workspace=ctx.workspace, worker=worker, activity=activity
        )


def _activity(ctx: RoutingContext, sid: str, parameter: str) -> Activity:
    activity = ctx.activities.get(sid)
    if activity is None:
        raise InvalidParameter(
            f"{parameter} {sid} is not an Activity of Workspace {ctx.workspace.sid}"
        )
    return activity


def _activity_exists(ctx: RoutingContext, sid: str) -> bool:
    return sid in ctx.activities


def _task(ctx: RoutingContext, reservation: Reservation) -> Task:
    return ctx.session.scalars(select(Task).where(Task.sid == reservation.task_sid)).one()


def _worker(ctx: RoutingContext, reservation: Reservation) -> Worker:
    return ctx.session.scalars(select(Worker).where(Worker.sid == reservation.worker_sid)).one()


def _is_url(value: str) -> bool:
    try:
        validation.callback_url(value, name="url")
    except InvalidParameter:
        return False
    return True


def _truthy(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes") if value is not None else False


def _as_int(value: object, code: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise TwilioError(f"'{value}' is not an integer", code=code) from None


def _check_choices(params: Mapping[str, object], key: str, allowed: set[str]) -> None:
    value = params.get(key)
    if not value:
        return
    values = value if isinstance(value, list) else str(value).replace(",", " ").split()
    bad = [v for v in values if v not in allowed]
    if bad:
        raise InvalidParameter(
            f"Invalid {key} {', '.join(map(str, bad))}; expected {', '.join(sorted(allowed))}"
        )
