"""Send queued callbacks: signed form POSTs, in order per workspace for events, with bounded retries.

A dispatcher thread runs an asyncio loop: it claims due rows in short transactions, sends them as
coroutines and writes their outcomes back in batches. HTTP happens outside any transaction, so a slow
or dead receiver never holds a lock, blocks an API request or stalls routing. Event callbacks go out one at a time per workspace, oldest first: a failing
one is retried with exponential back-off and, once its attempts are exhausted, marked failed so later
events still flow. Assignment callbacks are independent: on a non-2xx answer, a connection error or a
time-out the FallbackAssignmentCallbackUrl is tried, and the answer's instruction is applied to the
reservation if it is still pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from taskrouter_emulator.auth import Authenticator
from taskrouter_emulator.callbacks.outbox import pascal
from taskrouter_emulator.callbacks.signature import compute_signature, strip_fragment
from taskrouter_emulator.clock import utc_now
from taskrouter_emulator.clocks import Clocks
from taskrouter_emulator.config import Settings
from taskrouter_emulator.db.locks import journal_lock, workspace_lock
from taskrouter_emulator.db.session import unit_of_work
from taskrouter_emulator.errors import ServiceUnavailable, TwilioError
from taskrouter_emulator.models import Reservation, WebhookDelivery, Workspace
from taskrouter_emulator.reservations import instructions
from taskrouter_emulator.routing.context import RoutingContext

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger(__name__)
MAX_BODY = 4000


def _http_client(connections: int) -> httpx.AsyncClient:
    """Return the client callbacks are sent with; the dispatcher makes it when the first is due.

    Importing httpx and building a client (its transport, a TLS context, httpcore's async
    back-ends) costs more CPU than the rest of the server's start, and many runs send no callback:
    so httpx is imported here rather than with the module (`_post` finds it loaded).
    """
    import httpx

    limits = httpx.Limits(max_connections=max(connections, 1), max_keepalive_connections=64)
    return httpx.AsyncClient(follow_redirects=False, limits=limits)


def _earliest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate < current else current


@dataclass(frozen=True)
class Answer:
    """What a receiver answered (or why it did not)."""

    url: str
    signature: str
    status: int | None
    body: str
    content_type: str
    error: str | None

    @property
    def ok(self) -> bool:
        """A 2xx status."""
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Claimed:
    """A delivery taken from the outbox, with what is needed to send it."""

    id: int
    kind: str
    workspace_sid: str
    account_sid: str
    urls: list[str]
    params: dict[str, str]
    timeout: float
    lease_until: datetime
    attempts: int
    token: str


@dataclass
class Result:
    """What became of one claimed delivery (None `answer`: not sent, hand it back)."""

    claimed: Claimed
    answer: Answer | None


class Dispatcher:
    """Claims due deliveries and sends them from an asyncio loop in a thread of its own.

    Every in-flight request is a coroutine, so a receiver that hangs holds back only its own
    workspace's ordered stream (and one slot of `webhook_workers` concurrent requests), never the
    others. Event callbacks of a workspace are claimed as a run of consecutive rows and sent one after
    another by one coroutine; outcomes are written back in batches. Claims are serialised across
    processes (a Postgres advisory lock), so each row is sent by one process and a workspace's events
    keep their order whichever process sends them.
    """

    # Consecutive events of one workspace taken in one claim; rows scanned per claim; how long a
    # claim lasts beyond one request's time-out (a crashed sender's rows are free again after it).
    RUN_LENGTH = 100
    SCAN = 5000
    LEASE_MARGIN = 5.0

    def __init__(
        self,
        settings: Settings,
        factory: sessionmaker[Session],
        clocks: Clocks,
        authenticator: Authenticator,
        *,
        fallback_interval: float = 5.0,
    ) -> None:
        self._settings = settings
        self._factory = factory
        self._clocks = clocks
        self._authenticator = authenticator
        # Commits that write the outbox wake the dispatcher (`wake`, and NOTIFY from other
        # processes on Postgres); this poll is only a fallback (leases of a dead sender).
        self._fallback_interval = fallback_interval
        self._capacity = settings.webhook_workers
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake_event: asyncio.Event | None = None
        self._pending_wake = threading.Event()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-dispatcher", daemon=True)

    def start(self) -> None:
        """Recover deliveries a previous process left in flight, then start dispatching."""
        with unit_of_work(self._factory) as session:
            journal_lock(session)
            session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.status == "in_flight", WebhookDelivery.lease_until < utc_now()
                )
                .values(status="pending", lease_until=None)
            )
        self._thread.start()
        self._started.wait(timeout=10)

    def stop(self) -> None:
        """Stop claiming work; deliveries in progress are abandoned to their leases."""
        self._stop.set()
        self.wake()
        self._thread.join(timeout=10)

    def wake(self) -> None:
        """Look for due deliveries now (called after a commit that wrote to the outbox)."""
        self._pending_wake.set()
        loop, event = self._loop, self._wake_event
        if loop is not None and event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is shutting down
                loop.call_soon_threadsafe(event.set)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake_event = asyncio.Event()
        self._started.set()
        db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-db")
        results: list[Result] = []
        in_flight: set[asyncio.Task[None]] = set()
        http: httpx.AsyncClient | None = None
        try:
            while not self._stop.is_set():
                self._wake_event.clear()
                self._pending_wake.clear()
                delay = self._fallback_interval
                try:
                    if results:
                        batch = list(results)
                        results.clear()
                        await self._loop.run_in_executor(db, self._finish, batch)
                    room = self._capacity - len(in_flight)
                    if room > 0:
                        runs, next_attempt = await self._loop.run_in_executor(db, self._claim, room)
                        for run in runs:
                            if http is None:
                                http = _http_client(self._capacity)
                            task = asyncio.create_task(self._send_run(http, run, results))
                            in_flight.add(task)
                            task.add_done_callback(in_flight.discard)
                        if next_attempt is not None:
                            wait = (next_attempt - utc_now()).total_seconds()
                            delay = min(delay, max(wait, 0.0))
                except DBAPIError as exc:
                    # Database unreachable: nothing is lost (rows stay pending); retry shortly.
                    logger.warning("webhook dispatcher: database error: %s", exc.orig)
                    await asyncio.sleep(1.0)
                except ServiceUnavailable as exc:
                    # No write slot within the saturation timeout (a long writer holds it).
                    logger.warning("webhook dispatcher: %s; retrying", exc.message)
                    await asyncio.sleep(1.0)
                except Exception:
                    logger.exception("webhook dispatcher tick failed")
                    await asyncio.sleep(0.5)
                if results or self._pending_wake.is_set():
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake_event.wait(), timeout=delay)
            for task in in_flight:
                task.cancel()
        finally:
            if http is not None:
                await http.aclose()
        db.shutdown(wait=True)

    async def _send_run(
        self, http: httpx.AsyncClient, run: list[Claimed], results: list[Result]
    ) -> None:
        """Send a run in order; after a failed event, hand the rest back untouched."""
        failed = False
        for claimed in run:
            budget = timedelta(seconds=claimed.timeout * len(claimed.urls))
            if failed or utc_now() + budget > claimed.lease_until:
                # After a failed event the rest must wait; past the lease, another process may
                # claim the rows, so they go back rather than risk a second, out-of-order send.
                results.append(Result(claimed, None))
                continue
            answer: Answer | None = None
            for url in claimed.urls:
                answer = await self._post(http, url, claimed.params, claimed.token, claimed.timeout)
                if answer.ok:
                    break
            assert answer is not None
            results.append(Result(claimed, answer))
            failed = claimed.kind == "event" and not answer.ok
        self.wake()

    def _claim(self, room: int) -> tuple[list[list[Claimed]], datetime | None]:
        """Mark due deliveries in flight: every due assignment, and a run of the oldest events of
        each workspace that has none in flight. Also return when the next retry falls due."""
        now = utc_now()
        next_attempt: datetime | None = None
        chosen: list[list[int]] = []
        with unit_of_work(self._factory) as session:
            journal_lock(session)
            # Leases of deliveries whose sender died (another process) expire back to pending.
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.status == "in_flight", WebhookDelivery.lease_until < now)
                .values(status="pending", lease_until=None)
            )
            wd = WebhookDelivery
            rows = session.execute(
                select(wd.id, wd.status, wd.kind, wd.workspace_sid, wd.next_attempt_at)
                .where(wd.status.in_(("pending", "in_flight")))
                .order_by(wd.id)
                .limit(self.SCAN)
            ).all()
            busy = {r.workspace_sid for r in rows if r.kind == "event" and r.status == "in_flight"}
            open_runs: dict[str, list[int]] = {}
            closed: set[str] = set()
            for row in rows:
                if row.status != "pending":
                    continue
                if row.kind == "event":
                    # Strict order per workspace: only a run of its oldest pending events may go.
                    if row.workspace_sid in busy or row.workspace_sid in closed:
                        continue
                    if row.next_attempt_at > now:
                        closed.add(row.workspace_sid)
                        next_attempt = _earliest(next_attempt, row.next_attempt_at)
                        continue
                    run = open_runs.get(row.workspace_sid)
                    if run is None:
                        if room <= 0:
                            continue
                        room -= 1
                        run = open_runs[row.workspace_sid] = []
                        chosen.append(run)
                    run.append(row.id)
                    if len(run) >= self.RUN_LENGTH:
                        closed.add(row.workspace_sid)
                    continue
                if row.next_attempt_at > now:
                    next_attempt = _earliest(next_attempt, row.next_attempt_at)
                    continue
                if room <= 0:
                    continue
                room -= 1
                chosen.append([row.id])
            claimed = self._mark(session, [i for run in chosen for i in run], now)
        return [[claimed[i] for i in run] for run in chosen], next_attempt

    def _mark(self, session: Session, ids: list[int], now: datetime) -> dict[int, Claimed]:
        """Set the rows in flight with a lease and return what is needed to send them."""
        wd = WebhookDelivery
        found: dict[int, Claimed] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = session.execute(
                select(
                    wd.id,
                    wd.kind,
                    wd.workspace_sid,
                    wd.account_sid,
                    wd.url,
                    wd.fallback_url,
                    wd.parameters,
                    wd.attempts,
                ).where(wd.id.in_(chunk))
            ).all()
            tokens = self._authenticator.tokens_of(session, {r.account_sid for r in rows})
            leases: dict[datetime, list[int]] = {}
            for row in rows:
                urls = [row.url] + (
                    [row.fallback_url] if row.kind == "assignment" and row.fallback_url else []
                )
                timeout = self._timeout_of(row.kind)
                lease = now + timedelta(seconds=timeout * len(urls) + self.LEASE_MARGIN)
                leases.setdefault(lease, []).append(row.id)
                found[row.id] = Claimed(
                    id=row.id,
                    kind=row.kind,
                    workspace_sid=row.workspace_sid,
                    account_sid=row.account_sid,
                    urls=urls,
                    params=json.loads(row.parameters),
                    timeout=timeout,
                    lease_until=lease,
                    attempts=row.attempts,
                    token=tokens.get(row.account_sid) or "",
                )
            for lease, lease_ids in leases.items():
                session.execute(
                    update(wd)
                    .where(wd.id.in_(lease_ids))
                    .values(status="in_flight", lease_until=lease)
                )
        return found

    def _timeout_of(self, kind: str) -> float:
        if kind == "assignment":
            return self._settings.assignment_callback_timeout
        return self._settings.event_callback_timeout

    async def _post(
        self, http: httpx.AsyncClient, url: str, params: dict[str, str], token: str, timeout: float
    ) -> Answer:
        import httpx  # loaded by `_http_client` already

        target = strip_fragment(url)
        signature = compute_signature(token, target, params)
        try:
            response = await http.post(
                target,
                data=params,
                headers={
                    "X-Twilio-Signature": signature,
                    "User-Agent": "TwilioProxy/1.1 (taskrouter-emulator)",
                },
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            return Answer(target, signature, None, "", "", f"{type(exc).__name__}: {exc}")
        return Answer(
            target,
            signature,
            response.status_code,
            response.text[:MAX_BODY],
            response.headers.get("content-type", ""),
            None,
        )

    def _finish(self, results: list[Result]) -> None:
        """Write the outcomes of finished deliveries in one transaction.

        Delivered events and rows handed back (the common cases) are written in bulk; failures and
        assignment answers, which need decisions, row by row.
        """
        now = utc_now()
        handed_back = [r.claimed.id for r in results if r.answer is None]
        delivered = [
            r for r in results if r.answer is not None and r.answer.ok and r.claimed.kind == "event"
        ]
        delivered_ids = {r.claimed.id for r in delivered}
        others = [r for r in results if r.answer is not None and r.claimed.id not in delivered_ids]
        wd = WebhookDelivery
        with unit_of_work(self._factory) as session:
            journal_lock(session)
            for start in range(0, len(handed_back), 500):
                session.execute(
                    update(wd)
                    .where(wd.id.in_(handed_back[start : start + 500]), wd.status == "in_flight")
                    .values(status="pending", lease_until=None)
                )
            if delivered:
                session.execute(
                    update(wd),
                    [
                        {
                            "id": r.claimed.id,
                            "status": "delivered",
                            "attempts": r.claimed.attempts + 1,
                            "delivered_url": r.answer.url,
                            "signature": r.answer.signature,
                            "response_status": r.answer.status,
                            "response_body": r.answer.body,
                            "error": None,
                            "lease_until": None,
                            "date_updated": now,
                        }
                        for r in delivered
                        if r.answer is not None
                    ],
                )
            for result in others:
                row = session.get(WebhookDelivery, result.claimed.id)
                if row is None or row.status != "in_flight" or result.answer is None:
                    continue
                self._record_answer(row, result.answer)
                if row.kind == "assignment":
                    self._finish_assignment(session, row, result.answer)
                else:
                    self._finish_event(row, result.answer)

    def _record_answer(self, row: WebhookDelivery, answer: Answer) -> None:
        row.attempts += 1
        row.delivered_url = answer.url
        row.signature = answer.signature
        row.response_status = answer.status
        row.response_body = answer.body
        row.error = (
            answer.error if answer.error else (None if answer.ok else f"HTTP {answer.status}")
        )
        row.lease_until = None
        row.date_updated = utc_now()

    def _finish_event(self, row: WebhookDelivery, answer: Answer) -> None:
        if answer.ok:
            row.status = "delivered"
        elif row.attempts >= self._settings.webhook_max_attempts:
            row.status = "failed"
        else:
            row.status = "pending"
            delay = self._settings.webhook_retry_delay * (2 ** (row.attempts - 1))
            row.next_attempt_at = utc_now() + timedelta(seconds=delay)

    def _finish_assignment(self, session: Session, row: WebhookDelivery, answer: Answer) -> None:
        if not answer.ok:
            # Primary and fallback both failed: the reservation stays pending until it times out.
            row.status = "failed"
            return
        outcome = interpret(answer)
        row.instruction = outcome.instruction
        if outcome.error_code is not None:
            row.status = "rejected"
            row.error_code = outcome.error_code
            row.error = outcome.message
            return
        if outcome.instruction is None:
            row.status = "deferred"
            row.error_code = outcome.warning
            row.error = outcome.message
            return
        row.status = "applied"
        try:
            with session.begin_nested():
                self._apply(session, row, outcome)
        except TwilioError as exc:
            row.status = "rejected"
            row.error_code = exc.code
            row.error = exc.message

    def _apply(self, session: Session, row: WebhookDelivery, outcome: Outcome) -> None:
        workspace = session.scalars(
            select(Workspace).where(Workspace.sid == row.workspace_sid)
        ).one_or_none()
        if workspace is None:
            raise TwilioError("The workspace no longer exists", code=20404, status=404)
        workspace_lock(session, workspace.sid)
        reservation = session.scalars(
            select(Reservation).where(Reservation.sid == row.reservation_sid)
        ).one_or_none()
        if reservation is None:
            raise TwilioError(
                f"Reservation {row.reservation_sid} no longer exists", code=20404, status=404
            )
        clock = self._clocks.time_of(session, workspace.account_sid)
        ctx = RoutingContext.load(session, clock=clock, workspace=workspace)
        assert outcome.instruction is not None
        instructions.apply_instruction(
            ctx, reservation, outcome.instruction, outcome.parameters
        )


@dataclass(frozen=True)
class Outcome:
    """How an assignment-callback answer is to be handled."""

    instruction: str | None
    parameters: dict[str, Any]
    error_code: int | None = None
    warning: int | None = None
    message: str | None = None


# Conference instructions name their options like the REST parameters (`to` → `To`, ...).
_CALLBACK_INSTRUCTIONS = ("accept", "reject", "dequeue", "call", "redirect", "conference")


def interpret(answer: Answer) -> Outcome:
    """Decide what an assignment-callback answer asks for (§8.3 of the reference)."""
    body = answer.body.strip()
    if not body:
        return Outcome(None, {}, message="Empty answer: the reservation stays pending")
    if "application/json" not in answer.content_type.lower():
        return Outcome(
            None, {}, error_code=40000, message="Content-Type of 'application/json' not set"
        )
    try:
        document = json.loads(body)
    except json.JSONDecodeError:
        return Outcome(
            None,
            {},
            error_code=40001,
            message="Could not parse Assignment Instruction response as JSON",
        )
    if not isinstance(document, dict):
        return Outcome(
            None, {}, error_code=40001, message="The Assignment Instruction must be a JSON object"
        )
    if not document:
        return Outcome(None, {}, message="{} answer: the reservation stays pending")
    instruction = document.get("instruction")
    if instruction is None:
        return Outcome(
            None,
            {},
            warning=40005,
            message="No instruction in the answer: the reservation stays pending",
        )
    name = str(instruction).strip().lower()
    if name not in _CALLBACK_INSTRUCTIONS:
        return Outcome(None, {}, error_code=55555, message=f"Invalid instruction '{instruction}'")
    parameters: dict[str, Any] = {k: v for k, v in document.items() if k != "instruction"}
    if name == "conference":
        parameters = {pascal(k): v for k, v in parameters.items()}
    return Outcome(name, parameters)
