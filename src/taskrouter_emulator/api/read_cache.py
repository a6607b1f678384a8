"""Answer a repeated GET from memory while the database has not changed since the answer was made.

A dashboard or a test suite polling the same resources asks the same questions many times between
writes. Each answer to a cacheable GET (a resource or a list whose JSON depends only on stored rows,
see `CACHEABLE_ROUTES`) is kept with the database's data version read before the request ran
(`db.data_version`). The same caller asking the same URL, with the same base URL for links, gets the
kept bytes while the data version is still the same: no thread hand-off, no session, no query.

Time matters in two ways. A GET inside a workspace first fires the workspace's overdue timers, so
no answer shows, say, a pending reservation whose timeout has passed (`deps.load_workspace`): an
answer is kept only until the workspace's next due time, on the account's clock as read by the
request. And some answers depend on the time itself (a task's `age`, statistics, events in a default
window, `TIME_ROUTES`): they are kept only while the account's clock is frozen, when the time is
stored like everything else (moving or unfreezing a clock is a write, which changes the data version).
With a running clock they are never kept.

A request with `Cache-Control: no-cache` (or `no-store`) is always answered from the database.
Only 200 answers are kept; errors, faults (the fault middleware runs outside this one) and rate
limits always run as before. Kept answers are bounded in number and in total bytes (least recently
used first out).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskrouter_emulator.api.urls import public_base_url
from taskrouter_emulator.clock import AccountTime, LazyClock
from taskrouter_emulator.emulator_tools.asgi import caller_account, data_version_of

_WS = "/v1/Workspaces/{workspace_sid}"
# Route templates whose answers depend only on stored rows (never on the current time).
CACHEABLE_ROUTES = frozenset(
    {
        "/v1/Workspaces",
        _WS,
        *(
            f"{_WS}/{resource}{suffix}"
            for resource in ("Activities", "TaskChannels", "TaskQueues", "Workers", "Workflows")
            for suffix in ("", "/{sid}")
        ),
        *(
            f"{_WS}/{parent}{suffix}"
            for parent in (
                "Workers/{worker_sid}/Channels",
                "Workers/{worker_sid}/Reservations",
                "Tasks/{task_sid}/Reservations",
            )
            for suffix in ("", "/{sid}")
        ),
    }
)
_STATISTICS = ("Statistics", "RealTimeStatistics", "CumulativeStatistics")
# Route templates whose answers depend on the current time: kept only while the clock is frozen.
TIME_ROUTES = frozenset(
    {
        f"{_WS}/Tasks",
        f"{_WS}/Tasks/{{task_sid}}",
        f"{_WS}/Events",
        *(
            f"{_WS}{parent}/{statistics}"
            for parent in (
                "",
                "/TaskQueues",
                "/TaskQueues/{task_queue_sid}",
                "/Workers",
                "/Workflows/{workflow_sid}",
            )
            for statistics in _STATISTICS
        ),
        f"{_WS}/Workers/{{worker_sid}}/Statistics",
    }
)


def _path_pattern(routes: frozenset[str]) -> re.Pattern[str]:
    """Match the request paths of these route templates.

    Each `{…}` is a SID, so `Workers/Statistics` is never taken for a worker.
    """
    return re.compile(
        "|".join(
            "(?:" + re.sub(r"\\{[a-z_]+\\}", "[A-Z]{2}[0-9a-fA-F]{32}", re.escape(route)) + ")"
            for route in sorted(routes)
        )
    )


_CACHEABLE_PATH = _path_pattern(CACHEABLE_ROUTES | TIME_ROUTES)
_TIME_PATH = _path_pattern(TIME_ROUTES)
_DUE = "taskrouter_read_cache_due"
_CLOCK = "taskrouter_read_cache_clock"
MAX_ENTRIES = 4096
MAX_BYTES = 32 * 1024 * 1024
MAX_ENTRY_BYTES = 1024 * 1024


def keep_until(request: Request, next_due_at: datetime | None) -> None:
    """Note that this request's answer holds only until the workspace's next due time."""
    setattr(request.state, _DUE, next_due_at)


def note_clock(request: Request, clock: LazyClock) -> None:
    """Note the request's clock: whether (and how) it was read decides if the answer is kept."""
    setattr(request.state, _CLOCK, clock)


