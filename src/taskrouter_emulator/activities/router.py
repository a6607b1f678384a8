"""HTTP routes of the Activity resource."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from taskrouter_emulator.activities import service
from taskrouter_emulator.activities.schemas import (
    ActivityCreate,
    ActivityFilter,
    ActivityResource,
    ActivityUpdate,
)
from taskrouter_emulator.api.forms import params
from taskrouter_emulator.api.pagination import fetch_page, render_page
from taskrouter_emulator.api.threads import OneHopRoute
from taskrouter_emulator.deps import BaseUrlDep, ClockDep, PageDep, SessionDep, WorkspaceDep

router = APIRouter(route_class=OneHopRoute, prefix="/v1/Workspaces/{workspace_sid}/Activities")


@router.get("")
def list_activities(
    session: SessionDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    page: PageDep,
    query: Annotated[ActivityFilter, Depends(params(ActivityFilter))],
) -> dict[str, Any]:
    stmt = service.list_query(
        workspace=workspace, friendly_name=query.friendly_name, available=query.available
    )
    rows, has_next = fetch_page(session, stmt, page)
    return render_page(
        rows,
        has_next,
        req=page,
        base_url=base_url,
        key="activities",
        render=lambda a: ActivityResource.build(a, base_url=base_url),
    )


@router.post("", status_code=201)
def create_activity(
    session: SessionDep,
    clock: ClockDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    form: Annotated[ActivityCreate, Depends(params(ActivityCreate))],
) -> ActivityResource:
    activity = service.create(session, clock=clock, workspace=workspace, **form.model_dump())
    return ActivityResource.build(activity, base_url=base_url)


@router.get("/{sid}")
def fetch_activity(
    session: SessionDep, workspace: WorkspaceDep, base_url: BaseUrlDep, sid: str
) -> ActivityResource:
    return ActivityResource.build(
        service.get(session, workspace=workspace, sid=sid), base_url=base_url
    )


@router.post("/{sid}")
def update_activity(
    session: SessionDep,
    clock: ClockDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    sid: str,
    form: Annotated[ActivityUpdate, Depends(params(ActivityUpdate))],
) -> ActivityResource:
    activity = service.get(session, workspace=workspace, sid=sid)
    service.update(
        session,
        clock=clock,
        workspace=workspace,
        activity=activity,
        friendly_name=form.friendly_name,
    )
    return ActivityResource.build(activity, base_url=base_url)


@router.delete("/{sid}", status_code=204)
def delete_activity(
    session: SessionDep, clock: ClockDep, workspace: WorkspaceDep, sid: str
) -> Response:
    activity = service.get(session, workspace=workspace, sid=sid)
    service.delete_activity(session, clock=clock, workspace=workspace, activity=activity)
    return Response(status_code=204)
