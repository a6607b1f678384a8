"""The background scheduler and clock moves: fire due timers, in order, in short transactions."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from taskrouter_emulator.callbacks import journal
from taskrouter_emulator.clock import utc_now
from taskrouter_emulator.clocks import Clocks
from taskrouter_emulator.db.session import unit_of_work
from taskrouter_emulator.errors import ServiceUnavailable
from taskrouter_emulator.models import Workspace
from taskrouter_emulator.scheduler import due_times, timers

logger = logging.getLogger(__name__)


def run_until(
    factory: sessionmaker[Session], clocks: Clocks, account_sid: str, target: datetime
) -> None:
    """Move the account's time to `target`, stopping at each due time to fire its timers in order."""
    while True:
        with unit_of_work(factory) as session:
            upcoming = due_times.earliest(session, account_sid)
            now = clocks.time_of(session, account_sid).now()
        if upcoming is None or upcoming > target:
            break
        if upcoming > now:
            with unit_of_work(factory) as session:
                clocks.move_to(session, account_sid, upcoming)
        if not fire_account(factory, clocks, account_sid):
            with unit_of_work(factory) as session:
                if due_times.earliest(session, account_sid) == upcoming:
                    break  # nothing fires at this moment (a stale early due time was corrected otherwise)
    with unit_of_work(factory) as session:
        if target > clocks.time_of(session, account_sid).now():
            clocks.move_to(session, account_sid, target)
    fire_account(factory, clocks, account_sid)


def fire_account(factory: sessionmaker[Session], clocks: Clocks, account_sid: str) -> int:
    """Fire everything due now in the account's workspaces; return how many timers fired."""

    def find(session: Session) -> list[Workspace]:
        now = clocks.time_of(session, account_sid).now()
        return due_times.due_workspaces(session, now, account_sid=account_sid)

    return _fire_rounds(factory, clocks, find, skip_locked=False)


def fire_running(factory: sessionmaker[Session], clocks: Clocks) -> int:
    """Fire everything due now in workspaces whose account's time runs; return how many fired."""
    return _fire_rounds(
        factory,
        clocks,
        lambda session: due_times.due_on_running_clocks(session, clocks.base.now()),
        skip_locked=True,
    )


def _fire_rounds(
    factory: sessionmaker[Session],
    clocks: Clocks,
    find: Callable[[Session], list[Workspace]],
    *,
    skip_locked: bool,
) -> int:
    fired = 0
    for _ in range(100):
        count = 0
        with unit_of_work(factory) as session:
            for workspace in find(session):
                clock = clocks.time_of(session, workspace.account_sid)
                count += timers.fire_due(
                    session, clock=clock, workspace=workspace, skip_locked=skip_locked
                )
        fired += count
        if count == 0:
            break
    return fired


class Scheduler:
    """A daemon thread that fires due timers of running clocks every `interval` seconds."""

    # Housekeeping (event and webhook journal retention) every this many ticks, and at the first.
    HOUSEKEEPING_TICKS = 600

    def __init__(
        self,
        factory: sessionmaker[Session],
        clocks: Clocks,
        interval: float,
        *,
        webhook_retention: timedelta,
        read_factory: sessionmaker[Session],
    ) -> None:
        self._factory = factory
        self._read_factory = read_factory
        self._clocks = clocks
        self._interval = interval
        self._webhook_retention = webhook_retention
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="taskrouter-scheduler", daemon=True)
        self.last_tick: float | None = None

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop and wait for it."""
        self._stop.set()
        self._thread.join(timeout=10)

    def _anything_due(self) -> bool:
        """Look for due timers in a read transaction: an idle tick takes no write lock (SQLite)."""
        with self._read_factory() as session:
            return bool(due_times.due_on_running_clocks(session, self._clocks.base.now()))

    def _run(self) -> None:
        ticks = 0
        while not self._stop.wait(self._interval):
            try:
                if self._anything_due():
                    fire_running(self._factory, self._clocks)
                if ticks % self.HOUSEKEEPING_TICKS == 0:
                    with unit_of_work(self._factory) as session:
                        timers.purge_events(session, now=self._clocks.base.now())
                        # Delivery retries run on wall-clock time, so does the journal's retention.
                        journal.prune(session, before=utc_now() - self._webhook_retention)
                ticks += 1
                self.last_tick = self._clocks.base.now().timestamp()
            except DBAPIError as exc:
                # Database unreachable: timers stay on their rows; the next tick tries again.
                logger.warning("scheduler: database error: %s", exc.orig)
            except ServiceUnavailable as exc:
                # No write slot within the saturation timeout (a long writer holds it).
                logger.warning("scheduler: %s; the next tick tries again", exc.message)
            except Exception:
                logger.exception("scheduler tick failed")
