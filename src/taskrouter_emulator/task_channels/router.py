"""HTTP routes of the TaskChannel resource (paths take a SID or a unique name)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from taskrouter_emulator.api.forms import params
from taskrouter_emulator.api.pagination import fetch_page, render_page
from taskrouter_emulator.api.threads import OneHopRoute
from taskrouter_emulator.deps import BaseUrlDep, ClockDep, PageDep, SessionDep, WorkspaceDep
from taskrouter_emulator.task_channels import service
from taskrouter_emulator.task_channels.schemas import (
    TaskChannelCreate,
    TaskChannelResource,
    TaskChannelUpdate,
)

router = APIRouter(route_class=OneHopRoute, prefix="/v1/Workspaces/{workspace_sid}/TaskChannels")


@router.get("")
def list_task_channels(
    session: SessionDep, workspace: WorkspaceDep, base_url: BaseUrlDep, page: PageDep
) -> dict[str, Any]:
    rows, has_next = fetch_page(session, service.list_query(workspace=workspace), page)
    return render_page(
        rows,
        has_next,
        req=page,
        base_url=base_url,
        key="channels",
        render=lambda c: TaskChannelResource.build(c, base_url=base_url),
    )


@router.post("", status_code=201)
def create_task_channel(
    session: SessionDep,
    clock: ClockDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    form: Annotated[TaskChannelCreate, Depends(params(TaskChannelCreate))],
) -> TaskChannelResource:
    channel = service.create(session, clock=clock, workspace=workspace, **form.model_dump())
    return TaskChannelResource.build(channel, base_url=base_url)


@router.get("/{sid}")
def fetch_task_channel(
    session: SessionDep, workspace: WorkspaceDep, base_url: BaseUrlDep, sid: str
) -> TaskChannelResource:
    return TaskChannelResource.build(
        service.get(session, workspace=workspace, sid_or_name=sid), base_url=base_url
    )


@router.post("/{sid}")
def update_task_channel(
    session: SessionDep,
    clock: ClockDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    sid: str,
    form: Annotated[TaskChannelUpdate, Depends(params(TaskChannelUpdate))],
) -> TaskChannelResource:
    channel = service.get(session, workspace=workspace, sid_or_name=sid)
    service.update(session, clock=clock, workspace=workspace, channel=channel, **form.model_dump())
    return TaskChannelResource.build(channel, base_url=base_url)


@router.delete("/{sid}", status_code=204)
def delete_task_channel(
    session: SessionDep, clock: ClockDep, workspace: WorkspaceDep, sid: str
) -> Response:
    channel = service.get(session, workspace=workspace, sid_or_name=sid)
    service.delete_channel(session, clock=clock, workspace=workspace, channel=channel)
    return Response(status_code=204)
