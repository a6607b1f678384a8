"""HTTP routes of the TaskQueue resource."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from sqlalchemy.orm import Session

from taskrouter_emulator.api.forms import params
from taskrouter_emulator.api.pagination import fetch_page, render_page
from taskrouter_emulator.api.threads import OneHopRoute
from taskrouter_emulator.deps import BaseUrlDep, ClockDep, PageDep, SessionDep, WorkspaceDep
from taskrouter_emulator.errors import InvalidParameter
from taskrouter_emulator.lifecycle.workflow import route_after_change
from taskrouter_emulator.models import TaskQueue
from taskrouter_emulator.task_queues import service
from taskrouter_emulator.task_queues.schemas import (
    TaskQueueCreate,
    TaskQueueFilter,
    TaskQueueResource,
    TaskQueueUpdate,
)

router = APIRouter(route_class=OneHopRoute, prefix="/v1/Workspaces/{workspace_sid}/TaskQueues")


def _render_one(session: Session, queue: TaskQueue, base_url: str) -> TaskQueueResource:
    return TaskQueueResource.build(
        queue, names=service.activity_names(session, [queue]), base_url=base_url
    )


def _descending(ordering: str | None) -> bool:
    if ordering is None:
        return False
    normalized = ordering.replace(" ", "").lower()
    if normalized not in ("datecreated:asc", "datecreated:desc"):
        raise InvalidParameter(
            f"Invalid Ordering '{ordering}'; use DateCreated:asc or DateCreated:desc"
        )
    return normalized.endswith("desc")


@router.get("")
def list_task_queues(
    session: SessionDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    page: PageDep,
    query: Annotated[TaskQueueFilter, Depends(params(TaskQueueFilter))],
) -> dict[str, Any]:
    stmt = service.list_query(
        workspace=workspace,
        friendly_name=query.friendly_name,
        descending=_descending(query.ordering),
    )
    documents: list[dict[str, Any] | None] = []
    if query.evaluate_worker_attributes is not None:
        documents.append(service.evaluate_worker_attributes(query.evaluate_worker_attributes))
    if query.worker_sid is not None:
        documents.append(
            service.worker_document(session, workspace=workspace, worker_sid=query.worker_sid)
        )

    keep = service.worker_document_filter(documents) if documents else None
    rows, has_next = fetch_page(session, stmt, page, keep=keep)
    names = service.activity_names(session, rows)
    return render_page(
        rows,
        has_next,
        req=page,
        base_url=base_url,
        key="task_queues",
        render=lambda q: TaskQueueResource.build(q, names=names, base_url=base_url),
    )


@router.post("", status_code=201)
def create_task_queue(
    session: SessionDep,
    clock: ClockDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    form: Annotated[TaskQueueCreate, Depends(params(TaskQueueCreate))],
) -> TaskQueueResource:
    queue = service.create(session, clock=clock, workspace=workspace, **form.model_dump())
    return _render_one(session, queue, base_url)


@router.get("/{sid}")
def fetch_task_queue(
    session: SessionDep, workspace: WorkspaceDep, base_url: BaseUrlDep, sid: str
) -> TaskQueueResource:
    return _render_one(session, service.get(session, workspace=workspace, sid=sid), base_url)


@router.post("/{sid}")
def update_task_queue(
    session: SessionDep,
    clock: ClockDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    sid: str,
    form: Annotated[TaskQueueUpdate, Depends(params(TaskQueueUpdate))],
) -> TaskQueueResource:
    queue = service.get(session, workspace=workspace, sid=sid)
    service.update(session, clock=clock, workspace=workspace, queue=queue, **form.model_dump())
    route_after_change(session, clock=clock, workspace=workspace)
    return _render_one(session, queue, base_url)


@router.delete("/{sid}", status_code=204)
def delete_task_queue(
    session: SessionDep, clock: ClockDep, workspace: WorkspaceDep, sid: str
) -> Response:
    queue = service.get(session, workspace=workspace, sid=sid)
    service.delete_queue(session, clock=clock, workspace=workspace, queue=queue)
    return Response(status_code=204)
