"""`POST /emulator/reset`: clear the caller's account, one of its workspaces, or (strict mode) the server."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from taskrouter_emulator.api.forms import TwilioBool, TwilioParams, params
from taskrouter_emulator.api.threads import OneHopRoute
from taskrouter_emulator.deps import AccountDep, SessionDep
from taskrouter_emulator.emulator_tools.access import require_server_admin
from taskrouter_emulator.emulator_tools.reset import service
from taskrouter_emulator.workspaces import service as workspace_service

router = APIRouter(route_class=OneHopRoute, prefix="/emulator", tags=["emulator"])


class ResetRequest(TwilioParams):
    workspace_sid: str | None = None
    all: TwilioBool | None = None


@router.post("/reset")
def reset(
    request: Request,
    session: SessionDep,
    account_sid: AccountDep,
    form: Annotated[ResetRequest, Depends(params(ResetRequest))],
) -> dict[str, Any]:
    """Delete the caller's state (`WorkspaceSid` for one workspace; `All=true` for every account, strict mode only)."""
    if form.all:
        require_server_admin(account_sid, request.app.state.settings)
        outcome = service.reset_server(session)
    elif form.workspace_sid is not None:
        workspace = workspace_service.get(session, account_sid=account_sid, sid=form.workspace_sid)
        outcome = service.reset_workspace(
            session, account_sid=account_sid, workspace_sid=workspace.sid
        )
    else:
        outcome = service.reset_account(session, account_sid=account_sid)
    return {
        "account_sid": outcome.account_sid,
        "workspace_sid": outcome.workspace_sid,
        "deleted": outcome.deleted,
    }
