"""/emulator/faults: injected errors and latency, per account, by operation, path and method."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from tests.conftest import Account, LiveServer
from tests.sdk.server_helpers import own_server, raw_client, twilio_client


@pytest.fixture(scope="module")
def fault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of its own: these tests provoke 5xx answers on purpose."""
    with own_server(Path(tmp_path_factory.mktemp("faults"))) as live:
        yield live


@pytest.fixture
def twilio(fault_server: LiveServer, account: Account) -> Client:
    return twilio_client(fault_server, account)


@pytest.fixture
def raw(fault_server: LiveServer, account: Account) -> Iterator[httpx.Client]:
    with raw_client(fault_server, account) as client:
        yield client


def add_fault(raw: httpx.Client, **params: str) -> dict[str, Any]:
    response = raw.post("/emulator/faults", data=params)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


class TestErrors:
    def test_count_limits_how_often_a_fault_fires(self, twilio: Client, raw: httpx.Client) -> None:
        ws = twilio.taskrouter.v1.workspaces.create(friendly_name="F")
        fault = add_fault(raw, Operation="CreateWorker", Status="503", Count="2")
        assert (fault["code"], fault["message"], fault["remaining"]) == (
            20503, "Service Unavailable", 2,
        )
        for _ in range(2):
            with pytest.raises(TwilioRestException) as caught:
                twilio.taskrouter.v1.workspaces(ws.sid).workers.create(friendly_name="Ann")
            assert (caught.value.status, caught.value.code) == (503, 20503)
        # A faulted write never ran: the third attempt creates the worker for the first time.
        worker = twilio.taskrouter.v1.workspaces(ws.sid).workers.create(friendly_name="Ann")
        assert worker.friendly_name == "Ann"
        listed = raw.get("/emulator/faults").json()["faults"]
        assert [(f["hits"], f["remaining"]) for f in listed] == [(2, 0)]

    def test_path_pattern_and_method_select_requests(
        self, twilio: Client, raw: httpx.Client
    ) -> None:
        ws = twilio.taskrouter.v1.workspaces.create(friendly_name="F")
        queue = twilio.taskrouter.v1.workspaces(ws.sid).task_queues.create(friendly_name="Q")
        add_fault(raw, Path="/v1/Workspaces/*/TaskQueues*", Method="GET", Status="429")
        with pytest.raises(TwilioRestException) as caught:
            twilio.taskrouter.v1.workspaces(ws.sid).task_queues(queue.sid).fetch()
        assert (caught.value.status, caught.value.code) == (429, 20429)
        assert "Too Many Requests" in caught.value.msg
        # Lists fail as on Twilio: the helper library raises for the page it could not fetch.
        with pytest.raises(TwilioException):
            twilio.taskrouter.v1.workspaces(ws.sid).task_queues.list()
        updated = twilio.taskrouter.v1.workspaces(ws.sid).task_queues(queue.sid).update(
            friendly_name="Q2"
        )
        assert updated.friendly_name == "Q2"
        assert twilio.taskrouter.v1.workspaces(ws.sid).activities.list()

    def test_custom_code_and_message(self, twilio: Client, raw: httpx.Client) -> None:
        ws = twilio.taskrouter.v1.workspaces.create(friendly_name="F")
        add_fault(raw, Operation="FetchWorkspace", Status="500", Code="20500", Message="Boom")
        with pytest.raises(TwilioRestException) as caught:
            twilio.taskrouter.v1.workspaces(ws.sid).fetch()
        assert (caught.value.status, caught.value.code) == (500, 20500)
        assert caught.value.msg.endswith("Boom")
        body = raw.get(f"/v1/Workspaces/{ws.sid}").json()
        assert body == {
            "code": 20500,
            "message": "Boom",
            "more_info": "https://www.twilio.com/docs/errors/20500",
            "status": 500,
        }

    def test_probability_fires_some_of_the_time(self, raw: httpx.Client) -> None:
        add_fault(raw, Operation="ListWorkspace", Status="500", Probability="0.5")
        statuses = [raw.get("/v1/Workspaces").status_code for _ in range(60)]
        assert set(statuses) == {200, 500}
        hits = raw.get("/emulator/faults").json()["faults"][0]["hits"]
        assert hits == statuses.count(500)

    def test_faults_are_per_account(
        self, twilio: Client, raw: httpx.Client, fault_server: LiveServer
    ) -> None:
        add_fault(raw, Status="503")
        with pytest.raises(TwilioRestException) as caught:
            twilio.taskrouter.v1.workspaces.create(friendly_name="Nope")
        assert caught.value.status == 503
        with httpx.Client(base_url=fault_server.url, auth=("AC" + "8" * 32, "t")) as other:
            assert other.get("/v1/Workspaces").status_code == 200
            assert other.get("/emulator/faults").json()["faults"] == []

    def test_control_endpoints_are_never_faulted(self, raw: httpx.Client) -> None:
        add_fault(raw, Status="500")
        assert raw.get("/emulator/faults").status_code == 200
        assert raw.get("/emulator/snapshot").status_code == 200
        assert raw.get("/v1/Workspaces").status_code == 500


