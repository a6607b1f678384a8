"""The virtual clock endpoint, and timers surviving a crash of the server process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest

from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.config import Settings
from tests.conftest import start_server
from tests.receiver import eventually


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def private_server(private_database: str) -> Iterator[str]:
    live, server, thread = start_server(
        Settings(database_url=private_database, scheduler_interval=0.05, clock="frozen"),
        EmulatorClock(frozen=True),
    )
    yield live.url
    server.should_exit = True
    thread.join(timeout=10)


AUTH = ("AC" + "c" * 32, "clock-token")
OTHER = ("AC" + "d" * 32, "other-token")


class TestClockEndpoint:
    def test_read_advance_set_and_mode(self, private_server: str) -> None:
        start = httpx.get(f"{private_server}/emulator/clock", auth=AUTH).json()
        assert start["frozen"] is True
        assert start["account_sid"] == AUTH[0]
        moved = httpx.post(
            f"{private_server}/emulator/clock", data={"Advance": "90"}, auth=AUTH
        ).json()
        assert moved["epoch_ms"] - start["epoch_ms"] == 90_000
        target = datetime.fromisoformat(moved["now"].replace("Z", "+00:00")) + timedelta(days=1)
        set_to = httpx.post(
            f"{private_server}/emulator/clock",
            data={"Set": target.strftime("%Y-%m-%dT%H:%M:%SZ")},
            auth=AUTH,
        ).json()
        assert set_to["now"].startswith(target.strftime("%Y-%m-%dT%H:%M:%S"))
        real = httpx.post(
            f"{private_server}/emulator/clock", data={"Mode": "real"}, auth=AUTH
        ).json()
        assert real["frozen"] is False
        assert httpx.get(f"{private_server}/emulator/health").json()["clock"]["default_mode"] == (
            "frozen"
        )

    def test_each_account_has_its_own_time_and_timers(self, private_server: str) -> None:
        pending: dict[str, tuple[str, str]] = {}
        for auth in (AUTH, OTHER):
            base = f"{private_server}/v1/Workspaces"
            ws = httpx.post(base, data={"FriendlyName": "W", "Template": "FIFO"}, auth=auth).json()
            activities = httpx.get(f"{base}/{ws['sid']}/Activities", auth=auth).json()
            available = next(
                a["sid"] for a in activities["activities"] if a["friendly_name"] == "Available"
            )
            httpx.post(
                f"{base}/{ws['sid']}/Workers",
                data={"FriendlyName": "Wendy", "ActivitySid": available},
                auth=auth,
            )
            task = httpx.post(f"{base}/{ws['sid']}/Tasks", data={}, auth=auth).json()
            pending[auth[0]] = (ws["sid"], task["sid"])
        before = httpx.get(f"{private_server}/emulator/clock", auth=OTHER).json()
        assert (
            httpx.post(
                f"{private_server}/emulator/clock", data={"Advance": "121"}, auth=AUTH
            ).status_code
            == 200
        )
        assert httpx.get(f"{private_server}/emulator/clock", auth=OTHER).json() == before

        def status(auth: tuple[str, str]) -> str:
            ws_sid, task_sid = pending[auth[0]]
            reservations = httpx.get(
                f"{private_server}/v1/Workspaces/{ws_sid}/Tasks/{task_sid}/Reservations",
                auth=auth,
            ).json()["reservations"]
            return str(reservations[0]["reservation_status"])

        assert status(AUTH) == "timeout"
        assert status(OTHER) == "pending"

    @pytest.mark.parametrize("method", ["GET", "POST"])
    def test_credentials_are_required(self, private_server: str, method: str) -> None:
        response = httpx.request(
            method,
            f"{private_server}/emulator/clock",
            data={"Advance": "1"} if method == "POST" else None,
        )
        assert (response.status_code, response.json()["code"]) == (401, 20003)

    @pytest.mark.parametrize(
        "data",
        [
            {"Advance": "-5"},
            {"Advance": "soon"},
            {"Mode": "sideways"},
            {"Set": "yesterday"},
            {"Set": "2000-01-01T00:00:00Z"},
            {"Set": "9999-12-31T23:59:59Z"},
            {"Advance": "NaN"},
            {"Advance": "inf"},
            {"Advance": "1e309"},
            {"Advance": "1e12"},
            {"Advance": "60", "Set": "2999-12-31T23:59:30Z"},
            {"Advance": "60", "Mode": "sideways"},
        ],
    )
    def test_bad_requests(self, private_server: str, data: dict[str, str]) -> None:
        before = httpx.get(f"{private_server}/emulator/clock", auth=AUTH).json()
        response = httpx.post(f"{private_server}/emulator/clock", data=data, auth=AUTH)
        assert (response.status_code, response.json()["code"]) == (400, 20001)
        # Refused means nothing changed.
        assert httpx.get(f"{private_server}/emulator/clock", auth=AUTH).json() == before

    def test_strict_mode_requires_credentials(self, private_database: str) -> None:
        sid, token = f"AC{uuid.uuid4().hex}", "secret"
        settings = Settings(
            database_url=private_database, account_sid=sid, auth_token=token, scheduler_interval=0
        )
        live, server, thread = start_server(settings, EmulatorClock(frozen=True))
        try:
            assert (
                httpx.post(f"{live.url}/emulator/clock", data={"Advance": "1"}).status_code == 401
            )
            assert (
                httpx.post(
                    f"{live.url}/emulator/clock", data={"Advance": "1"}, auth=(sid, token)
                ).status_code
                == 200
            )
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def _spawn(database_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TASKROUTER_CLOCK": "frozen", "TASKROUTER_SCHEDULER_INTERVAL": "0.05"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "taskrouter_emulator",
            "serve",
            "--port",
            str(port),
            "--database-url",
            database_url,
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/emulator/health").status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the emulator process did not start")


class TestRestart:
    def test_pending_reservation_times_out_after_a_crash_and_restart(
        self, private_database: str
    ) -> None:
        port = _port()
        auth = (f"AC{uuid.uuid4().hex}", "token")
        base = f"http://127.0.0.1:{port}"
        process = _spawn(private_database, port)
        try:
            ws = httpx.post(
                f"{base}/v1/Workspaces",
                data={"FriendlyName": "Crashy", "Template": "FIFO"},
                auth=auth,
            ).json()
            activities = httpx.get(
                f"{base}/v1/Workspaces/{ws['sid']}/Activities", auth=auth
            ).json()["activities"]
            available = next(a["sid"] for a in activities if a["friendly_name"] == "Available")
            worker = httpx.post(
                f"{base}/v1/Workspaces/{ws['sid']}/Workers",
                data={"FriendlyName": "Wendy", "ActivitySid": available},
                auth=auth,
            ).json()
            task = httpx.post(f"{base}/v1/Workspaces/{ws['sid']}/Tasks", data={}, auth=auth).json()
            assert task["assignment_status"] == "reserved"
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        process = _spawn(private_database, port)
        try:
            reservations = f"{base}/v1/Workspaces/{ws['sid']}/Tasks/{task['sid']}/Reservations"
            assert (
                httpx.get(reservations, auth=auth).json()["reservations"][0]["reservation_status"]
                == "pending"
            )
            assert (
                httpx.post(f"{base}/emulator/clock", data={"Advance": "121"}, auth=auth).status_code
                == 200
            )
            [reservation] = httpx.get(reservations, auth=auth).json()["reservations"]
            assert reservation["reservation_status"] == "timeout"
            fetched = httpx.get(
                f"{base}/v1/Workspaces/{ws['sid']}/Workers/{worker['sid']}", auth=auth
            ).json()
            assert fetched["activity_name"] == "Offline"
            eventually(
                lambda: (
                    httpx.get(
                        f"{base}/v1/Workspaces/{ws['sid']}/Tasks/{task['sid']}", auth=auth
                    ).json()["assignment_status"]
                    == "pending"
                )
            )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
