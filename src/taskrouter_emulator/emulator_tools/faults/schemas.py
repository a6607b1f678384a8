"""Fault parameters (form, PascalCase) and the fault resource."""

from __future__ import annotations

from taskrouter_emulator.api.forms import TwilioParams
from taskrouter_emulator.api.resources import Date, Resource
from taskrouter_emulator.models import Fault


class FaultCreate(TwilioParams):
    operation: str | None = None
    path: str | None = None
    method: str | None = None
    status: int | None = None
    code: int | None = None
    message: str | None = None
    latency: int | None = None
    probability: float | None = None
    count: int | None = None


class FaultResource(Resource):
    id: int
    account_sid: str
    operation: str | None
    path: str | None
    method: str | None
    status: int | None
    code: int | None
    message: str | None
    latency_ms: int
    probability: float
    remaining: int | None
    hits: int
    date_created: Date
    url: str

    @classmethod
    def build(cls, fault: Fault, *, base_url: str) -> FaultResource:
        """Serialise a fault."""
        return cls(
            id=fault.id,
            account_sid=fault.account_sid,
            operation=fault.operation,
            path=fault.path,
            method=fault.method,
            status=fault.status,
            code=fault.code,
            message=fault.message,
            latency_ms=fault.latency_ms,
            probability=fault.probability,
            remaining=fault.remaining,
            hits=fault.hits,
            date_created=fault.date_created,
            url=f"{base_url}/emulator/faults/{fault.id}",
        )
