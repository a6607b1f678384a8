"""HTTP and WebSocket routes of the event bridge (`ebServer` and `wsServer` point at `/v1/wschannels`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Header, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from taskrouter_emulator.api.threads import OneHopRoute
from taskrouter_emulator.bridge.hub import BridgeHub, Connection, frame
from taskrouter_emulator.bridge.service import BridgeCall, Dispatcher
from taskrouter_emulator.bridge.tokens import WorkerIdentity, verify
from taskrouter_emulator.clock import LazyClock, utc_now
from taskrouter_emulator.db.engine import is_sqlite
from taskrouter_emulator.deps import ClocksDep, SessionDep, SettingsDep
from taskrouter_emulator.errors import InvalidParameter, TwilioError
from taskrouter_emulator.workers import service as worker_service
from taskrouter_emulator.workspaces import service as workspace_service

router = APIRouter(route_class=OneHopRoute, prefix="/v1/wschannels")
SERVICE_RESTART = 1012


def hub_of(app: Any) -> BridgeHub:
    """The app's event-bridge hub, created on first use."""
    hub: BridgeHub | None = getattr(app.state, "bridge_hub", None)
    if hub is None:
        url = app.state.settings.database_url
        hub = BridgeHub(
            app.state.sessionmaker,
            app.state.read_sessionmaker,
            app.state.clocks,
            listen_url=None if is_sqlite(url) else url,
        )
        app.state.bridge_hub = hub
    return hub


async def bridge_request(request: Request) -> dict[str, Any]:
    """The SDK's JSON body (sent as `application/x-www-form-urlencoded`, whatever its content)."""
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise InvalidParameter("The request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise InvalidParameter("The request body must be a JSON object")
    return body


def _is_true(value: str | None, default: bool) -> bool:
    return default if value is None else value.strip().lower() == "true"


@router.post("")
def bridge_rest(
    session: SessionDep,
    clocks: ClocksDep,
    settings: SettingsDep,
    body: Annotated[dict[str, Any], Depends(bridge_request)],
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> JSONResponse:
    """One REST call of the SDK over the bridge, answered as `{"payload": ...}`."""
    token = body.get("token")
    if not isinstance(token, str) or not token:
        raise TwilioError("A token is required", code=20101, status=401)
    identity = verify(token, session=session, settings=settings, now=utc_now())
    url, method, params = body.get("url"), body.get("method", "GET"), body.get("params") or {}
    if not isinstance(url, str) or not isinstance(method, str) or not isinstance(params, dict):
        raise InvalidParameter("'url' and 'method' must be strings and 'params' an object")
    call = BridgeCall(identity=identity, method=method, url=url, params=params, if_match=if_match)
    clock = LazyClock(lambda: clocks.time_of(session, identity.account_sid))
    return JSONResponse({"payload": Dispatcher(session, clock).handle(call)})


def _authenticate(websocket: WebSocket, token: str) -> WorkerIdentity:
    app = websocket.app
    with app.state.read_sessionmaker() as session:
        return verify(token, session=session, settings=app.state.settings, now=utc_now())


@router.websocket("")
async def event_stream(websocket: WebSocket) -> None:
    """The Worker's event socket: an `init` frame, then its events and heartbeats."""
    query = websocket.query_params
    try:
        identity = await anyio.to_thread.run_sync(_authenticate, websocket, query.get("token", ""))
        await anyio.to_thread.run_sync(_check_worker, websocket, identity)
    except TwilioError as exc:
        # Refused before the upgrade: the client sees an HTTP 403 handshake failure.
        await websocket.close(code=1008, reason=f"{exc.code}: {exc.message}"[:120])
        return
    hub = hub_of(websocket.app)
    connection = Connection(
        websocket=websocket,
        identity=identity,
        # The SDK's documented default is true; it only sends the parameter when set.
        set_offline_if_disconnected=_is_true(query.get("setWorkerOfflineIfDisconnected"), True),
    )
    await websocket.accept()
    sender: asyncio.Task[None] | None = None
    worker_left = True
    try:
        # Registered before `init` goes out, so nothing committed after the SDK's first fetch is missed.
        await hub.add(
            connection, close_existing=_is_true(query.get("closeExistingSessions"), False)
        )
        lifetime_ms = int((identity.expires_at - utc_now()).total_seconds() * 1000)
        await websocket.send_text(
            frame(
                "init",
                {
                    "channel_id": identity.worker_sid,
                    "account_sid": identity.account_sid,
                    "workspace_sid": identity.workspace_sid,
                    "token_lifetime": lifetime_ms,
                },
            )
        )
        sender = asyncio.get_running_loop().create_task(hub.run_sender(connection))
        # The SDK never sends anything; reading only tells when the client goes away.
        while not sender.done():
            receive = asyncio.ensure_future(websocket.receive())
            done, _ = await asyncio.wait({receive, sender}, return_when=asyncio.FIRST_COMPLETED)
            if receive not in done:
                receive.cancel()
                break
            message = receive.result()
            if message.get("type") == "websocket.disconnect":
                # 1012: the server itself is restarting, which says nothing about the worker.
                worker_left = message.get("code") != SERVICE_RESTART
                break
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(BaseException):
                await sender
        # The socket counts as open until the offline decision is applied, so
        # `hub.connected() == 0` means it has been.
        await hub.remove(connection, worker_left=worker_left)


def _check_worker(websocket: WebSocket, identity: WorkerIdentity) -> None:
    """The token's workspace must belong to its account and hold its worker (and a legacy token
    must have the event-bridge policy for the worker's channel)."""
    channel = f"wschannels/{identity.account_sid}/{identity.worker_sid}"
    if not identity.permits("GET", channel, {}):
        raise TwilioError(f"The token's policies do not allow GET /v1/{channel}", code=20403)
    with websocket.app.state.read_sessionmaker() as session:
        workspace = workspace_service.get(
            session, account_sid=identity.account_sid, sid=identity.workspace_sid
        )
        worker_service.get(session, workspace=workspace, sid=identity.worker_sid)
