"""HTTP routes of the Event resource (read-only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from taskrouter_emulator.api.forms import params
from taskrouter_emulator.api.pagination import fetch_page, render_page
from taskrouter_emulator.api.threads import OneHopRoute
from taskrouter_emulator.deps import (
    BaseUrlDep,
    ClockDep,
    PageDep,
    SessionDep,
    SettingsDep,
    WorkspaceDep,
)
from taskrouter_emulator.events import service
from taskrouter_emulator.events.schemas import EventFilter, EventResource

router = APIRouter(route_class=OneHopRoute, prefix="/v1/Workspaces/{workspace_sid}/Events")


@router.get("")
def list_events(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    page: PageDep,
    query: Annotated[EventFilter, Depends(params(EventFilter))],
) -> dict[str, Any]:
    window_start, window_end = service.resolve_window(
        now=clock.now(),
        retention_days=settings.event_retention_days,
        minutes=query.minutes,
        start_date=query.start_date,
        end_date=query.end_date,
        continuation=page.token is not None,
    )
    # The window is relative to "now": pin its bounds so later pages cover the same window.
    page = page.pinned(
        {"StartDate": service.exact_iso(window_start), "EndDate": service.exact_iso(window_end)},
        drop={"Minutes"},
    )
    stmt = service.list_query(
        workspace=workspace,
        window_start=window_start,
        window_end=window_end,
        event_types=query.event_type,
        sid=query.sid,
        task_sid=query.task_sid,
        worker_sid=query.worker_sid,
        reservation_sid=query.reservation_sid,
        task_queue_sid=query.task_queue_sid,
        workflow_sid=query.workflow_sid,
        task_channel=query.task_channel,
    )
    rows, has_next = fetch_page(session, stmt, page)
    return render_page(
        rows,
        has_next,
        req=page,
        base_url=base_url,
        key="events",
        render=lambda e: EventResource.build(e, base_url=base_url),
    )


@router.get("/{sid}")
def fetch_event(
    session: SessionDep, workspace: WorkspaceDep, base_url: BaseUrlDep, sid: str
) -> EventResource:
    return EventResource.build(
        service.get(session, workspace=workspace, sid=sid), base_url=base_url
    )
