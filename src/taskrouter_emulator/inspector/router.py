"""Routes of the live inspector: the page, its static files, the live event feed, and `GET /`.

The page itself reads and changes state through the public `/v1` API and `/emulator/clock` with
the account's credentials; the only endpoint of its own is the event feed (server-sent events).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Sequence
from importlib import resources
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from taskrouter_emulator.api.forms import params
from taskrouter_emulator.api.threads import OneHopRoute
from taskrouter_emulator.deps import AccountDep, BaseUrlDep
from taskrouter_emulator.errors import InvalidParameter, ResourceNotFound
from taskrouter_emulator.events.schemas import EventResource
from taskrouter_emulator.inspector import service
from taskrouter_emulator.inspector.schemas import FeedParams
from taskrouter_emulator.models import Event
from taskrouter_emulator.workspaces import service as workspace_service

router = APIRouter(route_class=OneHopRoute)

STATIC = resources.files("taskrouter_emulator.inspector") / "static"
MEDIA_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
# Only these files are served: a fixed list, so no request path ever reaches the file system.
STATIC_FILES = {
    entry.name: entry
    for entry in STATIC.iterdir()
    if entry.is_file() and any(entry.name.endswith(suffix) for suffix in MEDIA_TYPES)
}

# One indexed query per poll (benchmarks/inspector_feed_benchmark.py: well under 1 ms).
POLL_SECONDS = 0.25
# A stream ends after this long and the client reconnects with its last id, so nothing is lost:
# a server shutting down waits at most this long for open streams, and no proxy sees an idle
# connection long enough to cut it.
STREAM_SECONDS = 15.0
RECONNECT_MS = 1000
BATCH = 500


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    """Send visitors of the bare server address to the inspector."""
    return RedirectResponse("/emulator/ui", status_code=302)


@router.get("/emulator/ui", include_in_schema=False)
def inspector_page() -> HTMLResponse:
    """Serve the inspector's single page."""
    return HTMLResponse(STATIC_FILES["index.html"].read_text(encoding="utf-8"))


@router.get("/emulator/ui/static/{name}", include_in_schema=False)
def static_file(name: str) -> Response:
    """Serve one of the inspector's packaged files (script, style sheet)."""
    entry = STATIC_FILES.get(name)
    if entry is None:
        raise ResourceNotFound(f"/emulator/ui/static/{name}")
    media_type = next(kind for suffix, kind in MEDIA_TYPES.items() if name.endswith(suffix))
    return Response(
        entry.read_bytes(), media_type=media_type, headers={"Cache-Control": "no-cache"}
    )


@router.get(
    "/emulator/ui/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def event_feed(
    request: Request,
    account_sid: AccountDep,
    base_url: BaseUrlDep,
    query: Annotated[FeedParams, Depends(params(FeedParams))],
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Stream a workspace's events as server-sent events, read from the event table as they appear.

    Each message's `data` is the Event resource as `/v1/.../Events/{sid}` renders it and its `id` is
    a cursor: reconnect with `Last-Event-ID` (or `After`) to resume without gaps. Works across
    processes, since it polls the database rather than listening in memory.
    """
    # Read-only transactions: polling never takes (or waits for) the write lock.
    factory = request.app.state.read_sessionmaker
    resume = _resume_cursor(query.after, last_event_id)

    def open_feed() -> tuple[int, list[str]]:
        with factory() as session:
            workspace = workspace_service.get(
                session, account_sid=account_sid, sid=query.workspace_sid
            )
            if resume is not None:
                return resume, []
            backlog = service.newest_events(
                session, workspace_sid=workspace.sid, limit=query.backlog
            )
            start = (
                backlog[-1].id
                if backlog
                else service.last_event_id(session, workspace_sid=workspace.sid)
            )
            return start, _frames(backlog, base_url)

    def next_batch(cursor: int) -> tuple[int, list[str]]:
        with factory() as session:
            rows = service.events_after(
                session, workspace_sid=query.workspace_sid, after_id=cursor, limit=BATCH
            )
            return (rows[-1].id if rows else cursor), _frames(rows, base_url)

    # Resolve the workspace before streaming, so a wrong SID or account gets a Twilio error answer.
    cursor, first = await run_in_threadpool(open_feed)

    async def stream() -> AsyncIterator[str]:
        nonlocal cursor
        yield f"retry: {RECONNECT_MS}\n\n"
        for frame in first:
            yield frame
        started = time.monotonic()
        while time.monotonic() - started < STREAM_SECONDS:
            await anyio.sleep(POLL_SECONDS)
            cursor, frames = await run_in_threadpool(next_batch, cursor)
            for frame in frames:
                yield frame

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _resume_cursor(after: int | None, last_event_id: str | None) -> int | None:
    """Return the cursor to resume from: `After`, else the `Last-Event-ID` header, else none."""
    if after is not None:
        return after
    if last_event_id is None or not last_event_id.strip():
        return None
    if not last_event_id.strip().isdigit():
        raise InvalidParameter("Last-Event-ID must be the id of an event received from this feed")
    return int(last_event_id)


def _frames(events: Sequence[Event], base_url: str) -> list[str]:
    """Render events as server-sent-event messages (`id:` cursor, `data:` the Event resource)."""
    return [
        f"id: {event.id}\ndata: "
        f"{json.dumps(EventResource.build(event, base_url=base_url).model_dump(mode='json'))}\n\n"
        for event in events
    ]
