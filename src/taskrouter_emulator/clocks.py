"""Per-account clocks stored in the database, so every server process agrees on an account's time.

An account's clock is created when the account is first seen (frozen at that moment when the server
runs with `TASKROUTER_CLOCK=frozen`, else real time). Moving it changes only that account's time and
fires only that account's timers; other accounts sharing the emulator are unaffected.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from taskrouter_emulator.clock import AccountTime, Clock
from taskrouter_emulator.models import AccountClock


def _microseconds(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class Clocks:
    """Reads and moves account clocks over a base clock (real time, or one injected by tests)."""

    def __init__(self, base: Clock, *, default_frozen: bool) -> None:
        self.base = base
        self.default_frozen = default_frozen

    def ensure(self, session: Session, account_sid: str) -> None:
        """Create the account's clock with the server's default mode if it has none (race-safe)."""
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(
            insert(AccountClock)
            .values(
                account_sid=account_sid,
                frozen_at=self.base.now() if self.default_frozen else None,
                offset_us=0,
            )
            .on_conflict_do_nothing(index_elements=["account_sid"])
        )

    def time_of(self, session: Session, account_sid: str, *, for_update: bool = False) -> AccountTime:
        """Return the account's time (real time if it has no stored clock yet)."""
        query = select(AccountClock.frozen_at, AccountClock.offset_us).where(
            AccountClock.account_sid == account_sid
        )
        if for_update:
            query = query.with_for_update()
        row = session.execute(query).one_or_none()
        return self.time_from(row.frozen_at, row.offset_us) if row is not None else self.time_from()

    def time_from(self, frozen_at: datetime | None = None, offset_us: int | None = None) -> AccountTime:
        """Return the account time of a stored clock's columns (real time when there is no row)."""
        return AccountTime(self.base, frozen_at=frozen_at, offset=timedelta(microseconds=offset_us or 0))

    def move_to(self, session: Session, account_sid: str, moment: datetime) -> None:
        """Set the account's time to `moment`, keeping its mode (frozen or running)."""
        current = self.time_of(session, account_sid, for_update=True)
        self._store(session, account_sid, moment, frozen=current.frozen)

    def set_mode(self, session: Session, account_sid: str, *, frozen: bool) -> None:
        """Freeze the account's time at its current moment, or let it run on from there."""
        current = self.time_of(session, account_sid, for_update=True)
        self._store(session, account_sid, current.now(), frozen=frozen)

    def _store(self, session: Session, account_sid: str, moment: datetime, *, frozen: bool) -> None:
        self.ensure(session, account_sid)
        clock = session.get(AccountClock, account_sid, populate_existing=True)
        assert clock is not None
        clock.frozen_at = moment if frozen else None
        clock.offset_us = 0 if frozen else _microseconds(moment - self.base.now())
        session.flush()
