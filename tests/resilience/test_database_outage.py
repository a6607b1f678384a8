"""When PostgreSQL goes away: 503s with Twilio error JSON, an honest health check, and recovery."""

from __future__ import annotations

import uuid

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.config import Settings
from taskrouter_emulator.db import engine as engine_module
from taskrouter_emulator.db.engine import make_engine
from taskrouter_emulator.testing import serving
from tests.conftest import start_server
from tests.receiver import eventually
from tests.resilience.pgcluster import throwaway_cluster


def test_outage_answers_503_and_the_server_recovers_without_a_restart() -> None:
    with throwaway_cluster() as cluster:
        live, server, thread = start_server(
            Settings(database_url=cluster.url, scheduler_interval=0.05, clock="frozen"),
            EmulatorClock(frozen=True),
        )
        auth = (f"AC{uuid.uuid4().hex}", "token")
        try:
            with httpx.Client(base_url=live.url, auth=auth, timeout=30) as http:
                ws = http.post("/v1/Workspaces", data={"FriendlyName": "Before"}).json()
                assert http.get("/emulator/health").json()["database_status"] == "up"

                cluster.stop()
                for request in (
                    lambda: http.get(f"/v1/Workspaces/{ws['sid']}/Workers"),
                    lambda: http.post(
                        f"/v1/Workspaces/{ws['sid']}/Workers", data={"FriendlyName": "W"}
                    ),
                    lambda: http.get("/v1/Workspaces"),
                ):
                    response = request()
                    assert response.status_code == 503
                    assert response.json()["code"] == 20503
                    assert set(response.json()) == {"code", "message", "more_info", "status"}
                health = http.get("/emulator/health")
                assert health.status_code == 503
                assert health.json()["database_status"] == "down"

                cluster.start()
                eventually(lambda: http.get("/emulator/health").status_code == 200, timeout=30)
                created = http.post(
                    f"/v1/Workspaces/{ws['sid']}/Workers", data={"FriendlyName": "After"}
                )
                assert created.status_code == 201
                names = [
                    w["friendly_name"]
                    for w in http.get(f"/v1/Workspaces/{ws['sid']}/Workers").json()["workers"]
                ]
                assert names == ["After"]
        finally:
            server.should_exit = True
            thread.join(timeout=15)
        # Every 5xx was a 503 from the outage, never a crash.
        assert {status for _, _, status in live.server_errors()} == {503}


def test_connections_killed_while_idle_in_the_pool_are_replaced_without_an_error() -> None:
    auth = (f"AC{uuid.uuid4().hex}", "token")
    fresh = {"Cache-Control": "no-cache"}
    with (
        throwaway_cluster() as cluster,
        serving(
            Settings(database_url=cluster.url, scheduler_interval=0, clock="frozen"),
            EmulatorClock(frozen=True),
        ) as live,  # checks that it answered no 5xx
        httpx.Client(base_url=live.url, auth=auth, timeout=30) as http,
    ):
        ws = http.post("/v1/Workspaces", data={"FriendlyName": "Before"}).json()
        assert http.get(f"/v1/Workspaces/{ws['sid']}", headers=fresh).status_code == 200
        # Every server-side connection goes away behind the pool's back.
        with psycopg.connect(_libpq_url(cluster.url), autocommit=True) as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
            ).fetchall()
        assert killed
        for _ in range(3):
            assert http.get(f"/v1/Workspaces/{ws['sid']}", headers=fresh).status_code == 200
        assert http.post("/v1/Workspaces", data={"FriendlyName": "After"}).status_code == 201


def test_a_connection_idle_in_the_pool_is_pinged_and_replaced_if_dead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only a connection idle for longer than PING_AFTER_IDLE is pinged on checkout (db/engine.py);
    one that fails its ping is replaced before the caller sees it."""
    with throwaway_cluster() as cluster:
        engine = make_engine(cluster.url)
        pings: list[bool] = []
        healthy = {"answer": True}

        def ping(_dbapi_connection: object) -> bool:
            pings.append(healthy["answer"])
            if not healthy["answer"]:
                healthy["answer"] = True  # the replacement connection is fine
                raise psycopg.OperationalError("gone")
            return True

        monkeypatch.setattr(engine.dialect, "do_ping", ping)
        try:
            with engine.connect() as connection:
                first = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with engine.connect() as connection:  # just used: no ping
                assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() == first
            assert pings == []

            monkeypatch.setattr(engine_module, "PING_AFTER_IDLE", 0.0)
            with engine.connect() as connection:  # counts as idle: pinged, alive, reused
                assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() == first
            assert pings == [True]

            healthy["answer"] = False
            with engine.connect() as connection:  # pinged, dead: a new connection instead
                assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() != first
            assert pings[:2] == [True, False]
        finally:
            engine.dispose()


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
