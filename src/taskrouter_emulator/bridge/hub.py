"""Live connections of the event bridge and the delivery of recorded events to them.

Events are rows written by events/recorder.py in the transaction of the change, so the hub learns of
them by reading the `event` table after commit: one poller per process reads the new rows, at once
when a transaction of this process has committed events and at least every `poll_seconds`
otherwise, and pushes frames to the sockets of the workers concerned. Reading the table (not an
in-memory signal) means a change made by any process, through REST, the bridge, the scheduler or a
webhook answer, reaches every socket in every process.

On PostgreSQL ids can commit out of order (id 9 after id 10), so the poller re-reads from the lowest
id it may still be missing; an id still absent after `gap_grace_seconds` is taken to be a rolled-back
insert and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import anyio
from sqlalchemy import delete, func, select, update
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session, sessionmaker
from starlette.websockets import WebSocket, WebSocketState

from taskrouter_emulator.bridge import payloads
from taskrouter_emulator.bridge.service import set_offline
from taskrouter_emulator.bridge.tokens import WorkerIdentity
from taskrouter_emulator.clock import LazyClock, utc_now
from taskrouter_emulator.clocks import Clocks
from taskrouter_emulator.db.locks import workspace_lock
from taskrouter_emulator.db.notify import EVENTS_CHANNEL, Listener
from taskrouter_emulator.db.session import unit_of_work
from taskrouter_emulator.events import recorder
from taskrouter_emulator.models import (
    BridgeSession,
    Event,
    Reservation,
    Task,
    Worker,
    WorkerChannel,
)
from taskrouter_emulator.workers import channels
from taskrouter_emulator.workers import service as worker_service

logger = logging.getLogger(__name__)

WORKER_EVENTS = frozenset({"worker.activity.update", "worker.attributes.update"})
CHANNEL_EVENTS = frozenset({"worker.capacity.update", "worker.channel.availability.update"})
RESERVATION_EVENTS = frozenset(f"reservation.{s}" for s in payloads.RESERVATION_EVENT_STATUS)
TASK_EVENTS = frozenset({"task.updated", "task.canceled", "task.completed", "task.wrapup"})
BATCH = 500
CLOSED_BY_NEW_SESSION = "Closed by a new session of this Worker"
CHUNK = 500
# A session row counts as open while its process refreshes it; a crashed process's rows go stale.
SESSION_REFRESH_SECONDS = 5.0
SESSION_STALE_SECONDS = 30.0
SESSION_PURGE_SECONDS = 3600.0


@dataclass(eq=False)
class Connection:
    """One open socket of a worker."""

    websocket: WebSocket
    identity: WorkerIdentity
    set_offline_if_disconnected: bool
    outbox: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    close_reason: str | None = None
    # Events up to this id were committed before the socket opened: the SDK fetches the state they
    # led to right after `init`, so they are not sent again.
    start_after: int = 0
    sid: str = field(default_factory=lambda: "BS" + uuid.uuid4().hex)

    def close_by_server(self, reason: str) -> None:
        """Ask the sender to close the socket (the worker is not set offline for it)."""
        if self.close_reason is None:
            self.close_reason = reason
            self.outbox.put_nowait(None)


def frame(event_type: str, payload: dict[str, Any]) -> str:
    """One bridge frame."""
    return json.dumps({"event_type": event_type, "payload": payload})


@dataclass
class _Cursor:
    """Which event ids have been handled; see the module docstring for the gaps."""

    floor: int
    seen: set[int] = field(default_factory=set)
    gaps: dict[int, float] = field(default_factory=dict)

    def advance(self, grace: float) -> None:
        now = time.monotonic()
        expected = self.floor + 1
        for event_id in sorted(self.seen):
            while event_id > expected:
                first_missed = self.gaps.setdefault(expected, now)
                if now - first_missed < grace:
                    break
                self.gaps.pop(expected, None)
                expected += 1
            if event_id != expected:
                break
            expected += 1
        self.floor = expected - 1
        self.seen = {i for i in self.seen if i > self.floor}
        self.gaps = {i: t for i, t in self.gaps.items() if i > self.floor}


class BridgeHub:
    """All event-bridge sockets of this process, and the poller that feeds them.

    Sessions are also rows (`bridge_session`), so `closeExistingSessions` reaches sockets held by
    other processes and `setWorkerOfflineIfDisconnected` only fires when the worker's last socket
    in any process closes.
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        read_factory: sessionmaker[Session],
        clocks: Clocks,
        *,
        listen_url: str | None = None,
    ) -> None:
        self._factory = factory
        # PostgreSQL: LISTEN for other processes' commits while sockets are open.
        self._listen_url = listen_url
        self._listener: Listener | None = None
        # Polling only reads: the read sessions take no write lock (db/session.py).
        self._read_factory = read_factory
        self._clocks = clocks
        # The real event bridge beats about every 15 s; the SDK gives up after 30.
        self.heartbeat_seconds = 15.0
        # Commits of this process (and on PostgreSQL, of any process) wake the poller at once; the
        # timed poll is the fallback (SQLite with several processes, a lost notification).
        self.poll_seconds = 0.2
        self.gap_grace_seconds = 5.0
        self.connections: dict[str, set[Connection]] = {}
        self._cursor: _Cursor | None = None
        self._poller: asyncio.Task[None] | None = None
        self._refreshed_at = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup = asyncio.Event()
        self._watch_commits(factory)

    def _watch_commits(self, factory: sessionmaker[Session]) -> None:
        """Wake the poller as soon as a transaction of this process commits events.

        Changes made by other processes are still found by the timed poll.
        """

        def committed(session: Session) -> None:
            if session.info.pop(recorder.EVENTS_INSERTED, False):
                self._wake()

        def rolled_back(session: Session) -> None:
            session.info.pop(recorder.EVENTS_INSERTED, None)

        orm_event.listen(factory, "after_commit", committed)
        orm_event.listen(factory, "after_rollback", rolled_back)

    def _wake(self) -> None:
        """Run the poller now (callable from any thread)."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed at shutdown
                self._loop.call_soon_threadsafe(self._wakeup.set)

    def connected(self, worker_sid: str) -> int:
        """How many sockets of the worker are open in this process."""
        return len(self.connections.get(worker_sid, ()))

    async def add(self, connection: Connection, *, close_existing: bool) -> None:
        """Register a socket (closing the worker's others if asked) and make sure the poller runs."""
        sessions = self.connections.setdefault(connection.identity.worker_sid, set())
        if close_existing:
            for other in list(sessions):
                other.close_by_server(CLOSED_BY_NEW_SESSION)
        sessions.add(connection)
        connection.start_after = await anyio.to_thread.run_sync(
            self._open_session, connection, close_existing
        )
        if self._cursor is None:
            self._cursor = _Cursor(floor=connection.start_after)
        if self._poller is None or self._poller.done():
            self._loop = asyncio.get_running_loop()
            self._poller = self._loop.create_task(self._poll_loop())

    async def remove(self, connection: Connection, *, worker_left: bool) -> None:
        """Forget a socket; if the worker left (not closed by us) and asked for it, and no socket of
        the worker remains in any process, move the worker offline."""
        offline = (
            worker_left
            and connection.close_reason is None
            and connection.set_offline_if_disconnected
        )
        try:
            await anyio.to_thread.run_sync(self._close_session, connection, offline)
        finally:
            sessions = self.connections.get(connection.identity.worker_sid, set())
            sessions.discard(connection)
            if not sessions:
                self.connections.pop(connection.identity.worker_sid, None)

    def _open_session(self, connection: Connection, close_existing: bool) -> int:
        identity = connection.identity
        now = utc_now()
        with unit_of_work(self._factory) as session:
            workspace_lock(session, identity.workspace_sid)
            if close_existing:
                session.execute(
                    update(BridgeSession)
                    .where(BridgeSession.worker_sid == identity.worker_sid)
                    .values(close_requested=True)
                )
            session.add(
                BridgeSession(
                    sid=connection.sid,
                    account_sid=identity.account_sid,
                    workspace_sid=identity.workspace_sid,
                    worker_sid=identity.worker_sid,
                    opened_at=now,
                    seen_at=now,
                    close_requested=False,
                )
            )
            return int(session.scalar(select(func.max(Event.id))) or 0)

    def _close_session(self, connection: Connection, offline: bool) -> None:
        identity = connection.identity
        with unit_of_work(self._factory) as session:
            workspace_lock(session, identity.workspace_sid)
            session.execute(delete(BridgeSession).where(BridgeSession.sid == connection.sid))
            if not offline:
                return
            fresh_since = utc_now() - timedelta(seconds=SESSION_STALE_SECONDS)
            remaining = session.scalar(
                select(func.count())
                .select_from(BridgeSession)
                .where(
                    BridgeSession.worker_sid == identity.worker_sid,
                    BridgeSession.seen_at > fresh_since,
                )
            )
            if not remaining:
                clock = LazyClock(lambda: self._clocks.time_of(session, identity.account_sid))
                set_offline(session, clock, identity)

    async def run_sender(self, connection: Connection) -> None:
        """Send queued frames, a whitespace heartbeat when idle, and close at token expiry."""
        websocket = connection.websocket
        while True:
            remaining = (connection.identity.expires_at - utc_now()).total_seconds()
            if remaining <= 0:
                connection.close_reason = connection.close_reason or "Token expired"
                break
            try:
                message = await asyncio.wait_for(
                    connection.outbox.get(), timeout=min(self.heartbeat_seconds, remaining)
                )
            except TimeoutError:
                message = " "
            if message is None:
                break
            await websocket.send_text(message)
        if websocket.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await websocket.close(code=1000, reason=connection.close_reason or "")

    async def _poll_loop(self) -> None:
        while self.connections:
            if self._listen_url is not None and self._listener is None:
                self._listener = Listener(self._listen_url, {EVENTS_CHANNEL: self._wake})
                self._listener.start()
            await self._poll_while_connected()
            listener, self._listener = self._listener, None
            if listener is not None:
                # Sockets opened meanwhile keep this loop going (and listening again).
                await anyio.to_thread.run_sync(listener.stop)

    async def _poll_while_connected(self) -> None:
        while self.connections:
            self._wakeup.clear()
            try:
                targets = {sid: list(conns) for sid, conns in self.connections.items()}
                deliveries, closing = await anyio.to_thread.run_sync(self._collect, targets)
                for connection, text in deliveries:
                    if connection.close_reason is None:
                        connection.outbox.put_nowait(text)
                for connection in closing:
                    connection.close_by_server(CLOSED_BY_NEW_SESSION)
                if time.monotonic() - self._refreshed_at >= SESSION_REFRESH_SECONDS:
                    await anyio.to_thread.run_sync(self._refresh_sessions, targets)
                    self._refreshed_at = time.monotonic()
            except Exception:  # a database hiccup must not end delivery for everyone
                logger.exception("event bridge poll failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self.poll_seconds)

    def _collect(
        self, targets: dict[str, list[Connection]]
    ) -> tuple[list[tuple[Connection, str]], list[Connection]]:
        cursor = self._cursor
        assert cursor is not None
        deliveries: list[tuple[Connection, str]] = []
        mine = {c.sid: c for conns in targets.values() for c in conns}
        closing: list[Connection] = []
        with self._read_factory() as session:
            rows = session.scalars(
                select(Event).where(Event.id > cursor.floor).order_by(Event.id).limit(BATCH)
            ).all()
            for event in rows:
                if event.id in cursor.seen:
                    continue
                cursor.seen.add(event.id)
                for worker_sid, text in self._frames_for(session, event, targets):
                    deliveries.extend(
                        (c, text) for c in targets[worker_sid] if event.id > c.start_after
                    )
            sids = list(mine)
            for start in range(0, len(sids), CHUNK):
                closing.extend(
                    mine[sid]
                    for sid in session.scalars(
                        select(BridgeSession.sid).where(
                            BridgeSession.sid.in_(sids[start : start + CHUNK]),
                            BridgeSession.close_requested.is_(True),
                        )
                    )
                )
            session.rollback()
        cursor.advance(self.gap_grace_seconds)
        return deliveries, closing

    def _refresh_sessions(self, targets: dict[str, list[Connection]]) -> None:
        """Mark this process's sessions as alive and purge long-dead ones (of crashed processes)."""
        now = utc_now()
        sids = [c.sid for conns in targets.values() for c in conns]
        with unit_of_work(self._factory) as session:
            for start in range(0, len(sids), CHUNK):
                session.execute(
                    update(BridgeSession)
                    .where(BridgeSession.sid.in_(sids[start : start + CHUNK]))
                    .values(seen_at=now)
                )
            session.execute(
                delete(BridgeSession).where(
                    BridgeSession.seen_at < now - timedelta(seconds=SESSION_PURGE_SECONDS)
                )
            )

    def _frames_for(
        self, session: Session, event: Event, targets: dict[str, list[Connection]]
    ) -> list[tuple[str, str]]:
        kind = event.event_type
        if kind in TASK_EVENTS and event.task_sid:
            workers = set(
                session.scalars(
                    select(Reservation.worker_sid).where(
                        Reservation.task_sid == event.task_sid,
                        Reservation.worker_sid.in_(list(targets)),
                    )
                )
            )
            if not workers:
                return []
            payload = self._task_payload(session, event)
            return [] if payload is None else [(w, frame(kind, payload)) for w in workers]
        if event.worker_sid not in targets:
            return []
        build: Callable[[Session, Event], dict[str, Any] | None]
        if kind in WORKER_EVENTS:
            build = self._worker_payload
        elif kind in CHANNEL_EVENTS:
            build = self._channel_payload
        elif kind in RESERVATION_EVENTS:
            build = self._reservation_payload
        else:
            return []
        payload = build(session, event)
        return [] if payload is None else [(event.worker_sid, frame(kind, payload))]

    def _worker_payload(self, session: Session, event: Event) -> dict[str, Any] | None:
        worker = payloads.by_sid(session, Worker, event.worker_sid)
        if worker is None:
            return None
        activity = worker_service.activity_of(session, worker)
        return payloads.worker_payload(worker, activity, payloads.event_data_of(event.event_data))

    def _channel_payload(self, session: Session, event: Event) -> dict[str, Any] | None:
        channel = session.scalars(
            select(WorkerChannel).where(
                WorkerChannel.worker_sid == event.worker_sid,
                WorkerChannel.task_channel_sid == event.task_channel_sid,
            )
        ).first()
        if channel is None or event.worker_sid is None:
            return None
        reserved = payloads.last_reserved_times(session, worker_sid=event.worker_sid)
        return payloads.channel_payload(
            channel,
            unique_name=event.task_channel_unique_name or "",
            state=channels.state_of(session, channel),
            last_reserved=reserved.get(channel.task_channel_sid),
        )

    def _reservation_payload(self, session: Session, event: Event) -> dict[str, Any] | None:
        reservation = session.scalars(
            select(Reservation).where(Reservation.sid == event.reservation_sid)
        ).first()
        if reservation is None:
            return None
        return payloads.reservation_payload(
            session,
            reservation,
            now=self._clocks.time_of(session, event.account_sid).now(),
            event_type=event.event_type,
            event_data=payloads.event_data_of(event.event_data),
        )

    def _task_payload(self, session: Session, event: Event) -> dict[str, Any] | None:
        task = session.scalars(select(Task).where(Task.sid == event.task_sid)).first()
        if task is None:
            return None
        return payloads.task_payload(
            session,
            task,
            now=self._clocks.time_of(session, event.account_sid).now(),
            event_data=payloads.event_data_of(event.event_data),
        )
