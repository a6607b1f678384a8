"""The one source of time: a clock that runs in real time or is frozen, and can be moved.

Domain code never reads the wall clock; it receives a `Clock` and calls `now()`. Each account has its
own emulated time, stored in the database (`clocks.py`): frozen at a moment, or the server's base
clock plus an offset. The base clock is an `EmulatorClock` (real time; tests may inject one that they
move). The `/emulator/clock` endpoint advances or sets an account's time, which is how tests make
timers fire without sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current UTC time."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware UTC."""
        ...


def utc_now() -> datetime:
    """Return the real current time (only clock implementations may call this)."""
    return datetime.now(UTC)


class EmulatorClock:
    """A clock that follows real time plus an offset, or stays frozen until moved."""

    def __init__(self, *, frozen: bool = False, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._frozen_at: datetime | None = (start or utc_now()) if frozen else None
        self._offset = timedelta(0)
        if start is not None and not frozen:
            self._offset = start - utc_now()

    @property
    def frozen(self) -> bool:
        """Tell whether time only moves when asked to."""
        return self._frozen_at is not None

    def now(self) -> datetime:
        """Return the current emulated time."""
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return utc_now() + self._offset

    def advance(self, seconds: float) -> datetime:
        """Move time forward by `seconds` and return the new time."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += timedelta(seconds=seconds)
                return self._frozen_at
            self._offset += timedelta(seconds=seconds)
            return utc_now() + self._offset

    def set(self, moment: datetime, *, frozen: bool | None = None) -> datetime:
        """Set the current time (optionally switching between frozen and real mode)."""
        with self._lock:
            freeze = self._frozen_at is not None if frozen is None else frozen
            if freeze:
                self._frozen_at = moment
                self._offset = timedelta(0)
            else:
                self._frozen_at = None
                self._offset = moment - utc_now()
            return moment

    def freeze(self, frozen: bool) -> None:
        """Switch between a frozen clock and one that runs in real time from the current moment."""
        self.set(self.now(), frozen=frozen)


class AccountTime:
    """One account's emulated time as read from its stored clock (frozen, or real time + offset)."""

    def __init__(self, base: Clock, *, frozen_at: datetime | None, offset: timedelta) -> None:
        self._base = base
        self.frozen_at = frozen_at
        self.offset = offset

    @property
    def frozen(self) -> bool:
        """Tell whether time only moves when asked to."""
        return self.frozen_at is not None

    def now(self) -> datetime:
        """Return the account's current emulated time."""
        if self.frozen_at is not None:
            return self.frozen_at
        return self._base.now() + self.offset


class LazyClock:
    """A clock that reads its account's stored time on the first `now()` and then keeps it."""

    def __init__(self, load: Callable[[], AccountTime]) -> None:
        self._load = load
        self._time: AccountTime | None = None

    @property
    def loaded(self) -> AccountTime | None:
        """The account time if it was read, else None (without reading it)."""
        return self._time

    def provide(self, time: AccountTime) -> None:
        """Take the account time read along with something else, unless it was read already."""
        if self._time is None:
            self._time = time

    @property
    def time(self) -> AccountTime:
        """The loaded account time."""
        if self._time is None:
            self._time = self._load()
        return self._time

    @property
    def frozen(self) -> bool:
        """Tell whether the account's time only moves when asked to."""
        return self.time.frozen

    def now(self) -> datetime:
        """Return the account's current emulated time."""
        return self.time.now()
