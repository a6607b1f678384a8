"""`GET /emulator/snapshot` exports, `POST /emulator/snapshot` imports the caller's state."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from taskrouter_emulator.api.forms import TwilioParams, params
from taskrouter_emulator.api.threads import OneHopRoute
from taskrouter_emulator.deps import AccountDep, ClockDep, SessionDep
from taskrouter_emulator.emulator_tools.body import json_body
from taskrouter_emulator.emulator_tools.snapshots import service
from taskrouter_emulator.errors import InvalidParameter
from taskrouter_emulator.workspaces import service as workspace_service

router = APIRouter(route_class=OneHopRoute, prefix="/emulator", tags=["emulator"])


class SnapshotQuery(TwilioParams):
    workspace_sid: str | None = None


@router.get("/snapshot")
def export_snapshot(
    session: SessionDep,
    account_sid: AccountDep,
    clock: ClockDep,
    query: Annotated[SnapshotQuery, Depends(params(SnapshotQuery))],
) -> dict[str, Any]:
    """Export the caller's whole state, or one workspace's (`WorkspaceSid`), as one JSON document."""
    workspace_sid = None
    if query.workspace_sid is not None:
        workspace_sid = workspace_service.get(
            session, account_sid=account_sid, sid=query.workspace_sid
        ).sid
    return service.export(session, clock=clock, account_sid=account_sid, workspace_sid=workspace_sid)


@router.post(
    "/snapshot",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "A document from GET /emulator/snapshot",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
def import_snapshot(
    session: SessionDep,
    account_sid: AccountDep,
    document: Annotated[Any, Depends(json_body)],
) -> dict[str, Any]:
    """Replace the caller's state (or the snapshot's workspace) with a snapshot document (JSON body)."""
    if not isinstance(document, dict):
        raise InvalidParameter("Invalid snapshot: the document must be a JSON object")
    return service.import_document(session, account_sid=account_sid, document=document)
