"""HTTP routes of the Workspace resource."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from taskrouter_emulator.api.forms import params
from taskrouter_emulator.api.pagination import fetch_page, render_page
from taskrouter_emulator.api.threads import OneHopRoute
from taskrouter_emulator.deps import (
    AccountDep,
    BaseUrlDep,
    ClockDep,
    PageDep,
    SessionDep,
    WorkspaceDep,
)
from taskrouter_emulator.workspaces import service
from taskrouter_emulator.workspaces.schemas import (
    WorkspaceCreate,
    WorkspaceFilter,
    WorkspaceResource,
    WorkspaceUpdate,
)

router = APIRouter(route_class=OneHopRoute)


def _render(session: SessionDep, workspace: Any, base_url: str) -> WorkspaceResource:
    return WorkspaceResource.build(
        workspace, names=service.activity_names(session, workspace), base_url=base_url
    )


@router.get("/v1/Workspaces")
def list_workspaces(
    session: SessionDep,
    account_sid: AccountDep,
    base_url: BaseUrlDep,
    page: PageDep,
    query: Annotated[WorkspaceFilter, Depends(params(WorkspaceFilter))],
) -> dict[str, Any]:
    rows, has_next = fetch_page(
        session,
        service.list_query(account_sid=account_sid, friendly_name=query.friendly_name),
        page,
    )
    return render_page(
        rows,
        has_next,
        req=page,
        base_url=base_url,
        key="workspaces",
        render=lambda w: _render(session, w, base_url),
    )


@router.post("/v1/Workspaces", status_code=201)
def create_workspace(
    session: SessionDep,
    account_sid: AccountDep,
    clock: ClockDep,
    base_url: BaseUrlDep,
    form: Annotated[WorkspaceCreate, Depends(params(WorkspaceCreate))],
) -> WorkspaceResource:
    workspace = service.create(session, clock=clock, account_sid=account_sid, **form.model_dump())
    return _render(session, workspace, base_url)


@router.get("/v1/Workspaces/{workspace_sid}")
def fetch_workspace(
    session: SessionDep, workspace: WorkspaceDep, base_url: BaseUrlDep
) -> WorkspaceResource:
    return _render(session, workspace, base_url)


@router.post("/v1/Workspaces/{workspace_sid}")
def update_workspace(
    session: SessionDep,
    clock: ClockDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    form: Annotated[WorkspaceUpdate, Depends(params(WorkspaceUpdate))],
) -> WorkspaceResource:
    service.update(session, clock=clock, workspace=workspace, **form.model_dump())
    return _render(session, workspace, base_url)


@router.delete("/v1/Workspaces/{workspace_sid}", status_code=204)
def delete_workspace(session: SessionDep, clock: ClockDep, workspace: WorkspaceDep) -> Response:
    service.delete_workspace(session, clock=clock, workspace=workspace)
    return Response(status_code=204)
