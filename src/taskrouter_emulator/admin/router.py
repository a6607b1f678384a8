"""Emulator-only endpoints outside /v1: health, each account's virtual clock, the webhook journal."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from taskrouter_emulator import __version__
from taskrouter_emulator.api.forms import TwilioDateTime, TwilioParams, params
from taskrouter_emulator.api.pagination import fetch_page, render_page
from taskrouter_emulator.api.threads import OneHopRoute
from taskrouter_emulator.callbacks import journal
from taskrouter_emulator.clocks import Clocks
from taskrouter_emulator.db.session import unit_of_work
from taskrouter_emulator.deps import AccountDep, BaseUrlDep, ClocksDep, PageDep, SessionDep
from taskrouter_emulator.errors import InvalidParameter
from taskrouter_emulator.scheduler.runner import fire_account, run_until

logger = logging.getLogger(__name__)
router = APIRouter(route_class=OneHopRoute, prefix="/emulator")
# Bounds on moving the clock: far enough for any test, and far from datetime's year 9999 limit so
# that due times computed from the clock (task TTLs up to 2 years, event windows) never overflow.
MAX_ADVANCE_SECONDS = 100 * 365 * 24 * 3600
LATEST_MOMENT = datetime(3000, 1, 1, tzinfo=UTC)


class ClockChange(TwilioParams):
    advance: float | None = None
    set: TwilioDateTime | None = None
    mode: str | None = None


def _render_time(now: datetime) -> dict[str, Any]:
    return {"now": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "epoch_ms": int(now.timestamp() * 1000)}


def _clock_state(factory: sessionmaker[Session], clocks: Clocks, account_sid: str) -> dict[str, Any]:
    with unit_of_work(factory) as session:
        time = clocks.time_of(session, account_sid)
    return {**_render_time(time.now()), "frozen": time.frozen, "account_sid": account_sid}


@router.get("/health")
def health(request: Request) -> JSONResponse:
    """Report the version, the database and whether it answers, and the server's base time (no auth).

    Answers 503 while the database is unreachable, so orchestrators see the emulator as unhealthy.
    """
    scheduler = getattr(request.app.state, "scheduler", None)
    clocks: Clocks = request.app.state.clocks
    engine = request.app.state.engine
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        reachable = True
    except DBAPIError as exc:
        logger.warning("health check: database unreachable: %s", exc.orig)
        reachable = False
    body = {
        "status": "ok" if reachable else "unavailable",
        "version": __version__,
        "database": engine.dialect.name,
        "database_status": "up" if reachable else "down",
        "clock": {
            **_render_time(clocks.base.now()),
            "default_mode": "frozen" if clocks.default_frozen else "real",
        },
        "scheduler_last_tick": scheduler.last_tick if scheduler else None,
    }
    return JSONResponse(body, status_code=200 if reachable else 503)


@router.get("/clock")
def read_clock(request: Request, account_sid: AccountDep, clocks: ClocksDep) -> dict[str, Any]:
    """Return the caller's account time and whether its clock is frozen."""
    return _clock_state(request.app.state.sessionmaker, clocks, account_sid)


@router.post("/clock")
def change_clock(
    request: Request,
    account_sid: AccountDep,
    clocks: ClocksDep,
    change: Annotated[ClockChange, Depends(params(ClockChange))],
) -> dict[str, Any]:
    """Freeze/unfreeze (`Mode`), set (`Set`) or advance (`Advance`, seconds) the caller's account
    time, firing the account's due timers in order. Other accounts are not affected."""
    # No request session here: each step below is its own short transaction (SQLite has one writer).
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    with unit_of_work(factory) as session:
        now = clocks.time_of(session, account_sid).now()
    # Validate everything before changing anything: a refused request leaves time and timers alone.
    if change.mode is not None and change.mode not in ("frozen", "real"):
        raise InvalidParameter("Mode must be 'frozen' or 'real'")
    if change.advance is not None:
        if not math.isfinite(change.advance) or change.advance < 0:
            raise InvalidParameter("Advance must be a finite, non-negative number of seconds")
        if change.advance > MAX_ADVANCE_SECONDS:
            raise InvalidParameter(
                f"Advance must not exceed {MAX_ADVANCE_SECONDS} seconds (100 years)"
            )
    if change.set is not None:
        if change.set < now:
            # Moving backwards would make stored due times meaningless; only forward moves fire timers.
            raise InvalidParameter("Set cannot move the clock backwards")
        if change.set >= LATEST_MOMENT:
            raise InvalidParameter(f"Set must be before {LATEST_MOMENT.year}-01-01T00:00:00Z")
    target = change.set if change.set is not None else now
    if target + timedelta(seconds=change.advance or 0) >= LATEST_MOMENT:
        raise InvalidParameter(f"The clock cannot move past {LATEST_MOMENT.year}-01-01T00:00:00Z")
    if change.mode is not None:
        with unit_of_work(factory) as session:
            clocks.set_mode(session, account_sid, frozen=change.mode == "frozen")
    if change.set is not None:
        run_until(factory, clocks, account_sid, change.set)
    if change.advance is not None:
        with unit_of_work(factory) as session:
            start = clocks.time_of(session, account_sid).now()
        run_until(factory, clocks, account_sid, start + timedelta(seconds=change.advance))
    if change.set is None and change.advance is None:
        fire_account(factory, clocks, account_sid)
    return _clock_state(factory, clocks, account_sid)


class WebhookFilter(TwilioParams):
    workspace_sid: str | None = None
    kind: str | None = None
    event_type: str | None = None
    status: str | None = None


@router.get("/webhooks")
def list_webhooks(
    session: SessionDep,
    account_sid: AccountDep,
    base_url: BaseUrlDep,
    page: PageDep,
    query: Annotated[WebhookFilter, Depends(params(WebhookFilter))],
) -> dict[str, Any]:
    """List the account's outbound callbacks, newest first (the delivery journal)."""
    if query.kind is not None and query.kind not in journal.KINDS:
        raise InvalidParameter(f"Kind must be one of {', '.join(journal.KINDS)}")
    stmt = journal.list_query(
        account_sid=account_sid,
        workspace_sid=query.workspace_sid,
        kind=query.kind,
        event_type=query.event_type,
        status=query.status,
    )
    rows, has_next = fetch_page(session, stmt, page)
    return render_page(
        rows, has_next, req=page, base_url=base_url, key="webhooks", render=journal.render
    )
