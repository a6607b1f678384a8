"""TASKROUTER_STRICT_LIMITS=true: Twilio's documented limits with Twilio's error answers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from taskrouter_emulator.task_queues import service as queue_service
from taskrouter_emulator.tasks import service as task_service
from taskrouter_emulator.workers import service as worker_service
from taskrouter_emulator.workflows import service as workflow_service
from tests.conftest import Account, LiveServer
from tests.sdk.server_helpers import own_server, raw_client, twilio_client


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with own_server(Path(tmp_path_factory.mktemp("strict")), strict_limits=True) as live:
        yield live


@pytest.fixture
def twilio(strict_server: LiveServer, account: Account) -> Client:
    return twilio_client(strict_server, account)


@pytest.fixture
def raw(strict_server: LiveServer, account: Account) -> Iterator[httpx.Client]:
    with raw_client(strict_server, account) as client:
        yield client


def until_limited(send: Callable[[], httpx.Response], attempts: int = 40) -> list[int]:
    """Send requests back to back until one is refused; return the statuses seen."""
    statuses = []
    for _ in range(attempts):
        response = send()
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.json() == {
                "code": 20429,
                "message": response.json()["message"],
                "more_info": "https://www.twilio.com/docs/errors/20429",
                "status": 429,
            }
            assert "Too Many Requests" in response.json()["message"]
            break
    return statuses


def workspace(raw: httpx.Client) -> str:
    response = raw.post("/v1/Workspaces", data={"FriendlyName": "Strict"})
    assert response.status_code == 201
    sid: str = response.json()["sid"]
    return sid


class TestRequestRates:
    @pytest.mark.parametrize(
        ("segment", "parameter", "value"),
        [
            ("Workers", "TargetWorkersExpression", "1==1"),
            ("Tasks", "EvaluateTaskAttributes", "1==1"),
            ("TaskQueues", "EvaluateWorkerAttributes", "{}"),
        ],
    )
    def test_expression_lists_allow_three_per_second(
        self, raw: httpx.Client, segment: str, parameter: str, value: str
    ) -> None:
        ws = workspace(raw)
        statuses = until_limited(
            lambda: raw.get(f"/v1/Workspaces/{ws}/{segment}", params={parameter: value})
        )
        assert statuses[:3] == [200, 200, 200]
        assert statuses[-1] == 429
        # The same list without the expression filter is not limited.
        assert all(
            raw.get(f"/v1/Workspaces/{ws}/{segment}").status_code == 200 for _ in range(8)
        )

    def test_each_workspace_has_its_own_budget(self, raw: httpx.Client) -> None:
        first, second = workspace(raw), workspace(raw)
        query = {"TargetWorkersExpression": "1==1"}
        assert until_limited(lambda: raw.get(f"/v1/Workspaces/{first}/Workers", params=query))[-1] == 429
        assert raw.get(f"/v1/Workspaces/{second}/Workers", params=query).status_code == 200

    def test_bulk_queue_statistics_allow_five_per_second(self, raw: httpx.Client) -> None:
        ws = workspace(raw)
        queue = raw.post(f"/v1/Workspaces/{ws}/TaskQueues", data={"FriendlyName": "Q"}).json()
        statuses = until_limited(
            lambda: raw.post(
                f"/v1/Workspaces/{ws}/TaskQueues/RealTimeStatistics",
                data={"QueueSids": queue["sid"]},
            )
        )
        assert statuses[:5] == [200] * 5
        assert statuses[-1] == 429

    def test_the_helper_library_sees_twilios_error(self, twilio: Client, raw: httpx.Client) -> None:
        ws = workspace(raw)
        until_limited(
            lambda: raw.get(
                f"/v1/Workspaces/{ws}/Workers", params={"TargetWorkersExpression": "1==1"}
            )
        )
        with pytest.raises(TwilioException) as caught:
            twilio.taskrouter.v1.workspaces(ws).workers.list(target_workers_expression="1==1")
        assert '"code": 20429' in str(caught.value)

    def test_rates_are_not_limited_without_strict_mode(self, http: httpx.Client) -> None:
        ws = workspace(http)
        statuses = {
            http.get(
                f"/v1/Workspaces/{ws}/Workers", params={"TargetWorkersExpression": "1==1"}
            ).status_code
            for _ in range(12)
        }
        assert statuses == {200}


class TestCounts:
    def test_tasks_per_workspace(
        self, twilio: Client, raw: httpx.Client, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # 500,000 tasks is too many to create in a test: lower the figure the check uses.
        monkeypatch.setattr(task_service, "MAX_TASKS_PER_WORKSPACE", 2)
        ws = twilio.taskrouter.v1.workspaces.create(friendly_name="Tasks", template="FIFO")
        api = twilio.taskrouter.v1.workspaces(ws.sid)
        workflow = api.workflows.list()[0]
        for _ in range(2):
            api.tasks.create(attributes="{}", workflow_sid=workflow.sid)
        with pytest.raises(TwilioRestException) as caught:
            api.tasks.create(attributes="{}", workflow_sid=workflow.sid)
        assert (caught.value.status, caught.value.code) == (400, 20001)
        assert "at most 2 Tasks" in caught.value.msg
        assert len(api.tasks.list()) == 2

    def test_tasks_are_not_counted_without_strict_mode(
        self, client: Client, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(task_service, "MAX_TASKS_PER_WORKSPACE", 1)
        ws = client.taskrouter.v1.workspaces.create(friendly_name="Loose", template="FIFO")
        api = client.taskrouter.v1.workspaces(ws.sid)
        workflow = api.workflows.list()[0]
        for _ in range(3):
            api.tasks.create(attributes="{}", workflow_sid=workflow.sid)
        assert len(api.tasks.list()) == 3

    def test_task_channels_per_workspace(self, twilio: Client) -> None:
        ws = twilio.taskrouter.v1.workspaces.create(friendly_name="Channels")
        api = twilio.taskrouter.v1.workspaces(ws.sid)
        for n in range(10):  # 5 default channels + 10 = 15, Twilio's limit
            api.task_channels.create(friendly_name=f"C{n}", unique_name=f"c{n}")
        with pytest.raises(TwilioRestException) as caught:
            api.task_channels.create(friendly_name="C15", unique_name="c15")
        assert (caught.value.status, caught.value.code) == (400, 20001)
        assert len(api.task_channels.list()) == 15

    def test_activities_per_workspace(self, twilio: Client) -> None:
        ws = twilio.taskrouter.v1.workspaces.create(friendly_name="Activities")
        api = twilio.taskrouter.v1.workspaces(ws.sid)
        for n in range(97):  # 3 default activities + 97 = 100, Twilio's limit
            api.activities.create(friendly_name=f"A{n}")
        with pytest.raises(TwilioRestException) as caught:
            api.activities.create(friendly_name="A100")
        assert (caught.value.status, caught.value.code) == (400, 20001)

    @pytest.mark.parametrize(
        ("module", "constant", "create"),
        [
            (worker_service, "MAX_WORKERS", "workers"),
            (queue_service, "MAX_QUEUES", "task_queues"),
            (workflow_service, "MAX_WORKFLOWS", "workflows"),
        ],
    )
    def test_large_counts_use_twilios_answer(
        self,
        twilio: Client,
        monkeypatch: pytest.MonkeyPatch,
        module: object,
        constant: str,
        create: str,
    ) -> None:
        # 15,000 workers, 5,000 queues and 1,000 workflows take too long to create in a test.
        monkeypatch.setattr(module, constant, 2)
        ws = twilio.taskrouter.v1.workspaces.create(friendly_name="Counts")
        api = twilio.taskrouter.v1.workspaces(ws.sid)
        queue = api.task_queues.create(friendly_name="Q0") if create == "workflows" else None

        def make(n: int) -> object:
            if create == "workers":
                return api.workers.create(friendly_name=f"W{n}")
            if create == "task_queues":
                return api.task_queues.create(friendly_name=f"Q{n + 1}")
            assert queue is not None
            configuration = json.dumps({"task_routing": {"default_filter": {"queue": queue.sid}}})
            return api.workflows.create(friendly_name=f"F{n}", configuration=configuration)

        made = 0
        while made < 2:
            make(made)
            made += 1
        with pytest.raises(TwilioRestException) as caught:
            make(made)
        assert (caught.value.status, caught.value.code) == (400, 20001)
        assert "at most 2" in caught.value.msg


class TestSizes:
    def test_attributes_and_capacity(self, twilio: Client) -> None:
        ws = twilio.taskrouter.v1.workspaces.create(friendly_name="Sizes", template="FIFO")
        api = twilio.taskrouter.v1.workspaces(ws.sid)
        # 4,096 characters, whitespace included, is the most a worker's attributes may hold.
        fits = json.dumps({"notes": "x" * (4096 - len('{"notes": ""}'))})
        assert len(fits) == 4096
        worker = api.workers.create(friendly_name="Big", attributes=fits)
        with pytest.raises(TwilioRestException) as caught:
            api.workers.create(friendly_name="Bigger", attributes=fits[:-2] + ' "}')
        assert (caught.value.status, caught.value.code) == (400, 20001)
        workflow = api.workflows.list()[0]
        with pytest.raises(TwilioRestException) as caught:
            api.tasks.create(attributes=fits[:-2] + ' "}', workflow_sid=workflow.sid)
        assert caught.value.status == 400
        channel = api.workers(worker.sid).worker_channels("chat")
        assert channel.update(capacity=50).configured_capacity == 50
        with pytest.raises(TwilioRestException) as caught:
            channel.update(capacity=51)
        assert (caught.value.status, caught.value.code) == (400, 20001)
        with pytest.raises(TwilioRestException):
            api.task_queues.create(friendly_name="Wide", max_reserved_workers=51)
