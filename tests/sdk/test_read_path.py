"""Reads never wait for writers, and a read still never shows an overdue timer as pending."""

from __future__ import annotations

import sqlite3
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import psycopg
from sqlalchemy import create_engine, select, update
from sqlalchemy.engine import make_url
from twilio.rest import Client

from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.config import Settings
from taskrouter_emulator.models import AccountClock
from tests.conftest import LiveServer, start_server
from tests.sdk.routing_helpers import make_setup, single_queue


@contextmanager
def writer_holding(database_url: str, workspace_sid: str) -> Iterator[None]:
    """Hold what a writer of the workspace holds: SQLite's write lock, or the workspace's advisory lock."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(url.database or "", isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as connection, connection.transaction():
        key = zlib.crc32(workspace_sid.encode()) - 2**31
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        yield


def test_reads_answer_while_a_writer_holds_the_lock(
    live_server: LiveServer, client: Client, http: httpx.Client, database_url: str
) -> None:
    setup = make_setup(client, http)
    single_queue(setup)
    worker = setup.worker("Alice")
    answered: list[int] = []
    with writer_holding(database_url, setup.ws.sid):

        def read() -> None:
            for path in ("", "/Workers", f"/Workers/{worker.sid}", "/TaskQueues", "/Tasks"):
                answered.append(http.get(f"/v1/Workspaces/{setup.ws.sid}{path}").status_code)

        reader = threading.Thread(target=read)
        reader.start()
        # The lock is only released after the reads finished (or gave up): they must not need it.
        reader.join(timeout=20)
        finished_while_locked = not reader.is_alive()
    reader.join()
    assert finished_while_locked
    assert answered == [200] * 5


def test_a_read_fires_overdue_timers_first(private_database: str) -> None:
    # No scheduler: only the read itself can notice that the reservation timed out.
    live, server, thread = start_server(
        Settings(
            database_url=private_database, scheduler_interval=0, webhook_workers=0, clock="frozen"
        ),
        EmulatorClock(frozen=True),
    )
    try:
        sid, token = "AC" + "5" * 32, "token"
        client = Client(sid, token)
        client.taskrouter.base_url = live.url
        with httpx.Client(base_url=live.url, auth=(sid, token)) as http:
            setup = make_setup(client, http)
            _, workflow = single_queue(setup)
            worker = setup.worker("Alice")
            task = setup.task(workflow_sid=workflow.sid, timeout=3600)
            (reservation,) = setup.reservations(task.sid, "pending")
            # Past the default 120 s reservation timeout, without firing anything: move the
            # account's stored clock behind the server's back.
            engine = create_engine(private_database)
            with engine.begin() as connection:
                frozen_at = connection.execute(
                    select(AccountClock.frozen_at).where(AccountClock.account_sid == sid)
                ).scalar_one()
                connection.execute(
                    update(AccountClock)
                    .where(AccountClock.account_sid == sid)
                    .values(frozen_at=frozen_at + timedelta(seconds=121))
                )
            engine.dispose()
            fetched = setup.api.tasks(task.sid).reservations(reservation.sid).fetch()
            assert fetched.reservation_status == "timeout"
            assert setup.api.workers(worker.sid).fetch().activity_name == "Offline"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert not live.server_errors()
