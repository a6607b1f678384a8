"""HTTP routes of the Task resource."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Response
from fastapi.responses import JSONResponse

from taskrouter_emulator.api.forms import params
from taskrouter_emulator.api.pagination import fetch_page, render_page
from taskrouter_emulator.api.threads import OneHopRoute
from taskrouter_emulator.deps import (
    BaseUrlDep,
    PageDep,
    RoutingDep,
    SessionDep,
    SettingsDep,
    WorkspaceDep,
)
from taskrouter_emulator.models import Task
from taskrouter_emulator.routing.context import RoutingContext
from taskrouter_emulator.tasks import service
from taskrouter_emulator.tasks.schemas import TaskCreate, TaskFilter, TaskResource, TaskUpdate

router = APIRouter(route_class=OneHopRoute, prefix="/v1/Workspaces/{workspace_sid}/Tasks")
IfMatch = Annotated[str | None, Header(alias="If-Match")]


def respond(ctx: RoutingContext, task: Task, base_url: str, status: int = 200) -> JSONResponse:
    """Render one task with its ETag (the bare version number)."""
    body = TaskResource.build(
        task, names=service.names_in(ctx, task), now=ctx.now, base_url=base_url
    )
    return JSONResponse(
        body.model_dump(mode="json"), status_code=status, headers={"ETag": str(task.version)}
    )


@router.get("")
def list_tasks(
    session: SessionDep,
    workspace: WorkspaceDep,
    ctx: RoutingDep,
    base_url: BaseUrlDep,
    page: PageDep,
    query: Annotated[TaskFilter, Depends(params(TaskFilter))],
) -> dict[str, Any]:
    stmt = service.list_query(
        workspace=workspace,
        priority=query.priority,
        statuses=query.assignment_status,
        workflow_sid=query.workflow_sid,
        workflow_name=query.workflow_name,
        task_queue_sid=query.task_queue_sid,
        task_queue_name=query.task_queue_name,
        routing_target=query.routing_target,
        ordering=query.ordering,
        has_addons=query.has_addons,
    )
    expression = query.evaluate_task_attributes
    keep = None if expression is None else service.expression_filter(expression)
    rows, has_next = fetch_page(session, stmt, page, keep=keep)
    names = service.names(session, rows)
    return render_page(
        rows,
        has_next,
        req=page,
        base_url=base_url,
        key="tasks",
        render=lambda t: TaskResource.build(t, names=names, now=ctx.now, base_url=base_url),
    )


@router.post("", status_code=201)
def create_task(
    ctx: RoutingDep,
    base_url: BaseUrlDep,
    settings: SettingsDep,
    form: Annotated[TaskCreate, Depends(params(TaskCreate))],
) -> JSONResponse:
    limit = service.MAX_TASKS_PER_WORKSPACE if settings.strict_limits else None
    task = service.create(ctx, **form.model_dump(), max_tasks=limit)
    return respond(ctx, task, base_url, status=201)


@router.get("/{sid}")
def fetch_task(
    ctx: RoutingDep, workspace: WorkspaceDep, base_url: BaseUrlDep, sid: str
) -> JSONResponse:
    return respond(ctx, service.get(ctx.session, workspace=workspace, sid=sid), base_url)


@router.post("/{sid}")
def update_task(
    ctx: RoutingDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    sid: str,
    form: Annotated[TaskUpdate, Depends(params(TaskUpdate))],
    if_match: IfMatch = None,
) -> JSONResponse:
    task = service.get(ctx.session, workspace=workspace, sid=sid)
    service.check_if_match(task, if_match)
    service.update(ctx, task, **form.model_dump())
    return respond(ctx, task, base_url)


@router.delete("/{sid}", status_code=204)
def delete_task(
    ctx: RoutingDep, workspace: WorkspaceDep, sid: str, if_match: IfMatch = None
) -> Response:
    task = service.get(ctx.session, workspace=workspace, sid=sid)
    service.check_if_match(task, if_match)
    service.delete_task(ctx, task)
    return Response(status_code=204)
