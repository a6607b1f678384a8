"""The background scheduler: fires due timers, in order, in short transactions."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.db.session import unit_of_work
from taskrouter_emulator.scheduler import timers

logger = logging.getLogger(__name__)


def run_until(
    factory: sessionmaker[Session], clock: EmulatorClock, *, target_seconds: float
) -> None:
    """Advance the clock by `target_seconds`, stopping at each due time to fire timers in order."""
    target = clock.now().timestamp() + target_seconds
    while True:
        with unit_of_work(factory) as session:
            upcoming = timers.next_due(session)
        if upcoming is None or upcoming.timestamp() > target:
            break
        if upcoming > clock.now():
            clock.advance(upcoming.timestamp() - clock.now().timestamp())
        if not fire_once(factory, clock):
            with unit_of_work(factory) as session:
                if timers.next_due(session) == upcoming:
                    break  # nothing fires at this moment; a stale early due time was corrected otherwise
    remaining = target - clock.now().timestamp()
    if remaining > 0:
        clock.advance(remaining)
    fire_once(factory, clock)


def fire_once(factory: sessionmaker[Session], clock: EmulatorClock) -> int:
    """Fire everything due now, in one transaction per batch; return how many timers fired."""
    fired = 0
    for _ in range(100):
        with unit_of_work(factory) as session:
            count = timers.fire_due(session, clock=clock)
        fired += count
        if count == 0:
            break
    return fired


class Scheduler:
    """A daemon thread that fires due timers every `interval` seconds."""

    def __init__(
        self, factory: sessionmaker[Session], clock: EmulatorClock, interval: float
    ) -> None:
        self._factory = factory
        self._clock = clock
        self._interval = interval
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

    def _run(self) -> None:
        ticks = 0
        while not self._stop.wait(self._interval):
            try:
                fire_once(self._factory, self._clock)
                ticks += 1
                if ticks % 600 == 0:
                    with unit_of_work(self._factory) as session:
                        timers.purge_events(session, now=self._clock.now())
                self.last_tick = self._clock.now().timestamp()
            except Exception:
                logger.exception("scheduler tick failed")
