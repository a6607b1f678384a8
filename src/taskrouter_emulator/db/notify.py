"""Wake-ups across server processes: PostgreSQL LISTEN/NOTIFY.

A transaction that leaves work for background components (an outbox row to send) sends a NOTIFY,
which PostgreSQL delivers to every listening process when, and only if, the transaction commits. Each
process listens on a dedicated connection and wakes its own components, so no process needs to poll
for work another one created. On SQLite there is one process and in-process wake-ups suffice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

OUTBOX_CHANNEL = "taskrouter_outbox"
# Sent by every committed transaction that recorded events: wakes the event bridge's pollers.
EVENTS_CHANNEL = "taskrouter_bridge_events"


def notify(session: Session, channel: str) -> None:
    """Ask PostgreSQL to wake the listeners of `channel` when this transaction commits."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})


class Listener:
    """A thread that LISTENs on channels and calls their callbacks; reconnects after failures."""

    def __init__(self, database_url: str, callbacks: dict[str, Callable[[], None]]) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._callbacks = callbacks
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="taskrouter-listener", daemon=True)

    def start(self) -> None:
        """Start listening."""
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and wait for the thread."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        # Imported here: a server on SQLite never loads the PostgreSQL driver (about 9 MB resident).
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True, connect_timeout=5) as connection:
                    for channel in self._callbacks:
                        connection.execute(f'LISTEN "{channel}"')
                    # Anything committed while we were not listening: wake everyone once.
                    self._wake_all()
                    while not self._stop.is_set():
                        for notice in connection.notifies(timeout=1.0):
                            callback = self._callbacks.get(notice.channel)
                            if callback is not None:
                                callback()
            except psycopg.Error as exc:
                logger.warning("notification listener lost its connection: %s", exc)
                self._stop.wait(1.0)

    def _wake_all(self) -> None:
        for callback in self._callbacks.values():
            callback()
