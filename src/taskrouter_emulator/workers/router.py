"""HTTP routes of the Worker and WorkerChannel resources.

`/{sid}` only matches WK SIDs (anything else is a 404), so the static `Workers/Statistics`,
`Workers/RealTimeStatistics` and `Workers/CumulativeStatistics` paths never reach a worker.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Response
from sqlalchemy.orm import Session

from taskrouter_emulator.api.forms import params
from taskrouter_emulator.api.pagination import fetch_page, render_page
from taskrouter_emulator.api.threads import OneHopRoute
from taskrouter_emulator.deps import BaseUrlDep, ClockDep, PageDep, SessionDep, WorkspaceDep
from taskrouter_emulator.lifecycle.workflow import route_after_change
from taskrouter_emulator.models import Worker
from taskrouter_emulator.workers import channels, service
from taskrouter_emulator.workers.schemas import (
    WorkerChannelResource,
    WorkerChannelUpdate,
    WorkerCreate,
    WorkerFilter,
    WorkerResource,
    WorkerUpdate,
)

router = APIRouter(route_class=OneHopRoute, prefix="/v1/Workspaces/{workspace_sid}/Workers")

IfMatch = Annotated[str | None, Header(alias="If-Match")]


def _render(session: Session, worker: Worker, response: Response, base_url: str) -> WorkerResource:
    response.headers["ETag"] = str(worker.version)
    return WorkerResource.build(worker, service.activity_of(session, worker), base_url=base_url)


@router.get("")
def list_workers(
    session: SessionDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    page: PageDep,
    query: Annotated[WorkerFilter, Depends(params(WorkerFilter))],
) -> dict[str, Any]:
    stmt = service.list_query(
        workspace=workspace,
        activity_name=query.activity_name,
        activity_sid=query.activity_sid,
        available=query.available,
        friendly_name=query.friendly_name,
        ordering=query.ordering,
    )
    keep = service.expression_filter(
        session,
        workspace=workspace,
        target_workers_expression=query.target_workers_expression,
        task_queue_sid=query.task_queue_sid,
        task_queue_name=query.task_queue_name,
    )
    rows, has_next = fetch_page(session, stmt, page, keep=keep)
    activities = service.activities_by_sid(session, sids={w.activity_sid for w in rows})
    return render_page(
        rows,
        has_next,
        req=page,
        base_url=base_url,
        key="workers",
        render=lambda w: WorkerResource.build(w, activities[w.activity_sid], base_url=base_url),
    )


@router.post("", status_code=201)
def create_worker(
    session: SessionDep,
    clock: ClockDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    response: Response,
    form: Annotated[WorkerCreate, Depends(params(WorkerCreate))],
) -> WorkerResource:
    worker = service.create(session, clock=clock, workspace=workspace, **form.model_dump())
    route_after_change(session, clock=clock, workspace=workspace, worker_sids=[worker.sid])
    return _render(session, worker, response, base_url)


@router.get("/{sid}")
def fetch_worker(
    session: SessionDep, workspace: WorkspaceDep, base_url: BaseUrlDep, response: Response, sid: str
) -> WorkerResource:
    return _render(session, service.get(session, workspace=workspace, sid=sid), response, base_url)


@router.post("/{sid}")
def update_worker(
    session: SessionDep,
    clock: ClockDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    response: Response,
    sid: str,
    form: Annotated[WorkerUpdate, Depends(params(WorkerUpdate))],
    if_match: IfMatch = None,
) -> WorkerResource:
    worker = service.get(session, workspace=workspace, sid=sid, for_update=True)
    service.update(
        session,
        clock=clock,
        workspace=workspace,
        worker=worker,
        activity_sid=form.activity_sid,
        attributes=form.attributes,
        friendly_name=form.friendly_name,
        reject_pending=form.reject_pending_reservations,
        if_match=if_match,
    )
    return _render(session, worker, response, base_url)


@router.delete("/{sid}", status_code=204)
def delete_worker(
    session: SessionDep,
    clock: ClockDep,
    workspace: WorkspaceDep,
    sid: str,
    if_match: IfMatch = None,
) -> Response:
    worker = service.get(session, workspace=workspace, sid=sid, for_update=True)
    service.delete_worker(
        session, clock=clock, workspace=workspace, worker=worker, if_match=if_match
    )
    return Response(status_code=204)


@router.get("/{worker_sid}/Channels")
def list_worker_channels(
    session: SessionDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    page: PageDep,
    worker_sid: str,
) -> dict[str, Any]:
    worker = service.get(session, workspace=workspace, sid=worker_sid)
    rows, has_next = fetch_page(session, channels.list_query(worker=worker), page)
    names = channels.unique_names(session, workspace_sid=workspace.sid)
    states = channels.channel_states(session, worker_sids=[worker.sid])
    return render_page(
        rows,
        has_next,
        req=page,
        base_url=base_url,
        key="channels",
        render=lambda c: WorkerChannelResource.build(
            c,
            unique_name=names[c.task_channel_sid],
            state=states.get((c.worker_sid, c.task_channel_sid)) or channels.state_of(session, c),
            base_url=base_url,
        ),
    )


@router.get("/{worker_sid}/Channels/{sid}")
def fetch_worker_channel(
    session: SessionDep, workspace: WorkspaceDep, base_url: BaseUrlDep, worker_sid: str, sid: str
) -> WorkerChannelResource:
    worker = service.get(session, workspace=workspace, sid=worker_sid)
    channel, task_channel = channels.get(session, worker=worker, sid_or_name=sid)
    return WorkerChannelResource.build(
        channel,
        unique_name=task_channel.unique_name,
        state=channels.state_of(session, channel),
        base_url=base_url,
    )


@router.post("/{worker_sid}/Channels/{sid}")
def update_worker_channel(
    session: SessionDep,
    clock: ClockDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    worker_sid: str,
    sid: str,
    form: Annotated[WorkerChannelUpdate, Depends(params(WorkerChannelUpdate))],
) -> WorkerChannelResource:
    worker = service.get(session, workspace=workspace, sid=worker_sid)
    channel, task_channel = channels.get(session, worker=worker, sid_or_name=sid, for_update=True)
    channels.update(
        session,
        clock=clock,
        workspace=workspace,
        worker=worker,
        channel=channel,
        task_channel=task_channel,
        capacity=form.capacity,
        available=form.available,
    )
    route_after_change(session, clock=clock, workspace=workspace, worker_sids=[worker.sid])
    return WorkerChannelResource.build(
        channel,
        unique_name=task_channel.unique_name,
        state=channels.state_of(session, channel),
        base_url=base_url,
    )
