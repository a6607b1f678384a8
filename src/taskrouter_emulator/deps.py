"""FastAPI dependencies: the request's session, account, clock, base URL and resolved workspace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from taskrouter_emulator.api.pagination import PageRequest, page_request
from taskrouter_emulator.api.urls import public_base_url
from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.config import Settings
from taskrouter_emulator.db.locks import workspace_lock
from taskrouter_emulator.models import Workspace
from taskrouter_emulator.routing.context import RoutingContext
from taskrouter_emulator.scheduler import timers
from taskrouter_emulator.workspaces import service as workspace_service


def get_settings(request: Request) -> Settings:
    """Return the app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_clock(request: Request) -> EmulatorClock:
    """Return the app's clock."""
    clock: EmulatorClock = request.app.state.clock
    return clock


def get_session(request: Request) -> Iterator[Session]:
    """Open the request's session; commit before the response is sent, roll back on error."""
    with request.app.state.sessionmaker() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_account_sid(request: Request) -> str:
    """Authenticate the request and return its account SID."""
    account_sid: str = request.app.state.authenticator.account_for(
        request.headers.get("authorization")
    )
    return account_sid


def get_base_url(request: Request) -> str:
    """Return the base URL for absolute links in responses."""
    return public_base_url(request, request.app.state.settings)


SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[EmulatorClock, Depends(get_clock)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
AccountDep = Annotated[str, Depends(get_account_sid)]
BaseUrlDep = Annotated[str, Depends(get_base_url)]
PageDep = Annotated[PageRequest, Depends(page_request)]


def get_workspace(
    request: Request,
    workspace_sid: str,
    session: SessionDep,
    account_sid: AccountDep,
    clock: ClockDep,
) -> Workspace:
    """Resolve `{workspace_sid}` to a workspace of the caller's account, ready for this request.

    Writes take the workspace's lock (Postgres; SQLite serialises writers anyway) so concurrent
    requests leave one consistent outcome, and overdue timers of the workspace fire first, so no
    response shows, say, a pending reservation whose timeout has passed.
    """
    workspace = workspace_service.get(session, account_sid=account_sid, sid=workspace_sid)
    if request.method != "GET":
        workspace_lock(session, workspace.sid)
    timers.fire_due(session, clock=clock, workspace=workspace)
    return workspace


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]


def get_routing_context(
    session: SessionDep, workspace: WorkspaceDep, clock: ClockDep
) -> RoutingContext:
    """Load the workspace's routing configuration for services that move tasks and reservations."""
    return RoutingContext.load(session, clock=clock, workspace=workspace)


RoutingDep = Annotated[RoutingContext, Depends(get_routing_context)]
