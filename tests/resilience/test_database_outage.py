"""When PostgreSQL goes away: 503s with Twilio error JSON, an honest health check, and recovery."""

from __future__ import annotations

import uuid

import httpx

from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.config import Settings
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
