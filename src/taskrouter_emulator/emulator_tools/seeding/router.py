"""`POST /emulator/seed`: load a YAML or JSON seed file (the request body) into the caller's account."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from taskrouter_emulator.api.threads import OneHopRoute
from taskrouter_emulator.deps import AccountDep, ClockDep, SessionDep
from taskrouter_emulator.emulator_tools.body import raw_body
from taskrouter_emulator.emulator_tools.seeding import service
from taskrouter_emulator.emulator_tools.seeding.document import parse_seed
from taskrouter_emulator.errors import InvalidParameter

router = APIRouter(route_class=OneHopRoute, prefix="/emulator", tags=["emulator"])


@router.post(
    "/seed",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "A seed file (see examples/contact-centre.yaml)",
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            },
        }
    },
)
def seed(
    session: SessionDep,
    account_sid: AccountDep,
    clock: ClockDep,
    body: Annotated[bytes, Depends(raw_body)],
) -> dict[str, Any]:
    """Create the workspaces and resources the seed file describes that the account lacks."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidParameter("The seed file is not UTF-8 text") from None
    seed_file = parse_seed(text)
    declared = seed_file.document.account_sid
    if declared is not None and declared != account_sid:
        raise InvalidParameter(
            f"Seed file {seed_file.where(['account_sid'])}: {declared} is not the account "
            f"you authenticated as ({account_sid})"
        )
    outcome = service.apply_seed(session, clock=clock, account_sid=account_sid, seed=seed_file)
    return service.render(outcome)
