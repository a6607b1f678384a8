"""REST over the event bridge: the calls the SDK POSTs as `{"url","method","params","token"}`.

Each call is resolved against the token's workspace and worker and answered by the same services as
the public REST API, in the bridge's dialect (payloads.py) with `{"contents", "after_sid"}` lists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from taskrouter_emulator.activities import service as activity_service
from taskrouter_emulator.api.forms import validate_params
from taskrouter_emulator.bridge import payloads
from taskrouter_emulator.bridge.tokens import WorkerIdentity
from taskrouter_emulator.clock import Clock
from taskrouter_emulator.db.locks import workspace_lock
from taskrouter_emulator.errors import InvalidParameter, ResourceNotFound, TwilioError
from taskrouter_emulator.models import Activity, Reservation, Worker, WorkerChannel, Workspace
from taskrouter_emulator.reservations import service as reservation_service
from taskrouter_emulator.reservations.schemas import ReservationUpdate
from taskrouter_emulator.routing.context import RoutingContext
from taskrouter_emulator.scheduler import due_times, timers
from taskrouter_emulator.tasks import service as task_service
from taskrouter_emulator.tasks.schemas import TaskCreate, TaskUpdate
from taskrouter_emulator.workers import channels
from taskrouter_emulator.workers import service as worker_service
from taskrouter_emulator.workers.schemas import WorkerUpdate
from taskrouter_emulator.workspaces import service as workspace_service

# Reservations the Worker SDK still holds on to (`Active=true` in its v2 list call).
ACTIVE_RESERVATION_STATUSES = ("pending", "accepted", "wrapping")
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50

# Voice-conference and transfer routes of the SDK; the emulator has no calls to act on.
_UNSUPPORTED = re.compile(
    r"^Workspaces/WS\w{32}/Workers/WK\w{32}/"
    r"(Transfers(/\w+)?|CustomerParticipant|WorkerParticipant|HoldWorkerParticipant|KickWorkerParticipant)$"
)


class Forbidden(TwilioError):
    """The token does not grant access to this resource (Twilio 20403)."""

    status = 403
    code = 20403


@dataclass
class BridgeCall:
    """One REST-over-bridge request, already authenticated."""

    identity: WorkerIdentity
    method: str
    url: str
    params: Mapping[str, Any]
    if_match: str | None


def form_values(params: Mapping[str, Any]) -> dict[str, str]:
    """Turn the SDK's JSON params into form values (objects become JSON text, as the REST API takes them)."""
    values: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            values[key] = "true" if value else "false"
        elif isinstance(value, dict | list):
            values[key] = json.dumps(value)
        else:
            values[key] = str(value)
    return values


