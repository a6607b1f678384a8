"""Two server processes on one PostgreSQL database behave as one TaskRouter (bounded proof)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx
import pytest
from sqlalchemy.engine import make_url

from taskrouter_emulator.testing import postgres_database
from tests.resilience.pgcluster import throwaway_cluster
from tests.resilience.processes import server_process
from tests.resilience.proof import run_proof


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The suite's PostgreSQL server if it runs on one, else a throw-away cluster of its own."""
    configured = os.environ.get("TASKROUTER_TEST_DATABASE_URL")
    if configured and make_url(configured).get_backend_name() == "postgresql":
        with postgres_database(configured) as url:
            yield url
        return
    with throwaway_cluster() as cluster, postgres_database(cluster.url) as url:
        yield url


@contextmanager
def clients_of_two_processes(
    postgres_url: str, token: str
) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """Start two server processes on the database; yield a client of each, with a new account."""
    auth = (f"AC{uuid.uuid4().hex}", token)
    with ExitStack() as stack:
        first, second = (stack.enter_context(server_process(postgres_url)) for _ in range(2))
        yield (
            stack.enter_context(httpx.Client(base_url=first, auth=auth, timeout=60)),
            stack.enter_context(httpx.Client(base_url=second, auth=auth, timeout=60)),
        )


def test_two_processes_never_double_assign_or_overfill(postgres_url: str) -> None:
    outcome = run_proof(postgres_url, processes=2, workers=20, tasks=120, clients=8)
    assert not outcome.violations, outcome.violations[:10]
    assert outcome.accepted > 0
    # Races lose with Twilio's 4xx answers, never with a server error.
    assert all(status < 500 for status in outcome.requests), outcome.requests


def test_a_write_through_one_process_is_read_at_once_through_the_other(postgres_url: str) -> None:
    # Each process keeps the answers of repeated GETs (api/read_cache.py); a write committed by the
    # other process must still show in the very next read.
    with clients_of_two_processes(postgres_url, "token") as (writer, reader):
        workspace = writer.post("/v1/Workspaces", data={"FriendlyName": "Two"}).json()
        workers = f"/v1/Workspaces/{workspace['sid']}/Workers"
        worker = writer.post(workers, data={"FriendlyName": "w0"}).json()
        for round_number in range(1, 21):
            assert reader.get(f"{workers}/{worker['sid']}").status_code == 200
            assert reader.get(workers).status_code == 200
            name = f"w{round_number}"
            assert writer.post(f"{workers}/{worker['sid']}", data={"FriendlyName": name}).is_success
            assert reader.get(f"{workers}/{worker['sid']}").json()["friendly_name"] == name
            assert [w["friendly_name"] for w in reader.get(workers).json()["workers"]] == [name]


def test_configuration_changed_through_one_process_routes_in_the_other(postgres_url: str) -> None:
    """Each process caches the routing configuration per workspace version (`routing.cache`): a
    change committed by one process must be what the other routes by on its next request."""
    with clients_of_two_processes(postgres_url, "cache-token") as (one, two):
        ws = one.post("/v1/Workspaces", data={"FriendlyName": "Cache"}).json()["sid"]
        api = f"/v1/Workspaces/{ws}"
        activities = {
            a["friendly_name"]: a["sid"] for a in one.get(f"{api}/Activities").json()["activities"]
        }
        queues = [
            one.post(
                f"{api}/TaskQueues", data={"FriendlyName": f"Q{n}", "TargetWorkers": f"skill == {n}"}
            ).json()["sid"]
            for n in (1, 2)
        ]
        for n in (1, 1, 2, 2):
            one.post(
                f"{api}/Workers",
                data={
                    "FriendlyName": f"W{uuid.uuid4().hex[:8]}",
                    "Attributes": json.dumps({"skill": n}),
                    "ActivitySid": activities["Available"],
                },
            ).raise_for_status()

        def to_queue(queue_sid: str) -> str:
            return json.dumps({"task_routing": {"default_filter": {"queue": queue_sid}}})

        workflow = one.post(
            f"{api}/Workflows", data={"FriendlyName": "W", "Configuration": to_queue(queues[0])}
        ).json()["sid"]

        def create(**data: str) -> dict[str, object]:
            response = two.post(f"{api}/Tasks", data={"Attributes": "{}", **data})
            assert response.status_code == 201, response.text
            body: dict[str, object] = response.json()
            return body

        # The second process routes (and caches) the configuration as it is.
        assert create()["task_queue_sid"] == queues[0]
        # The workflow changes through the first process: the second routes by the new one.
        one.post(f"{api}/Workflows/{workflow}", data={"Configuration": to_queue(queues[1])})
        task = create()
        assert (task["task_queue_sid"], task["assignment_status"]) == (queues[1], "reserved")
        # So does a queue's expression: nobody matches skill 3, the task waits.
        one.post(f"{api}/TaskQueues/{queues[1]}", data={"TargetWorkers": "skill == 3"})
        task = create()
        assert (task["task_queue_sid"], task["assignment_status"]) == (queues[1], "pending")
        # And a task channel created through the first process is known to the second.
        one.post(f"{api}/TaskChannels", data={"FriendlyName": "SMS", "UniqueName": "sms"})
        assert create(TaskChannel="sms")["task_channel_unique_name"] == "sms"


def test_a_fault_added_through_one_process_applies_at_once_in_the_other(postgres_url: str) -> None:
    """Each process knows the accounts with faults as of each data version it reads
    (`faults.presence`): a fault added or removed through one process counts in the other's very
    next request."""
    with clients_of_two_processes(postgres_url, "fault-token") as (one, two):
        for _ in range(3):
            assert two.get("/v1/Workspaces").status_code == 200
            added = one.post("/emulator/faults", data={"Operation": "ListWorkspace", "Status": "503"})
            assert added.status_code == 201, added.text
            refused = two.get("/v1/Workspaces")
            assert (refused.status_code, refused.json()["code"]) == (503, 20503)
            assert one.delete("/emulator/faults").status_code == 204
            assert two.get("/v1/Workspaces").status_code == 200
