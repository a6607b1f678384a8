"""Reservations as a resource: lookup, the two lists, If-Match, and the REST update.

An update is validated here and carried out by the lifecycle (`lifecycle.reservations`), the single
implementation of each transition; instructions are validated in `reservations/instructions.py`.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from taskrouter_emulator import validation
from taskrouter_emulator.api.urls import child_path
from taskrouter_emulator.errors import (
    InvalidParameter,
    PreconditionFailed,
    ResourceNotFound,
    TwilioError,
)
from taskrouter_emulator.lifecycle.reservations import accept, complete, reject, wrap
from taskrouter_emulator.models import Reservation, Task, Worker, Workspace
from taskrouter_emulator.reservations.instructions import INSTRUCTIONS, apply_instruction
from taskrouter_emulator.routing.context import RoutingContext
from taskrouter_emulator.sids import Prefix

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
