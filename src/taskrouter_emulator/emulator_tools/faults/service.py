"""Fault injection: per-account rules that answer matching API requests with an error or a delay.

A fault matches a request by Twilio operation (`CreateTask`), by a path glob (`/v1/Workspaces/*/Tasks`)
and by method; each of these left out matches anything. When it fires (with its probability, and while
its count lasts) it adds latency and/or answers with its status and Twilio code instead of running the
request, so a faulted write changes nothing. Faults live in the database so every process applies them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from sqlalchemy import Select, delete, select, update
from sqlalchemy.orm import Session

from taskrouter_emulator.clock import Clock
from taskrouter_emulator.emulator_tools.faults.operations import OPERATION_IDS, operation_of
from taskrouter_emulator.errors import InvalidParameter, ResourceNotFound
from taskrouter_emulator.models import Fault

METHODS = ("GET", "POST", "DELETE")
MAX_LATENCY_MS = 60_000
# The answers Twilio documents for these statuses; other 4xx/5xx statuses may be given with a Code.
DEFAULT_ANSWERS = {
    400: (20001, "Bad Request"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}


@dataclass(frozen=True)
class Injection:
    """What the faults that fired on one request do to it."""

    latency_ms: int
    status: int | None
    code: int | None
    message: str | None


def create(
    session: Session,
    *,
    clock: Clock,
    account_sid: str,
    operation: str | None = None,
    path: str | None = None,
    method: str | None = None,
    status: int | None = None,
    code: int | None = None,
    message: str | None = None,
    latency: int | None = None,
    probability: float | None = None,
    count: int | None = None,
) -> Fault:
    """Add a fault to the account after checking every parameter."""
    if operation is not None and operation not in OPERATION_IDS:
        raise InvalidParameter(
            f"Operation '{operation}' is not a TaskRouter operationId (e.g. CreateTask, ListWorker)"
        )
    if path is not None and not path.startswith("/"):
        raise InvalidParameter("Path must be a glob pattern starting with '/', e.g. /v1/Workspaces/*")
    if method is not None:
        method = method.upper()
        if method not in METHODS:
            raise InvalidParameter(f"Method must be one of {', '.join(METHODS)}")
    if status is None and not latency:
        raise InvalidParameter("A fault needs a Status (error answer), a Latency, or both")
    if status is not None and not 400 <= status <= 599:
        raise InvalidParameter("Status must be an HTTP error status between 400 and 599")
    if code is not None and status is None:
        raise InvalidParameter("Code needs a Status")
    if latency is not None and not 0 <= latency <= MAX_LATENCY_MS:
        raise InvalidParameter(f"Latency must be between 0 and {MAX_LATENCY_MS} milliseconds")
    if probability is not None and not 0 < probability <= 1:
        raise InvalidParameter("Probability must be greater than 0 and at most 1")
    if count is not None and count < 1:
        raise InvalidParameter("Count must be at least 1")
    default_code, default_message = DEFAULT_ANSWERS.get(
        status or 0, (20500 if (status or 0) >= 500 else 20001, "Injected fault")
    )
    fault = Fault(
        account_sid=account_sid,
        operation=operation,
        path=path,
        method=method,
        status=status,
        code=(code if code is not None else default_code) if status is not None else None,
        message=(message or default_message) if status is not None else None,
        latency_ms=latency or 0,
        probability=1.0 if probability is None else probability,
        remaining=count,
        hits=0,
        date_created=clock.now(),
    )
    session.add(fault)
    session.flush()
    return fault


def list_query(*, account_sid: str) -> Select[Fault]:
    """Return the account's faults in creation order."""
    return select(Fault).where(Fault.account_sid == account_sid).order_by(Fault.id)


def delete_all(session: Session, *, account_sid: str) -> None:
    """Remove every fault of the account."""
    session.execute(delete(Fault).where(Fault.account_sid == account_sid))


def delete_one(session: Session, *, account_sid: str, fault_id: str) -> None:
    """Remove one fault of the account, or raise 404 (also for an id that is not a number)."""
    if not (fault_id.isascii() and fault_id.isdigit()) or len(fault_id) > 18:
        raise ResourceNotFound(f"/emulator/faults/{fault_id}")
    result = session.execute(
        delete(Fault).where(Fault.account_sid == account_sid, Fault.id == int(fault_id))
    )
    if not getattr(result, "rowcount", 0):
        raise ResourceNotFound(f"/emulator/faults/{fault_id}")


def _matches(fault: Fault, *, method: str, path: str, operation: str | None) -> bool:
    if fault.method is not None and fault.method != method:
        return False
    if fault.operation is not None and fault.operation != operation:
        return False
    return fault.path is None or fnmatchcase(path, fault.path)


def _claim(session: Session, fault: Fault) -> bool:
    """Count one firing; a fault with a count fires only while some is left (atomically)."""
    stmt = update(Fault).where(Fault.id == fault.id).values(hits=Fault.hits + 1)
    if fault.remaining is not None:
        stmt = stmt.where(Fault.remaining > 0).values(remaining=Fault.remaining - 1)
    return bool(getattr(session.execute(stmt), "rowcount", 0))


def inject(session: Session, *, account_sid: str, method: str, path: str) -> Injection | None:
    """Fire the account's faults that match a request; return their combined effect, if any."""
    faults: Sequence[Fault] = session.scalars(list_query(account_sid=account_sid)).all()
    if not faults:
        return None
    operation = operation_of(method, path)
    latency = 0
    for fault in faults:
        if fault.remaining is not None and fault.remaining <= 0:
            continue
        if not _matches(fault, method=method, path=path, operation=operation):
            continue
        if fault.probability < 1 and random.random() >= fault.probability:
            continue
        if not _claim(session, fault):
            continue
        latency += fault.latency_ms
        if fault.status is not None:
            return Injection(latency, fault.status, fault.code, fault.message)
    return Injection(latency, None, None, None) if latency else None
