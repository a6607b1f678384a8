"""HTTP routes of the Workflow resource."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from taskrouter_emulator.api.forms import params
from taskrouter_emulator.api.pagination import fetch_page, render_page
from taskrouter_emulator.api.threads import OneHopRoute
from taskrouter_emulator.deps import BaseUrlDep, ClockDep, PageDep, SessionDep, WorkspaceDep
from taskrouter_emulator.lifecycle.workflow import route_after_change
from taskrouter_emulator.workflows import service
from taskrouter_emulator.workflows.schemas import (
    WorkflowCreate,
    WorkflowFilter,
    WorkflowResource,
    WorkflowUpdate,
)

router = APIRouter(route_class=OneHopRoute, prefix="/v1/Workspaces/{workspace_sid}/Workflows")


@router.get("")
def list_workflows(
    session: SessionDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    page: PageDep,
    query: Annotated[WorkflowFilter, Depends(params(WorkflowFilter))],
) -> dict[str, Any]:
    rows, has_next = fetch_page(
        session, service.list_query(workspace=workspace, friendly_name=query.friendly_name), page
    )
    return render_page(
        rows,
        has_next,
        req=page,
        base_url=base_url,
        key="workflows",
        render=lambda w: WorkflowResource.build(w, base_url=base_url),
    )


@router.post("", status_code=201)
def create_workflow(
    session: SessionDep,
    clock: ClockDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    form: Annotated[WorkflowCreate, Depends(params(WorkflowCreate))],
) -> WorkflowResource:
    workflow = service.create(session, clock=clock, workspace=workspace, **form.model_dump())
    return WorkflowResource.build(workflow, base_url=base_url)


@router.get("/{sid}")
def fetch_workflow(
    session: SessionDep, workspace: WorkspaceDep, base_url: BaseUrlDep, sid: str
) -> WorkflowResource:
    return WorkflowResource.build(
        service.get(session, workspace=workspace, sid=sid), base_url=base_url
    )


@router.post("/{sid}")
def update_workflow(
    session: SessionDep,
    clock: ClockDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    sid: str,
    form: Annotated[WorkflowUpdate, Depends(params(WorkflowUpdate))],
) -> WorkflowResource:
    workflow = service.get(session, workspace=workspace, sid=sid)
    changes = form.model_dump(exclude={"re_evaluate_tasks"})
    service.update(session, clock=clock, workspace=workspace, workflow=workflow, **changes)
    if form.re_evaluate_tasks:
        route_after_change(
            session, clock=clock, workspace=workspace, workflow_sid=workflow.sid
        )
    return WorkflowResource.build(workflow, base_url=base_url)


@router.delete("/{sid}", status_code=204)
def delete_workflow(
    session: SessionDep, clock: ClockDep, workspace: WorkspaceDep, sid: str
) -> Response:
    workflow = service.get(session, workspace=workspace, sid=sid)
    service.delete_workflow(session, clock=clock, workspace=workspace, workflow=workflow)
    return Response(status_code=204)
