"""Reservation instructions (REST `Instruction` or an assignment-callback answer): validated, then applied.

No telephony happens: `dequeue`, `call`, `redirect` and `conference` are checked as Twilio checks
them, recorded on the reservation, and carried out for their effect on it (most accept it).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from taskrouter_emulator import validation
from taskrouter_emulator.errors import InvalidParameter, TwilioError
from taskrouter_emulator.lifecycle import offers
from taskrouter_emulator.lifecycle.reservations import (
    accept,
    add_worker_call_sid,
    record_instruction,
    reject,
    touch,
)
from taskrouter_emulator.models import Reservation, Task, Worker
from taskrouter_emulator.routing.context import RoutingContext, cached_attributes
from taskrouter_emulator.sids import Prefix, is_sid

INSTRUCTIONS = ("accept", "reject", "dequeue", "call", "redirect", "conference", "supervise")
CALL_EVENTS = {"initiated", "ringing", "answered", "completed"}
CONFERENCE_EVENTS = {"start", "end", "join", "leave", "mute", "hold", "speaker", "modify"}
# The "not pending" code of each telephony instruction (Twilio's error catalogue).
NOT_PENDING_CODES = {"call": 40114, "redirect": 40123, "dequeue": 40135, "conference": 40136}


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
    task = offers.task_of(ctx, reservation)
    worker = offers.worker_of(ctx, reservation)
    if name == "accept":
        record_instruction(reservation, name, params)
        accept(ctx, reservation)
    elif name == "reject":
        record_instruction(reservation, name, params)
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
    record_instruction(reservation, "dequeue", params)
    add_worker_call_sid(ctx, task)
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
    record_instruction(reservation, "call", params)
    add_worker_call_sid(ctx, task)
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
    record_instruction(reservation, "redirect", params)
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
    record_instruction(reservation, "conference", params)
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
    record_instruction(reservation, "supervise", params)
    touch(ctx, reservation)


def _activity_exists(ctx: RoutingContext, sid: str) -> bool:
    return sid in ctx.activities


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