class TestLatency:
    def test_latency_delays_the_answer(self, raw: httpx.Client) -> None:
        add_fault(raw, Operation="ListWorkspace", Latency="300")
        started = time.monotonic()
        response = raw.get("/v1/Workspaces")
        assert response.status_code == 200
        assert time.monotonic() - started >= 0.3

    def test_latency_and_an_error_together(self, raw: httpx.Client) -> None:
        add_fault(raw, Operation="CreateWorkspace", Latency="200", Status="500", Count="1")
        started = time.monotonic()
        response = raw.post("/v1/Workspaces", data={"FriendlyName": "Slow"})
        assert response.status_code == 500
        assert time.monotonic() - started >= 0.2
        assert raw.get("/v1/Workspaces").json()["workspaces"] == []


class TestManagement:
    def test_delete_one_and_all(self, raw: httpx.Client) -> None:
        first = add_fault(raw, Operation="ListWorkspace", Status="500")
        add_fault(raw, Operation="CreateWorkspace", Status="500")
        assert raw.delete(f"/emulator/faults/{first['id']}").status_code == 204
        assert [f["operation"] for f in raw.get("/emulator/faults").json()["faults"]] == [
            "CreateWorkspace"
        ]
        assert raw.get("/v1/Workspaces").status_code == 200
        assert raw.delete(f"/emulator/faults/{first['id']}").status_code == 404
        assert raw.delete("/emulator/faults/not-a-number").json()["code"] == 20404
        assert raw.delete("/emulator/faults").status_code == 204
        assert raw.get("/emulator/faults").json()["faults"] == []
        assert raw.post("/v1/Workspaces", data={"FriendlyName": "Ok"}).status_code == 201

    def test_reset_clears_faults(self, raw: httpx.Client) -> None:
        assert raw.get("/v1/Workspaces").status_code == 200
        add_fault(raw, Status="500")
        # Applies at once, and stops applying at once (the server may remember who has faults).
        assert raw.get("/v1/Workspaces").status_code == 500
        assert raw.post("/emulator/reset").status_code == 200
        assert raw.get("/emulator/faults").json()["faults"] == []
        assert raw.get("/v1/Workspaces").status_code == 200

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"Operation": "MakeCoffee", "Status": "500"}, "Operation 'MakeCoffee'"),
            ({"Operation": "ListWorkspace"}, "needs a Status"),
            ({"Status": "200"}, "between 400 and 599"),
            ({"Status": "500", "Probability": "0"}, "Probability"),
            ({"Status": "500", "Probability": "1.5"}, "Probability"),
            ({"Status": "500", "Count": "0"}, "Count"),
            ({"Status": "500", "Method": "PUT"}, "Method"),
            ({"Status": "500", "Path": "v1/*"}, "Path"),
            ({"Latency": "-1"}, "Latency must be between"),
            ({"Latency": "600000"}, "Latency"),
            ({"Code": "20429", "Latency": "5"}, "Code needs a Status"),
            ({"Status": "lots"}, "Status"),
        ],
    )
    def test_bad_fault_is_400_and_not_stored(
        self, raw: httpx.Client, params: dict[str, str], expected: str
    ) -> None:
        response = raw.post("/emulator/faults", data=params)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == 20001
        assert expected in response.json()["message"]
        assert raw.get("/emulator/faults").json()["faults"] == []

    def test_requires_credentials(self, fault_server: LiveServer) -> None:
        assert httpx.get(f"{fault_server.url}/emulator/faults").status_code == 401
        assert httpx.post(f"{fault_server.url}/emulator/faults", data={"Status": "500"}).status_code == 401


class TestConcurrency:
    def test_a_count_is_spent_exactly_once_under_concurrency(
        self, raw: httpx.Client, fault_server: LiveServer, account: Account
    ) -> None:
        add_fault(raw, Operation="ListWorkspace", Status="503", Count="5")

        def call(_: int) -> int:
            with raw_client(fault_server, account) as own:
                return own.get("/v1/Workspaces").status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(call, range(24)))
        assert statuses.count(503) == 5
        assert statuses.count(200) == 19
        assert raw.get("/emulator/faults").json()["faults"][0]["hits"] == 5