def _page(
    session: Session,
    stmt: Select[Any],
    model: type[Any],
    params: Mapping[str, str],
    render: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    size_text = params.get("PageSize", str(DEFAULT_PAGE_SIZE))
    try:
        size = int(size_text)
    except ValueError:
        raise InvalidParameter(f"Invalid PageSize '{size_text}'") from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidParameter(f"PageSize must be between 1 and {MAX_PAGE_SIZE}")
    after_sid = params.get("AfterSid")
    if after_sid:
        after_id = session.scalars(select(model.id).where(model.sid == after_sid)).first()
        if after_id is None:
            raise InvalidParameter(f"Invalid AfterSid '{after_sid}'")
        stmt = stmt.where(model.id > after_id)
    rows = list(session.scalars(stmt.limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return {
        "contents": [render(row) for row in rows],
        "after_sid": rows[-1].sid if more else None,
    }


class Dispatcher:
    """Routes bridge calls to the services, inside the request's transaction."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def handle(self, call: BridgeCall) -> dict[str, Any]:
        """Answer one bridge call with its `payload`."""
        url = call.url.strip("/")
        url = url.removeprefix("v1/").removeprefix("v2/")
        parts = url.split("/")
        if len(parts) < 2 or parts[0] != "Workspaces":
            raise ResourceNotFound(f"/v1/{url}")
        if parts[1] != call.identity.workspace_sid:
            raise Forbidden(f"The token does not grant access to Workspace {parts[1]}")
        workspace = workspace_service.get(
            self.session, account_sid=call.identity.account_sid, sid=parts[1]
        )
        method = call.method.upper()
        if method not in ("GET", "POST"):
            raise InvalidParameter(f"Unsupported method '{call.method}'")
        if method == "POST":
            workspace_lock(self.session, workspace.sid)
        if due_times.is_due(workspace, self.clock):
            timers.fire_due(self.session, clock=self.clock, workspace=workspace)
        if _UNSUPPORTED.match(url):
            raise TwilioError(
                f"/{url} acts on Programmable Voice calls or task transfers, which the emulator "
                "does not emulate",
                code=20001,
                status=400,
            )
        rest = parts[2:]
        values = form_values(call.params)
        if not call.identity.permits(method, url, values):
            raise Forbidden(f"The token's policies do not allow {method} /v1/{url}")
        if rest == ["Activities"] and method == "GET":
            return self._activities(workspace, values)
        if rest[:1] == ["Workers"]:
            return self._worker_route(call, workspace, method, rest[1:], values)
        if rest[:1] == ["Tasks"]:
            return self._task_route(workspace, method, rest[1:], values, call.if_match)
        raise ResourceNotFound(f"/v1/{url}")

    def _activities(self, workspace: Workspace, values: Mapping[str, str]) -> dict[str, Any]:
        stmt = activity_service.list_query(workspace=workspace, friendly_name=None, available=None)
        return _page(self.session, stmt, Activity, values, payloads.activity_payload)

    def _worker_route(
        self,
        call: BridgeCall,
        workspace: Workspace,
        method: str,
        rest: list[str],
        values: Mapping[str, str],
    ) -> dict[str, Any]:
        if not rest:
            raise ResourceNotFound(f"/v1/Workspaces/{workspace.sid}/Workers")
        if rest[0] != call.identity.worker_sid:
            raise Forbidden(f"The token does not grant access to Worker {rest[0]}")
        worker = worker_service.get(
            self.session, workspace=workspace, sid=rest[0], for_update=method == "POST"
        )
        tail = rest[1:]
        if not tail:
            if method == "POST":
                self._update_worker(workspace, worker, values, call.if_match)
            return self.worker(worker)
        if tail in (["WorkerChannels"], ["Channels"]) and method == "GET":
            return self._channels(worker, values)
        if tail == ["Reservations"] and method == "GET":
            return self._reservations(workspace, worker, values)
        if len(tail) == 2 and tail[0] == "Reservations":
            reservation = reservation_service.get_for_worker(
                self.session, workspace=workspace, worker=worker, sid=tail[1]
            )
            if method == "POST":
                self._update_reservation(workspace, reservation, values, call.if_match, False)
            return self.reservation(reservation)
        raise ResourceNotFound(f"/v1/Workspaces/{workspace.sid}/Workers/{'/'.join(rest)}")

    def _task_route(
        self,
        workspace: Workspace,
        method: str,
        rest: list[str],
        values: Mapping[str, str],
        if_match: str | None,
    ) -> dict[str, Any]:
        if not rest and method == "POST":
            form = validate_params(TaskCreate, values)
            ctx = RoutingContext.load(self.session, clock=self.clock, workspace=workspace)
            task = task_service.create(ctx, **form.model_dump())
            return payloads.task_payload(self.session, task, now=self.clock.now())
        if not rest:
            raise InvalidParameter("The bridge does not list Tasks; fetch one by SID")
        task = task_service.get(self.session, workspace=workspace, sid=rest[0])
        if len(rest) == 1:
            if method == "POST":
                update = validate_params(TaskUpdate, values)
                task_service.check_if_match(task, if_match)
                ctx = RoutingContext.load(self.session, clock=self.clock, workspace=workspace)
                task_service.update(ctx, task, **update.model_dump())
            return payloads.task_payload(self.session, task, now=self.clock.now())
        if len(rest) == 3 and rest[1] == "Reservations":
            reservation = reservation_service.get_for_task(
                self.session, workspace=workspace, task=task, sid=rest[2]
            )
            if method == "POST":
                self._update_reservation(workspace, reservation, values, if_match, True)
            return self.reservation(reservation)
        raise ResourceNotFound(f"/v1/Workspaces/{workspace.sid}/Tasks/{'/'.join(rest)}")

    def _update_worker(
        self, workspace: Workspace, worker: Worker, values: Mapping[str, str], if_match: str | None
    ) -> None:
        form = validate_params(WorkerUpdate, values)
        worker_service.update(
            self.session,
            clock=self.clock,
            workspace=workspace,
            worker=worker,
            activity_sid=form.activity_sid,
            attributes=form.attributes,
            friendly_name=form.friendly_name,
            reject_pending=form.reject_pending_reservations,
            if_match=if_match,
        )

    def _update_reservation(
        self,
        workspace: Workspace,
        reservation: Reservation,
        values: Mapping[str, str],
        if_match: str | None,
        task_path: bool,
    ) -> None:
        form = validate_params(ReservationUpdate, values)
        reservation_service.check_if_match(reservation, if_match)
        ctx = RoutingContext.load(self.session, clock=self.clock, workspace=workspace)
        reservation_service.update(ctx, reservation, form.sent(), task_path=task_path)

    def _channels(self, worker: Worker, values: Mapping[str, str]) -> dict[str, Any]:
        names = channels.unique_names(self.session, workspace_sid=worker.workspace_sid)
        states = channels.channel_states(self.session, worker_sids=[worker.sid])
        reserved = payloads.last_reserved_times(self.session, worker_sid=worker.sid)
        return _page(
            self.session,
            channels.list_query(worker=worker),
            WorkerChannel,
            values,
            lambda c: payloads.channel_payload(
                c,
                unique_name=names[c.task_channel_sid],
                state=states.get((c.worker_sid, c.task_channel_sid))
                or channels.state_of(self.session, c),
                last_reserved=reserved.get(c.task_channel_sid),
            ),
        )

    def _reservations(
        self, workspace: Workspace, worker: Worker, values: Mapping[str, str]
    ) -> dict[str, Any]:
        stmt = reservation_service.list_query(
            workspace=workspace, worker_sid=worker.sid, status=values.get("ReservationStatus")
        )
        if values.get("Active", "").lower() == "true":
            stmt = stmt.where(Reservation.reservation_status.in_(ACTIVE_RESERVATION_STATUSES))
        return _page(self.session, stmt, Reservation, values, self.reservation)

    def worker(self, worker: Worker) -> dict[str, Any]:
        """The worker in the bridge dialect."""
        return payloads.worker_payload(worker, worker_service.activity_of(self.session, worker))

    def reservation(self, reservation: Reservation) -> dict[str, Any]:
        """The reservation, with its task, in the bridge dialect."""
        return payloads.reservation_payload(self.session, reservation, now=self.clock.now())


def offline_activity(session: Session, workspace: Workspace) -> Activity | None:
    """The activity a disconnected worker is moved to.

    Twilio only says "Offline" ([INF]): the workspace's activity named Offline if there is one (every
    workspace starts with it), else the workspace's timeout activity.
    """
    named = session.scalars(
        select(Activity).where(
            Activity.workspace_sid == workspace.sid, Activity.friendly_name == "Offline"
        )
    ).first()
    if named is not None:
        return named
    if workspace.timeout_activity_sid:
        return payloads.by_sid(session, Activity, workspace.timeout_activity_sid)
    return None


def set_offline(session: Session, clock: Clock, identity: WorkerIdentity) -> None:
    """Move a worker whose last bridge connection closed to the offline activity."""
    workspace = payloads.by_sid(session, Workspace, identity.workspace_sid)
    if workspace is None:
        return
    workspace_lock(session, workspace.sid)
    if due_times.is_due(workspace, clock):
        timers.fire_due(session, clock=clock, workspace=workspace)
    worker = session.scalars(
        select(Worker)
        .where(Worker.sid == identity.worker_sid, Worker.workspace_sid == workspace.sid)
        .with_for_update()
    ).one_or_none()
    target = offline_activity(session, workspace)
    if worker is None or target is None or worker.activity_sid == target.sid:
        return
    worker_service.update(
        session, clock=clock, workspace=workspace, worker=worker, activity_sid=target.sid
    )
