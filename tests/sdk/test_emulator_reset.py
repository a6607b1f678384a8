"""POST /emulator/reset: the caller's account, one workspace, or (strict mode) the whole server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.conftest import Account, LiveServer
from tests.sdk.routing_helpers import Setup, make_setup, single_queue
from tests.sdk.server_helpers import own_server

# Nothing listens on port 9 of the loopback: event callbacks stay queued and retried.
DEAD_URL = "http://127.0.0.1:9/events"


def snapshot_tables(http: httpx.Client, **params: str) -> dict[str, list[dict[str, Any]]]:
    response = http.get("/emulator/snapshot", params=params)
    assert response.status_code == 200, response.text
    tables: dict[str, list[dict[str, Any]]] = response.json()["tables"]
    return tables


def stable(tables: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The state minus the delivery attempts, which the background sender keeps updating."""
    kept: dict[str, Any] = {k: v for k, v in tables.items() if k != "webhook_delivery"}
    kept["webhook_delivery"] = sorted(str(row["event_sid"]) for row in tables["webhook_delivery"])
    return kept


def busy_workspace(client: Client, http: httpx.Client) -> Setup:
    """A workspace with a pending reservation (a due timer), events and queued callbacks."""
    setup = make_setup(client, http, event_callback_url=DEAD_URL)
    _, workflow = single_queue(setup)
    worker = setup.worker("Alice")
    task = setup.task({"type": "support"}, workflow_sid=workflow.sid)
    assert setup.reservations(task.sid, "pending")
    assert setup.pending_for(worker.sid)
    return setup


class TestResetAccount:
    def test_clears_workspaces_events_timers_and_deliveries(
        self, client: Client, http: httpx.Client, live_server: LiveServer
    ) -> None:
        busy_workspace(client, http)
        busy_workspace(client, http)
        before = snapshot_tables(http)
        assert before["reservation"][0]["timeout_at"]
        assert before["event"]
        assert before["webhook_delivery"]

        response = http.post("/emulator/reset")

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["workspace_sid"] is None
        assert body["deleted"]["workspace"] == 2
        assert body["deleted"]["reservation"] == 2
        assert body["deleted"]["event"] >= len(before["event"])
        assert client.taskrouter.v1.workspaces.list() == []
        assert all(rows == [] for rows in snapshot_tables(http).values())
        assert http.get("/emulator/webhooks").json()["webhooks"] == []
        # The reservation timers went with their rows: moving time fires nothing and breaks nothing.
        assert http.post("/emulator/clock", data={"Advance": "300"}).status_code == 200
        assert all(rows == [] for rows in snapshot_tables(http).values())

    def test_leaves_other_accounts_alone(
        self, client: Client, http: httpx.Client, live_server: LiveServer
    ) -> None:
        other = Account(sid="AC" + "e" * 31 + "1", token="other-token")
        other_client = Client(other.sid, other.token)
        other_client.taskrouter.base_url = live_server.url
        with httpx.Client(base_url=live_server.url, auth=(other.sid, other.token)) as other_http:
            other_http.post("/emulator/reset")
            kept = busy_workspace(other_client, other_http)
            busy_workspace(client, http)
            before = snapshot_tables(other_http)

            assert http.post("/emulator/reset").status_code == 200

            assert stable(snapshot_tables(other_http)) == stable(before)
            assert other_client.taskrouter.v1.workspaces(kept.ws.sid).fetch().sid == kept.ws.sid
            other_http.post("/emulator/reset")

    def test_the_account_can_be_used_right_after(
        self, client: Client, http: httpx.Client, account: Account
    ) -> None:
        busy_workspace(client, http)
        http.post("/emulator/reset")
        again = busy_workspace(client, http)
        assert [w.sid for w in client.taskrouter.v1.workspaces.list()] == [again.ws.sid]