@dataclass(frozen=True, slots=True)
class _Entry:
    version: object
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    due: tuple[datetime, AccountTime] | None

    def fresh(self, version: object) -> bool:
        if version != self.version:
            return False
        if self.due is None:
            return True
        next_due_at, time = self.due
        return time.now() < next_due_at


class KeptAnswers:
    """The kept answers, least recently used first, bounded in number and bytes; counts hits."""

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple[str, ...], _Entry] = OrderedDict()
        self._bytes = 0

    def find(self, key: tuple[str, ...], version: object) -> _Entry | None:
        """Return the answer kept for `key` if it still holds at `version` (and count the lookup)."""
        entry = self._entries.get(key)
        if entry is not None and entry.fresh(version):
            self._entries.move_to_end(key)
            self.hits += 1
            return entry
        if entry is not None:
            self._drop(key)
        self.misses += 1
        return None

    def keep(self, key: tuple[str, ...], entry: _Entry) -> None:
        """Keep an answer, forgetting the least recently used ones beyond the bounds."""
        if len(entry.body) > MAX_ENTRY_BYTES:
            return
        self._drop(key)
        self._entries[key] = entry
        self._bytes += len(entry.body)
        while len(self._entries) > MAX_ENTRIES or self._bytes > MAX_BYTES:
            _, oldest = self._entries.popitem(last=False)
            self._bytes -= len(oldest.body)

    def clear(self) -> None:
        """Forget every kept answer."""
        self._entries.clear()
        self._bytes = 0

    def _drop(self, key: tuple[str, ...]) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)


class ReadCache:
    """ASGI middleware: reuse the answers of cacheable GETs while the database is unchanged."""

    def __init__(self, app: ASGIApp, *, answers: KeptAnswers) -> None:
        self.app = app
        self.answers = answers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not _CACHEABLE_PATH.fullmatch(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        if _asks_for_a_fresh_answer(scope):
            await self.app(scope, receive, send)
            return
        account_sid = await caller_account(scope)
        version = await data_version_of(scope) if account_sid is not None else None
        if account_sid is None or version is None:
            await self.app(scope, receive, send)
            return
        key = _key(scope, account_sid)
        entry = self.answers.find(key, version)
        if entry is not None:
            await send(
                {"type": "http.response.start", "status": entry.status, "headers": entry.headers}
            )
            await send({"type": "http.response.body", "body": entry.body})
            return
        await self._answer_and_keep(scope, receive, send, key, version)

    async def _answer_and_keep(
        self, scope: Scope, receive: Receive, send: Send, key: tuple[str, ...], version: object
    ) -> None:
        state = scope.setdefault("state", {})  # shared with the endpoint's `request.state`
        start: Message | None = None
        chunks: list[bytes] = []
        complete = False

        async def capture(message: Message) -> None:
            nonlocal start, complete
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                complete = not message.get("more_body", False)
            await send(message)

        await self.app(scope, receive, capture)
        if start is None or not complete or start["status"] != 200:
            return
        clock: LazyClock | None = state.get(_CLOCK)
        time = clock.loaded if clock is not None else None
        next_due_at: datetime | None = state.get(_DUE)
        if next_due_at is not None and time is None:
            return
        if _TIME_PATH.fullmatch(scope["path"]) and (time is None or not time.frozen):
            return
        due = None if next_due_at is None or time is None else (next_due_at, time)
        headers = [(bytes(name), bytes(value)) for name, value in start.get("headers", [])]
        self.answers.keep(key, _Entry(version, start["status"], headers, b"".join(chunks), due))


def _asks_for_a_fresh_answer(scope: Scope) -> bool:
    """Tell whether the request says `Cache-Control: no-cache` (or `no-store`)."""
    for name, value in scope.get("headers", []):
        if name == b"cache-control" and (b"no-cache" in value or b"no-store" in value):
            return True
    return False


def _key(scope: Scope, account_sid: str) -> tuple[str, ...]:
    """Who asks, which URL, and the base URL the answer's links name."""
    base_url = public_base_url(Request(scope), scope["app"].state.settings)
    query = scope.get("query_string", b"").decode("latin-1")
    return (account_sid, base_url, scope["path"], query)
