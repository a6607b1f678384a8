"""GET/POST /emulator/snapshot and `taskrouter-emulator snapshot export|import`."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from twilio.rest import Client

from taskrouter_emulator.emulator_tools import state
from taskrouter_emulator.models import Base
from tests.conftest import Account, LiveServer
from tests.sdk.routing_helpers import Setup, make_setup, single_queue
from tests.sdk.test_emulator_reset import busy_workspace, snapshot_tables, stable


def export(http: httpx.Client, **params: str) -> dict[str, Any]:
    response = http.get("/emulator/snapshot", params=params)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def import_(http: httpx.Client, document: Any) -> httpx.Response:
    return http.post(
        "/emulator/snapshot",
        content=json.dumps(document),
        headers={"Content-Type": "application/json"},
    )


def quiet_workspace(client: Client, http: httpx.Client) -> tuple[Setup, Any, Any]:
    """A workspace without callbacks (so its state is stable) holding a pending reservation."""
    setup = make_setup(client, http)
    _, workflow = single_queue(setup)
    worker = setup.worker("Alice", {"skills": ["en"]})
    task = setup.task({"type": "support"}, workflow_sid=workflow.sid)
    return setup, worker, task


class TestRoundTrip:
    def test_reset_then_import_restores_sids_dates_timers_and_events(
        self, client: Client, http: httpx.Client
    ) -> None:
        setup, worker, task = quiet_workspace(client, http)
        reservation = setup.reservations(task.sid, "pending")[0]
        events_before = [(e.sid, e.event_type, e.event_date) for e in setup.events()]
        document = export(http)
        assert document["format"] == "taskrouter-emulator-snapshot"
        assert document["scope"] == "account"

        http.post("/emulator/reset")
        response = import_(http, document)

        assert response.status_code == 200, response.text
        assert response.json()["imported"]["reservation"] == 1
        assert export(http)["tables"] == document["tables"]
        fetched = setup.api.tasks(task.sid).fetch()
        assert (fetched.sid, fetched.date_created, fetched.assignment_status) == (
            task.sid,
            task.date_created,
            "reserved",
        )
        assert [(e.sid, e.event_type, e.event_date) for e in setup.events()] == events_before
        # The reservation's due time came back with its row: the timeout still fires.
        setup.advance(121)
        timed_out = setup.api.tasks(task.sid).reservations(reservation.sid).fetch()
        assert timed_out.reservation_status == "timeout"
        assert setup.api.workers(worker.sid).fetch().activity_name == "Offline"

    def test_import_into_another_account_moves_the_state(
        self, client: Client, http: httpx.Client, live_server: LiveServer
    ) -> None:
        setup, _, task = quiet_workspace(client, http)
        document = export(http)
        http.post("/emulator/reset")
        other = Account(sid="AC" + "c" * 31 + "2", token="copy-token")
        with httpx.Client(base_url=live_server.url, auth=(other.sid, other.token)) as other_http:
            other_http.post("/emulator/reset")
            response = import_(other_http, document)
            assert response.status_code == 200, response.text
            assert response.json()["account_sid"] == other.sid
            other_client = Client(other.sid, other.token)
            other_client.taskrouter.base_url = live_server.url
            moved = other_client.taskrouter.v1.workspaces(setup.ws.sid).tasks(task.sid).fetch()
            assert moved.account_sid == other.sid
            assert client.taskrouter.v1.workspaces.list() == []
            other_http.post("/emulator/reset")

    def test_workspace_snapshot_replaces_only_that_workspace(
        self, client: Client, http: httpx.Client
    ) -> None:
        setup, _, _ = quiet_workspace(client, http)
        other, _, _ = quiet_workspace(client, http)
        document = export(http, WorkspaceSid=setup.ws.sid)
        assert document["scope"] == "workspace"
        assert {r["workspace_sid"] for r in document["tables"]["event"]} == {setup.ws.sid}
        other_state = export(http, WorkspaceSid=other.ws.sid)["tables"]
        extra = setup.worker("Bob")

        response = import_(http, document)

        assert response.status_code == 200, response.text
        names = [w.friendly_name for w in setup.api.workers.list()]
        assert names == ["Alice"]
        assert extra.sid not in json.dumps(export(http)["tables"])
        assert export(http, WorkspaceSid=other.ws.sid)["tables"] == other_state

    def test_deleted_workspace_events_stay_in_an_account_snapshot(
        self, client: Client, http: httpx.Client
    ) -> None:
        setup, _, _ = quiet_workspace(client, http)
        gone = client.taskrouter.v1.workspaces.create(friendly_name="Gone")
        client.taskrouter.v1.workspaces(gone.sid).delete()
        document = export(http)
        deleted = [r for r in document["tables"]["event"] if r["workspace_sid"] == gone.sid]
        assert [r["event_type"] for r in deleted] == ["workspace.deleted"]
        http.post("/emulator/reset")
        assert import_(http, document).status_code == 200
        assert export(http)["tables"] == document["tables"]
        assert setup.api.fetch().sid == setup.ws.sid


def _break(document: dict[str, Any], change: str) -> Any:
    broken = copy.deepcopy(document)
    tables = broken["tables"]
    if change == "not-an-object":
        return [broken]
    if change == "format":
        broken["format"] = "something-else"
    elif change == "unknown-table":
        tables["gizmo"] = []
    elif change == "unknown-column":
        tables["worker"][0]["shoe_size"] = 42
    elif change == "bad-date":
        tables["task"][0]["date_created"] = "yesterday"
    elif change == "wrong-type":
        tables["task"][0]["priority"] = "high"
    elif change == "missing-column":
        del tables["activity"][0]["friendly_name"]
    elif change == "null":
        tables["worker"][0]["attributes"] = None
    elif change == "too-long":
        tables["activity"][0]["friendly_name"] = "x" * 65
    elif change == "dangling-reference":
        tables["worker"][0]["activity_sid"] = "WA" + "0" * 32
    elif change == "duplicate-name":
        tables["worker"].append({**tables["worker"][0], "sid": "WK" + "1" * 32})
    elif change == "foreign-workspace":
        tables["task_queue"][0]["workspace_sid"] = "WS" + "0" * 32
    elif change == "bad-workspace-sid":
        tables["workspace"][0]["sid"] = "nonsense"
    return broken


class TestValidation:
    @pytest.mark.parametrize(
        ("change", "expected"),
        [
            ("not-an-object", "must be a JSON object"),
            ("format", "format"),
            ("unknown-table", "tables.gizmo"),
            ("unknown-column", "tables.worker[0].shoe_size"),
            ("bad-date", "tables.task[0].date_created"),
            ("wrong-type", "tables.task[0].priority"),
            ("missing-column", "tables.activity[0].friendly_name: is required"),
            ("null", "tables.worker[0].attributes: must not be null"),
            ("too-long", "longer than 64"),
            ("dangling-reference", "refer to missing rows"),
            ("duplicate-name", "repeat a unique value"),
            ("foreign-workspace", "tables.task_queue[0].workspace_sid"),
            ("bad-workspace-sid", "not a Workspace SID"),
        ],
    )
    def test_bad_document_is_400_and_changes_nothing(
        self, client: Client, http: httpx.Client, change: str, expected: str
    ) -> None:
        quiet_workspace(client, http)
        document = export(http)
        response = import_(http, _break(document, change))
        assert response.status_code == 400, response.text
        assert response.json()["code"] == 20001
        assert expected in response.json()["message"]
        assert export(http)["tables"] == document["tables"]

    def test_invalid_json_names_the_line(self, http: httpx.Client) -> None:
        response = http.post("/emulator/snapshot", content=b'{\n "format": }')
        assert response.status_code == 400
        assert "line 2" in response.json()["message"]
        assert http.post("/emulator/snapshot", content=b"").status_code == 400

    def test_sids_of_another_account_are_a_conflict(
        self, client: Client, http: httpx.Client, live_server: LiveServer
    ) -> None:
        quiet_workspace(client, http)
        document = export(http)
        with httpx.Client(base_url=live_server.url, auth=("AC" + "f" * 32, "t")) as other:
            response = import_(other, document)
            assert response.status_code == 409
            assert response.json()["code"] == 20409
            assert export(other)["tables"]["workspace"] == []
        assert export(http)["tables"] == document["tables"]


class TestTables:
    def test_every_model_table_is_state_or_named_as_not_state(self) -> None:
        names = {table.name for table in state.state_tables()}
        assert names | set(state.NOT_STATE) == set(Base.metadata.tables)
        assert not names & set(state.NOT_STATE)

    def test_every_column_but_the_id_is_exported(self, client: Client, http: httpx.Client) -> None:
        busy_workspace(client, http)
        tables = snapshot_tables(http)
        for table in state.state_tables():
            unsaved = {column for name, column in state.NOT_SAVED if name == table.name}
            expected = {c.name for c in table.columns} - {"id"} - unsaved
            if tables[table.name]:
                assert set(tables[table.name][0]) == expected, table.name
        assert stable(tables)["workspace"]


def _cli(database_url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "taskrouter_emulator", "snapshot", *args, "--database-url", database_url],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        env={**os.environ, "TASKROUTER_ACCOUNT_SID": "AC" + "0" * 32},
        check=False,
    )


class TestCommandLine:
    def test_export_and_import_files(
        self, client: Client, http: httpx.Client, account: Account, live_server: LiveServer,
        tmp_path: Path,
    ) -> None:
        setup, _, task = quiet_workspace(client, http)
        url = live_server.settings.database_url
        out = tmp_path / "state.json"

        exported = _cli(url, "export", str(out), "--account-sid", account.sid)

        assert exported.returncode == 0, exported.stderr
        document = json.loads(out.read_text())
        assert document["tables"] == export(http)["tables"]
        http.post("/emulator/reset")
        imported = _cli(url, "import", str(out))
        assert imported.returncode == 0, imported.stderr
        assert setup.api.tasks(task.sid).fetch().assignment_status == "reserved"
        assert export(http)["tables"] == document["tables"]

        one = _cli(url, "export", "--account-sid", account.sid, "--workspace-sid", setup.ws.sid)
        assert json.loads(one.stdout)["scope"] == "workspace"

    def test_bad_input_exits_2_with_the_reason(
        self, live_server: LiveServer, tmp_path: Path
    ) -> None:
        url = live_server.settings.database_url
        bad = tmp_path / "bad.json"
        bad.write_text('{"format": "nope"}')
        result = _cli(url, "import", str(bad), "--account-sid", "AC" + "7" * 32)
        assert result.returncode == 2
        assert "Invalid snapshot" in result.stderr
        missing = _cli(url, "export", "--account-sid", "AC" + "7" * 32, "--workspace-sid", "WS" + "0" * 32)
        assert missing.returncode == 2
        assert "not found" in missing.stderr


class TestIndexes:
    def test_reset_and_snapshots_never_scan_a_table(self) -> None:
        # Every state table is reached through an index led by workspace_sid, account_sid or sid.
        for table in state.state_tables():
            leading = {next(iter(index.columns)).name for index in table.indexes}
            leading |= {
                next(iter(c.columns)).name
                for c in table.constraints
                if hasattr(c, "columns") and len(c.columns)
            }
            assert leading & {"workspace_sid", "account_sid"}, table.name
