"""FastAPI dependencies: the request's session, account, clock, base URL and resolved workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from taskrouter_emulator.api import read_cache
from taskrouter_emulator.api.pagination import PageRequest, page_request
from taskrouter_emulator.api.threads import FINISHED, InThread, finish
from taskrouter_emulator.api.urls import public_base_url
from taskrouter_emulator.clock import LazyClock
from taskrouter_emulator.clocks import Clocks
from taskrouter_emulator.config import Settings
from taskrouter_emulator.db.locks import workspace_lock
from taskrouter_emulator.db.session import unit_of_work
from taskrouter_emulator.models import Workspace
from taskrouter_emulator.routing.context import RoutingContext
from taskrouter_emulator.scheduler import due_times, timers
from taskrouter_emulator.workspaces import service as workspace_service


async def get_settings(request: Request) -> Settings:
    """Return the app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_clocks(request: Request) -> Clocks:
    """Return the registry of account clocks."""
    clocks: Clocks = request.app.state.clocks
    return clocks


READ_METHODS = frozenset({"GET", "HEAD"})


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Open the request's session; commit before the response is sent, roll back on error.

    GET requests get a read-only view that takes no write lock, so reads never wait for writers.
    Opening a session touches no connection; a sync endpoint (`api.threads.OneHopRoute`) commits
    it in its own worker thread, and only other endpoints need a thread here to finish it.
    """
    state = request.app.state
    factory = state.read_sessionmaker if request.method in READ_METHODS else state.sessionmaker
    session = factory()
    try:
        yield session
    except BaseException:
        if not session.info.get(FINISHED):
            await anyio.to_thread.run_sync(lambda: finish(session, commit=False))
        raise
    if not session.info.get(FINISHED):
        await anyio.to_thread.run_sync(lambda: finish(session, commit=True))


async def get_account_sid(request: Request) -> str:
    """Authenticate the request and return its account SID."""
    account_sid: str = await request.app.state.authenticator.authenticate(
        request.headers.get("authorization")
    )
    return account_sid


async def get_base_url(request: Request) -> str:
    """Return the base URL for absolute links in responses."""
    return public_base_url(request, request.app.state.settings)


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
AccountDep = Annotated[str, Depends(get_account_sid)]
BaseUrlDep = Annotated[str, Depends(get_base_url)]
PageDep = Annotated[PageRequest, Depends(page_request)]
ClocksDep = Annotated[Clocks, Depends(get_clocks)]


async def get_clock(
    request: Request, session: SessionDep, account_sid: AccountDep, clocks: ClocksDep
) -> LazyClock:
    """Return the caller's account time, read from the database the first time it is needed."""
    clock = LazyClock(lambda: clocks.time_of(session, account_sid))
    read_cache.note_clock(request, clock)
    return clock


ClockDep = Annotated[LazyClock, Depends(get_clock)]


async def get_workspace(
    request: Request,
    workspace_sid: str,
    session: SessionDep,
    account_sid: AccountDep,
    clock: ClockDep,
) -> InThread[Workspace]:
    """Resolve `{workspace_sid}` in the endpoint's worker thread (see `load_workspace`)."""
    return InThread(load_workspace, request, workspace_sid, session, account_sid, clock)


def load_workspace(
    request: Request,
    workspace_sid: str,
    session: Session,
    account_sid: str,
    clock: LazyClock,
) -> Workspace:
    """Resolve `{workspace_sid}` to a workspace of the caller's account, ready for this request.

    Writes take the workspace's lock first (Postgres; SQLite serialises writers anyway) so concurrent
    requests leave one consistent outcome. Overdue timers of the workspace fire before anything else,
    so no response shows, say, a pending reservation whose timeout has passed; whether anything is
    overdue is read from the workspace row itself (`next_due_at`), so this costs no extra query.
    """
    if request.method in READ_METHODS:
        workspace = _workspace_with_clock(request, session, account_sid, workspace_sid, clock)
        if due_times.is_due(workspace, clock):
            # Fire in a short write transaction of its own, then read from a fresh snapshot.
            session.rollback()
            with unit_of_work(request.app.state.sessionmaker) as writer:
                fresh = workspace_service.get(writer, account_sid=account_sid, sid=workspace_sid)
                timers.fire_due(writer, clock=clock, workspace=fresh)
            workspace = workspace_service.get(session, account_sid=account_sid, sid=workspace_sid)
        read_cache.keep_until(request, workspace.next_due_at)
        return workspace
    workspace_lock(session, workspace_sid)
    workspace = _workspace_with_clock(request, session, account_sid, workspace_sid, clock)
    if due_times.is_due(workspace, clock):
        timers.fire_due(session, clock=clock, workspace=workspace)
    return workspace


def _workspace_with_clock(
    request: Request, session: Session, account_sid: str, workspace_sid: str, clock: LazyClock
) -> Workspace:
    """Read the workspace, and the account's clock with it when the request has not read it yet."""
    if clock.loaded is not None:
        return workspace_service.get(session, account_sid=account_sid, sid=workspace_sid)
    workspace, frozen_at, offset_us = workspace_service.get_with_clock(
        session, account_sid=account_sid, sid=workspace_sid
    )
    clocks: Clocks = request.app.state.clocks
    clock.provide(clocks.time_from(frozen_at, offset_us))
    return workspace


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]


async def get_routing_context(
    session: SessionDep, workspace: WorkspaceDep, clock: ClockDep
) -> InThread[RoutingContext]:
    """Load the workspace's routing configuration for services that move tasks and reservations."""
    return InThread(_load_routing_context, session, workspace, clock)


def _load_routing_context(
    session: Session, workspace: Workspace, clock: LazyClock
) -> RoutingContext:
    return RoutingContext.load(session, clock=clock, workspace=workspace)


RoutingDep = Annotated[RoutingContext, Depends(get_routing_context)]
