"""HTTP routes of Reservations, reached through a task or through a worker (one service serves both)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from taskrouter_emulator.api.forms import params
from taskrouter_emulator.api.pagination import fetch_page, render_page
from taskrouter_emulator.api.threads import OneHopRoute
from taskrouter_emulator.deps import BaseUrlDep, PageDep, RoutingDep, SessionDep, WorkspaceDep
from taskrouter_emulator.models import Reservation
from taskrouter_emulator.reservations import service
from taskrouter_emulator.reservations.schemas import (
    ReservationFilter,
    ReservationResource,
    ReservationUpdate,
)
from taskrouter_emulator.tasks import service as task_service
from taskrouter_emulator.workers import service as worker_service

router = APIRouter(route_class=OneHopRoute, prefix="/v1/Workspaces/{workspace_sid}")
IfMatch = Annotated[str | None, Header(alias="If-Match")]


def _respond(
    session: Session, reservation: Reservation, base_url: str, *, worker_path: bool
) -> JSONResponse:
    worker = service.workers_of(session, [reservation])[reservation.worker_sid]
    body = ReservationResource.build(
        reservation, worker=worker, base_url=base_url, worker_path=worker_path
    )
    return JSONResponse(body.model_dump(mode="json"), headers={"ETag": str(reservation.version)})


def _list(
    session: Session, stmt: Any, page: Any, base_url: str, *, worker_path: bool
) -> dict[str, Any]:
    rows, has_next = fetch_page(session, stmt, page)
    workers = service.workers_of(session, rows)
    return render_page(
        rows,
        has_next,
        req=page,
        base_url=base_url,
        key="reservations",
        render=lambda r: ReservationResource.build(
            r, worker=workers[r.worker_sid], base_url=base_url, worker_path=worker_path
        ),
    )


@router.get("/Tasks/{task_sid}/Reservations")
def list_task_reservations(
    session: SessionDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    page: PageDep,
    task_sid: str,
    query: Annotated[ReservationFilter, Depends(params(ReservationFilter))],
) -> dict[str, Any]:
    task = task_service.get(session, workspace=workspace, sid=task_sid)
    stmt = service.list_query(
        workspace=workspace,
        task_sid=task.sid,
        worker_sid=query.worker_sid,
        status=query.reservation_status,
    )
    return _list(session, stmt, page, base_url, worker_path=False)


@router.get("/Tasks/{task_sid}/Reservations/{sid}")
def fetch_task_reservation(
    session: SessionDep, workspace: WorkspaceDep, base_url: BaseUrlDep, task_sid: str, sid: str
) -> JSONResponse:
    task = task_service.get(session, workspace=workspace, sid=task_sid)
    reservation = service.get_for_task(session, workspace=workspace, task=task, sid=sid)
    return _respond(session, reservation, base_url, worker_path=False)


@router.post("/Tasks/{task_sid}/Reservations/{sid}")
def update_task_reservation(
    ctx: RoutingDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    task_sid: str,
    sid: str,
    form: Annotated[ReservationUpdate, Depends(params(ReservationUpdate))],
    if_match: IfMatch = None,
) -> JSONResponse:
    task = task_service.get(ctx.session, workspace=workspace, sid=task_sid)
    reservation = service.get_for_task(ctx.session, workspace=workspace, task=task, sid=sid)
    service.check_if_match(reservation, if_match)
    service.update(ctx, reservation, form.sent(), task_path=True)
    return _respond(ctx.session, reservation, base_url, worker_path=False)


@router.get("/Workers/{worker_sid}/Reservations")
def list_worker_reservations(
    session: SessionDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    page: PageDep,
    worker_sid: str,
    query: Annotated[ReservationFilter, Depends(params(ReservationFilter))],
) -> dict[str, Any]:
    worker = worker_service.get(session, workspace=workspace, sid=worker_sid)
    stmt = service.list_query(
        workspace=workspace, worker_sid=worker.sid, status=query.reservation_status
    )
    return _list(session, stmt, page, base_url, worker_path=True)


@router.get("/Workers/{worker_sid}/Reservations/{sid}")
def fetch_worker_reservation(
    session: SessionDep, workspace: WorkspaceDep, base_url: BaseUrlDep, worker_sid: str, sid: str
) -> JSONResponse:
    worker = worker_service.get(session, workspace=workspace, sid=worker_sid)
    reservation = service.get_for_worker(session, workspace=workspace, worker=worker, sid=sid)
    return _respond(session, reservation, base_url, worker_path=True)


@router.post("/Workers/{worker_sid}/Reservations/{sid}")
def update_worker_reservation(
    ctx: RoutingDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    worker_sid: str,
    sid: str,
    form: Annotated[ReservationUpdate, Depends(params(ReservationUpdate))],
    if_match: IfMatch = None,
) -> JSONResponse:
    worker = worker_service.get(ctx.session, workspace=workspace, sid=worker_sid)
    reservation = service.get_for_worker(ctx.session, workspace=workspace, worker=worker, sid=sid)
    service.check_if_match(reservation, if_match)
    service.update(ctx, reservation, form.sent(), task_path=False)
    return _respond(ctx.session, reservation, base_url, worker_path=True)