class TestResetWorkspace:
    def test_clears_only_that_workspace(self, client: Client, http: httpx.Client) -> None:
        gone = busy_workspace(client, http)
        kept = busy_workspace(client, http)
        kept_state = snapshot_tables(http, WorkspaceSid=kept.ws.sid)

        response = http.post("/emulator/reset", data={"WorkspaceSid": gone.ws.sid})

        assert response.status_code == 200, response.text
        assert response.json()["workspace_sid"] == gone.ws.sid
        with pytest.raises(TwilioRestException) as caught:
            client.taskrouter.v1.workspaces(gone.ws.sid).fetch()
        assert caught.value.status == 404
        assert stable(snapshot_tables(http, WorkspaceSid=kept.ws.sid)) == stable(kept_state)
        everything = snapshot_tables(http)
        assert {row["workspace_sid"] for row in everything["event"]} == {kept.ws.sid}
        assert {row["workspace_sid"] for row in everything["webhook_delivery"]} == {kept.ws.sid}
        journal = http.get("/emulator/webhooks", params={"WorkspaceSid": gone.ws.sid}).json()
        assert journal["webhooks"] == []

    @pytest.mark.parametrize("sid", ["WS" + "0" * 32, "nonsense"])
    def test_unknown_workspace_is_404_and_changes_nothing(
        self, client: Client, http: httpx.Client, sid: str
    ) -> None:
        busy_workspace(client, http)
        before = snapshot_tables(http)
        response = http.post("/emulator/reset", data={"WorkspaceSid": sid})
        assert response.status_code == 404
        assert response.json()["code"] == 20404
        assert stable(snapshot_tables(http)) == stable(before)

    def test_another_accounts_workspace_is_404(
        self, client: Client, http: httpx.Client, live_server: LiveServer
    ) -> None:
        setup = busy_workspace(client, http)
        stranger = httpx.post(
            f"{live_server.url}/emulator/reset",
            data={"WorkspaceSid": setup.ws.sid},
            auth=("AC" + "d" * 32, "stranger"),
        )
        assert stranger.status_code == 404
        assert client.taskrouter.v1.workspaces(setup.ws.sid).fetch().sid == setup.ws.sid


class TestAccess:
    def test_requires_credentials(self, live_server: LiveServer) -> None:
        response = httpx.post(f"{live_server.url}/emulator/reset")
        assert response.status_code == 401
        assert response.json()["code"] == 20003

    def test_server_wide_reset_needs_strict_mode(self, client: Client, http: httpx.Client) -> None:
        busy_workspace(client, http)
        before = snapshot_tables(http)
        response = http.post("/emulator/reset", data={"All": "true"})
        assert response.status_code == 403
        assert response.json()["code"] == 20403
        assert "TASKROUTER_AUTH_TOKEN" in response.json()["message"]
        assert stable(snapshot_tables(http)) == stable(before)

    def test_control_endpoints_are_in_the_openapi_document(self, live_server: LiveServer) -> None:
        paths = httpx.get(f"{live_server.url}/emulator/openapi.json").json()["paths"]
        assert "post" in paths["/emulator/reset"]
        assert {"get", "post"} <= set(paths["/emulator/snapshot"])
        assert "post" in paths["/emulator/seed"]
        assert {"get", "post", "delete"} <= set(paths["/emulator/faults"])
        assert "delete" in paths["/emulator/faults/{fault_id}"]


@pytest.fixture
def strict_server(tmp_path: Path) -> Iterator[LiveServer]:
    with own_server(tmp_path, account_sid="AC" + "5" * 32, auth_token="strict-secret") as live:
        yield live


class TestServerWideReset:
    def test_strict_credentials_reset_every_account(self, strict_server: LiveServer) -> None:
        auth = ("AC" + "5" * 32, "strict-secret")
        with httpx.Client(base_url=strict_server.url, auth=auth) as http:
            created = http.post("/v1/Workspaces", data={"FriendlyName": "One"})
            assert created.status_code == 201
            http.post("/emulator/faults", data={"Operation": "ListWorkspace", "Latency": "1"})
            response = http.post("/emulator/reset", data={"All": "true"})
            assert response.status_code == 200, response.text
            assert response.json()["account_sid"] is None
            assert response.json()["deleted"]["workspace"] == 1
            assert response.json()["deleted"]["emulator_fault"] == 1
            assert http.get("/v1/Workspaces").json()["workspaces"] == []
            assert http.get("/emulator/faults").json()["faults"] == []
            assert json.loads(http.get("/emulator/snapshot").text)["tables"]["event"] == []
