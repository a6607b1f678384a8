"""`/emulator/faults`: add (POST), list (GET) and clear (DELETE) the caller's injected faults."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from taskrouter_emulator.api.forms import params
from taskrouter_emulator.api.threads import OneHopRoute
from taskrouter_emulator.deps import AccountDep, BaseUrlDep, ClockDep, SessionDep
from taskrouter_emulator.emulator_tools.faults import service
from taskrouter_emulator.emulator_tools.faults.schemas import FaultCreate, FaultResource

router = APIRouter(route_class=OneHopRoute, prefix="/emulator/faults", tags=["emulator"])


@router.post("", status_code=201)
def create_fault(
    session: SessionDep,
    account_sid: AccountDep,
    clock: ClockDep,
    base_url: BaseUrlDep,
    form: Annotated[FaultCreate, Depends(params(FaultCreate))],
) -> FaultResource:
    """Inject a fault into the caller's `/v1` requests matching `Operation`/`Path`/`Method`."""
    fault = service.create(session, clock=clock, account_sid=account_sid, **form.model_dump())
    return FaultResource.build(fault, base_url=base_url)


@router.get("")
def list_faults(session: SessionDep, account_sid: AccountDep, base_url: BaseUrlDep) -> dict[str, Any]:
    """List the caller's faults with how often each fired and how many firings are left."""
    faults = session.scalars(service.list_query(account_sid=account_sid)).all()
    return {"faults": [FaultResource.build(f, base_url=base_url) for f in faults]}


@router.delete("", status_code=204)
def clear_faults(session: SessionDep, account_sid: AccountDep) -> Response:
    """Remove every fault of the caller's account."""
    service.delete_all(session, account_sid=account_sid)
    return Response(status_code=204)


@router.delete("/{fault_id}", status_code=204)
def delete_fault(session: SessionDep, account_sid: AccountDep, fault_id: str) -> Response:
    """Remove one fault (`fault_id` is the `id` the fault was created with)."""
    service.delete_one(session, account_sid=account_sid, fault_id=fault_id)
    return Response(status_code=204)
