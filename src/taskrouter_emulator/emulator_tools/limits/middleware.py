"""ASGI middleware enforcing Twilio's per-workspace request rates when strict limits are on."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from taskrouter_emulator.clock import utc_now
from taskrouter_emulator.db.session import unit_of_work
from taskrouter_emulator.emulator_tools.asgi import caller_account, send_error
from taskrouter_emulator.emulator_tools.limits import service


class RateLimits:
    """Answers 429/20429 when a workspace exceeds Twilio's rate on a limited endpoint."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["app"].state.settings.strict_limits:
            await self.app(scope, receive, send)
            return
        query = {name for name, _ in parse_qsl(scope.get("query_string", b"").decode("latin-1"))}
        found = service.limit_for(scope["method"], scope["path"], query)
        if found is not None and await caller_account(scope) is not None:
            limit, workspace_sid = found
            if not await run_in_threadpool(_admit, scope["app"], f"{workspace_sid}:{limit.name}", limit.per_second):
                await send_error(
                    send,
                    status=429,
                    code=20429,
                    message=(
                        f"Too Many Requests: {limit.name} is limited to {limit.per_second} "
                        "requests per second per Workspace"
                    ),
                )
                return
        await self.app(scope, receive, send)


def _admit(app: Any, key: str, per_second: int) -> bool:
    with unit_of_work(app.state.sessionmaker) as session:
        return service.admit(
            session, key=key, per_second=per_second, now=utc_now().timestamp()
        )
