"""ASGI middleware applying the caller's injected faults to `/v1` requests before they run."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from taskrouter_emulator.db.session import unit_of_work
from taskrouter_emulator.emulator_tools.asgi import caller_account, data_version_of, send_error
from taskrouter_emulator.emulator_tools.faults import service
from taskrouter_emulator.emulator_tools.faults.presence import FaultPresence
from taskrouter_emulator.emulator_tools.faults.service import Injection


class FaultInjection:
    """Delays or fails requests that match one of the caller's faults (`/emulator/…` is exempt).

    The accounts that have faults are known in memory (`presence.FaultPresence`), so a request of
    an account without faults usually costs no database read.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        account_sid = await caller_account(scope)
        injection = None
        presence: FaultPresence = scope["app"].state.fault_presence
        version = await data_version_of(scope)
        if account_sid is not None and presence.known(account_sid, version) is not False:
            injection = await run_in_threadpool(
                _inject, scope["app"], account_sid, scope["method"], scope["path"], version
            )
        if injection is not None:
            if injection.latency_ms:
                await asyncio.sleep(injection.latency_ms / 1000)
            if injection.status is not None:
                await send_error(
                    send,
                    status=injection.status,
                    code=injection.code or 20500,
                    message=injection.message or "Injected fault",
                )
                return
        await self.app(scope, receive, send)


def _inject(
    app: Any, account_sid: str, method: str, path: str, version: object | None
) -> Injection | None:
    presence: FaultPresence = app.state.fault_presence
    try:
        if account_sid not in presence.load(app.state.engine, version):
            return None
    except Exception:
        # Database unreachable or saturated (a raw connection raises the driver's own errors):
        # let the request through; its handler answers 503.
        return None
    with unit_of_work(app.state.sessionmaker) as session:
        return service.inject(session, account_sid=account_sid, method=method, path=path)
