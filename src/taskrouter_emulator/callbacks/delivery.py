"""Send queued callbacks: signed form POSTs, in order per workspace for events, with bounded retries.

A dispatcher thread claims due rows in short transactions and hands them to a small thread pool;
HTTP happens outside any transaction, so a slow or dead receiver never holds a lock, blocks an API
request or stalls routing. Event callbacks go out one at a time per workspace, oldest first: a failing
one is retried with exponential back-off and, once its attempts are exhausted, marked failed so later
events still flow. Assignment callbacks are independent: on a non-2xx answer, a connection error or a
time-out the FallbackAssignmentCallbackUrl is tried, and the answer's instruction is applied to the
reservation if it is still pending.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from taskrouter_emulator.auth import Authenticator
from taskrouter_emulator.callbacks.signature import compute_signature, strip_fragment
from taskrouter_emulator.clock import EmulatorClock, utc_now
from taskrouter_emulator.config import Settings
from taskrouter_emulator.db.locks import workspace_lock
from taskrouter_emulator.db.session import unit_of_work
from taskrouter_emulator.errors import TwilioError
from taskrouter_emulator.models import Reservation, WebhookDelivery, Workspace
from taskrouter_emulator.routing.context import RoutingContext

logger = logging.getLogger(__name__)
MAX_BODY = 4000


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


class Dispatcher:
    """Claims due deliveries and sends them on a thread pool."""

    def __init__(
        self,
        settings: Settings,
        factory: sessionmaker[Session],
        clock: EmulatorClock,
        authenticator: Authenticator,
        *,
        fallback_interval: float = 5.0,
    ) -> None:
        self._settings = settings
        self._factory = factory
        self._clock = clock
        self._authenticator = authenticator
        # Commits that write the outbox wake the dispatcher (`wake`); this poll is only a fallback
        # (rows written by another process, leases of a dead sender).
        self._fallback_interval = fallback_interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._pool = ThreadPoolExecutor(
            max_workers=settings.webhook_workers, thread_name_prefix="webhook"
        )
        self._http = httpx.Client(follow_redirects=False)
        self._thread = threading.Thread(target=self._run, name="webhook-dispatcher", daemon=True)

    def start(self) -> None:
        """Recover deliveries a previous process left in flight, then start dispatching."""
        with unit_of_work(self._factory) as session:
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.status == "in_flight")
                .values(status="pending", lease_until=None)
            )
        self._thread.start()

    def stop(self) -> None:
        """Stop claiming work and wait for deliveries in progress."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()

    def wake(self) -> None:
        """Look for due deliveries now (called after a commit that wrote to the outbox)."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            delay = self._fallback_interval
            try:
                claimed, next_attempt = self._claim()
                for delivery_id in claimed:
                    self._pool.submit(self._deliver_safely, delivery_id)
                if next_attempt is not None:
                    wait = (next_attempt - utc_now()).total_seconds()
                    delay = min(delay, max(wait, 0.0))
            except Exception:
                logger.exception("webhook dispatcher tick failed")
            self._wake.wait(delay)

    def _claim(self) -> tuple[list[int], datetime | None]:
        """Mark due deliveries in flight: every due assignment, and the oldest event per idle workspace.

        Also return when the earliest delivery that is waiting for a retry falls due.
        """
        now = utc_now()
        claimed: list[int] = []
        next_attempt: datetime | None = None
        with unit_of_work(self._factory) as session:
            # Leases of deliveries whose sender died (another process) expire back to pending.
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.status == "in_flight", WebhookDelivery.lease_until < now)
                .values(status="pending", lease_until=None)
            )
            rows = session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.status.in_(("pending", "in_flight")))
                .order_by(WebhookDelivery.id)
                .limit(1000)
                .with_for_update(skip_locked=True)
            ).all()
            busy = {r.workspace_sid for r in rows if r.kind == "event" and r.status == "in_flight"}
            for row in rows:
                if row.status != "pending":
                    continue
                if row.kind == "event":
                    # Strict order per workspace: only the oldest pending event may go, and only alone.
                    if row.workspace_sid in busy:
                        continue
                    busy.add(row.workspace_sid)
                if row.next_attempt_at > now:
                    if next_attempt is None or row.next_attempt_at < next_attempt:
                        next_attempt = row.next_attempt_at
                    continue
                timeout = self._timeout(row)
                row.status = "in_flight"
                row.lease_until = now + timedelta(seconds=timeout * 2 + 10)
                claimed.append(row.id)
        return claimed, next_attempt

    def _timeout(self, row: WebhookDelivery) -> float:
        if row.kind == "assignment":
            return self._settings.assignment_callback_timeout
        return self._settings.event_callback_timeout

    def _deliver_safely(self, delivery_id: int) -> None:
        try:
            self._deliver(delivery_id)
        except Exception:
            logger.exception("webhook delivery %s failed unexpectedly", delivery_id)
            with unit_of_work(self._factory) as session:
                row = session.get(WebhookDelivery, delivery_id)
                if row is not None and row.status == "in_flight":
                    row.status = "failed"
                    row.error = "internal error while delivering"
        finally:
            self._wake.set()

    def _deliver(self, delivery_id: int) -> None:
        with unit_of_work(self._factory) as session:
            row = session.get(WebhookDelivery, delivery_id)
            if row is None:
                return
            params: dict[str, str] = json.loads(row.parameters)
            account_sid = row.account_sid
            urls = [row.url] + (
                [row.fallback_url] if row.kind == "assignment" and row.fallback_url else []
            )
            kind = row.kind
            timeout = self._timeout(row)
        # Read the token outside that transaction: SQLite allows one writer, even in the same thread.
        token = self._authenticator.token_of(account_sid) or ""
        answer = None
        for url in urls:
            answer = self._post(url, params, token, timeout)
            if answer.ok:
                break
        assert answer is not None
        if kind == "assignment":
            self._finish_assignment(delivery_id, answer)
        else:
            self._finish_event(delivery_id, answer)

    def _post(self, url: str, params: dict[str, str], token: str, timeout: float) -> Answer:
        target = strip_fragment(url)
        signature = compute_signature(token, target, params)
        try:
            response = self._http.post(
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

    def _finish_event(self, delivery_id: int, answer: Answer) -> None:
        with unit_of_work(self._factory) as session:
            row = session.get(WebhookDelivery, delivery_id)
            if row is None:
                return
            self._record_answer(row, answer)
            if answer.ok:
                row.status = "delivered"
            elif row.attempts >= self._settings.webhook_max_attempts:
                row.status = "failed"
            else:
                row.status = "pending"
                delay = self._settings.webhook_retry_delay * (2 ** (row.attempts - 1))
                row.next_attempt_at = utc_now() + timedelta(seconds=delay)

    def _finish_assignment(self, delivery_id: int, answer: Answer) -> None:
        with unit_of_work(self._factory) as session:
            row = session.get(WebhookDelivery, delivery_id)
            if row is None:
                return
            self._record_answer(row, answer)
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
        from taskrouter_emulator.reservations import service as reservation_service

        ctx = RoutingContext.load(session, clock=self._clock, workspace=workspace)
        assert outcome.instruction is not None
        reservation_service.apply_instruction(
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
        from taskrouter_emulator.callbacks.outbox import pascal

        parameters = {pascal(k): v for k, v in parameters.items()}
    return Outcome(name, parameters)
