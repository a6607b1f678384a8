"""The one source of time: a clock that runs in real time or is frozen, and can be moved.

Domain code never reads the wall clock; it receives a `Clock` and calls `now()`. The emulator's
`/emulator/clock` endpoint advances or sets it, which is how tests make timers fire without sleeping.
"""

from __future__ import annotations

import threading
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
