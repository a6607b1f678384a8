"""POST /emulator/seed and `serve --seed FILE` with examples/contact-centre.yaml and broken files."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from twilio.rest import Client

from tests.conftest import Account, LiveServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "contact-centre.yaml"
WS_SID = "WS00000000000000000000000000000001"


def seed(http: httpx.Client, text: str, content_type: str = "application/yaml") -> httpx.Response:
    return http.post("/emulator/seed", content=text.encode(), headers={"Content-Type": content_type})


@pytest.fixture
def seeded_account(http: httpx.Client) -> Iterator[dict[str, Any]]:
    """Load the example (its fixed SIDs can live in one account at a time), reset afterwards."""
    response = seed(http, EXAMPLE.read_text())
    assert response.status_code == 200, response.text
    yield response.json()
    http.post("/emulator/reset")


class TestExample:
    def test_example_loads_with_its_fixed_sids(
        self, client: Client, seeded_account: dict[str, Any]
    ) -> None:
        assert seeded_account["created"] == {
            "workspaces": 1,
            "activities": 3,
            "task_channels": 1,
            "task_queues": 4,
            "workflows": 1,
            "workers": 3,
        }
        ws = client.taskrouter.v1.workspaces(WS_SID)
        assert ws.fetch().friendly_name == "Contact Centre"
        assert ws.fetch().default_activity_name == "Offline"
        assert {a.friendly_name for a in ws.activities.list()} == {
            "Offline", "Available", "Unavailable", "Busy", "Wrap Up", "Break",
        }
        assert "email" in {c.unique_name for c in ws.task_channels.list()}
        queues = {q.friendly_name: q for q in ws.task_queues.list()}
        assert queues["Sales"].sid == "WQ00000000000000000000000000000001"
        assert queues["Sales"].reservation_activity_name == "Busy"
        assert queues["VIP"].max_reserved_workers == 2
        workflow = ws.workflows("WW00000000000000000000000000000001").fetch()
        routing = json.loads(workflow.configuration)["task_routing"]
        assert routing["filters"][0]["targets"][0]["queue"] == queues["VIP"].sid
        assert routing["default_filter"]["queue"] == queues["Everyone"].sid
        assert workflow.task_reservation_timeout == 30
        alice = ws.workers("WK00000000000000000000000000000001").fetch()
        assert alice.activity_name == "Available"
        assert json.loads(alice.attributes)["skills"] == ["sales", "support"]
        chat = ws.workers(alice.sid).worker_channels("chat").fetch()
        assert chat.configured_capacity == 3
        carol = seeded_account["workspaces"][0]["workers"]["Carol"]
        assert ws.workers(carol).worker_channels("voice").fetch().available is False

    def test_seeded_workspace_routes_tasks(
        self, client: Client, seeded_account: dict[str, Any]
    ) -> None:
        ws = client.taskrouter.v1.workspaces(WS_SID)
        task = ws.tasks.create(
            attributes=json.dumps({"type": "sales"}),
            workflow_sid="WW00000000000000000000000000000001",
        )
        reservations = ws.tasks(task.sid).reservations.list()
        assert [r.worker_sid for r in reservations] == ["WK00000000000000000000000000000001"]

    def test_loading_twice_changes_nothing(
        self, http: httpx.Client, seeded_account: dict[str, Any]
    ) -> None:
        before = http.get("/emulator/snapshot").json()["tables"]
        again = seed(http, EXAMPLE.read_text())
        assert again.status_code == 200, again.text
        assert set(again.json()["created"].values()) == {0}
        assert again.json()["workspaces"][0]["created"] is False
        assert again.json()["workspaces"] == [
            {**w, "created": False} for w in seeded_account["workspaces"]
        ]
        assert http.get("/emulator/snapshot").json()["tables"] == before

    def test_fixed_sid_taken_by_another_account_is_a_conflict(
        self, live_server: LiveServer, seeded_account: dict[str, Any]
    ) -> None:
        with httpx.Client(base_url=live_server.url, auth=("AC" + "4" * 32, "t")) as other:
            response = seed(other, EXAMPLE.read_text())
            assert response.status_code == 409
            assert "workspaces[0].sid (line 7)" in response.json()["message"]
            assert other.get("/v1/Workspaces").json()["workspaces"] == []


MINIMAL = """
workspaces:
  - friendly_name: Mini
    task_queues:
      - friendly_name: All
    workflows:
      - friendly_name: Flow
        configuration:
          task_routing:
            default_filter: {queue: All}
    workers:
      - friendly_name: Ann
        activity: Available
"""


class TestFile:
    def test_json_works_too(self, client: Client, http: httpx.Client) -> None:
        document = {
            "workspaces": [
                {
                    "friendly_name": "From JSON",
                    "task_queues": [{"friendly_name": "Q"}],
                    "workers": [{"friendly_name": "W", "attributes": {"a": 1}}],
                }
            ]
        }
        response = seed(http, json.dumps(document, indent=2), "application/json")
        assert response.status_code == 200, response.text
        ws_sid = response.json()["workspaces"][0]["sid"]
        workers = client.taskrouter.v1.workspaces(ws_sid).workers.list()
        assert [(w.friendly_name, w.attributes, w.activity_name) for w in workers] == [
            ("W", '{"a": 1}', "Offline")
        ]

    def test_adding_to_the_file_creates_only_the_new_parts(
        self, client: Client, http: httpx.Client
    ) -> None:
        first = seed(http, MINIMAL).json()
        grown = MINIMAL + "      - friendly_name: Ben\n"
        second = seed(http, grown)
        assert second.status_code == 200, second.text
        assert second.json()["created"]["workers"] == 1
        assert second.json()["created"]["workspaces"] == 0
        ws_sid = first["workspaces"][0]["sid"]
        names = sorted(w.friendly_name for w in client.taskrouter.v1.workspaces(ws_sid).workers.list())
        assert names == ["Ann", "Ben"]

    @pytest.mark.parametrize(
        ("broken", "expected"),
        [
            (MINIMAL.replace("friendly_name: All", "friendly_nme: All"),
             "workspaces[0].task_queues[0].friendly_nme (line 5): unknown key"),
            (MINIMAL.replace("{queue: All}", "{queue: Missing}"),
             "task_routing.default_filter.queue (line 10): no TaskQueue named 'Missing'"),
            (MINIMAL.replace("activity: Available", "activity: Asleep"),
             "workspaces[0].workers[0].activity (line 13): no Activity named 'Asleep'"),
            (MINIMAL.replace("- friendly_name: All", "- friendly_name: All\n        target_workers: 'a =='"),
             "workspaces[0].task_queues[0] (line 5): Invalid TargetWorkers"),
            (MINIMAL.replace("friendly_name: Ann", "friendly_name: Ann\n        sid: WK123"),
             "workspaces[0].workers[0].sid (line 13): 'WK123' is not a WK SID"),
            (MINIMAL.replace("      - friendly_name: Flow\n", "      - friendly_name: Flow\n        task_reservation_timeout: soon\n"),
             "workspaces[0].workflows[0].task_reservation_timeout (line 8)"),
            (MINIMAL.replace("  - friendly_name: Mini", "  - friendly_name: Mini\n    colour: blue"),
             "workspaces[0].colour (line 4): unknown key"),
            ("workspaces:\n  - friendly_name: [unclosed\n", "line 3"),
            ("- just a list\n", "must be a mapping"),
            (MINIMAL.replace("friendly_name: Mini", "friendly_name: ''"),
             "workspaces[0] (line 3): FriendlyName must be between 1 and 64"),
        ],
    )
    def test_bad_file_names_key_and_line_and_changes_nothing(
        self, http: httpx.Client, broken: str, expected: str
    ) -> None:
        response = seed(http, broken)
        assert response.status_code == 400, response.text
        assert expected in response.json()["message"]
        assert http.get("/v1/Workspaces").json()["workspaces"] == []
        assert http.get("/emulator/snapshot").json()["tables"]["event"] == []

    def test_account_sid_must_be_the_callers(self, http: httpx.Client) -> None:
        response = seed(http, f"account_sid: AC{'1' * 32}\n" + MINIMAL)
        assert response.status_code == 400
        assert "account_sid (line 1)" in response.json()["message"]

    def test_empty_body_is_400(self, http: httpx.Client) -> None:
        assert seed(http, "").status_code == 400


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestServeSeed:
    def test_serve_loads_the_file_before_serving(
        self, private_database: str, tmp_path: Path, account: Account
    ) -> None:
        port = _port()
        env = {**os.environ, "TASKROUTER_ACCOUNT_SID": account.sid, "TASKROUTER_SCHEDULER_INTERVAL": "0"}
        process = subprocess.Popen(
            [sys.executable, "-m", "taskrouter_emulator", "serve", "--port", str(port),
             "--database-url", private_database, "--seed", str(EXAMPLE), "--log-level", "warning"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/emulator/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline
                time.sleep(0.1)
            ws = httpx.get(
                f"http://127.0.0.1:{port}/v1/Workspaces/{WS_SID}/Workers",
                auth=(account.sid, account.token),
            )
            assert ws.status_code == 200
            assert sorted(w["friendly_name"] for w in ws.json()["workers"]) == [
                "Alice", "Bob", "Carol",
            ]
        finally:
            process.terminate()
            process.wait(timeout=20)
            if process.stdout:
                process.stdout.close()

    def test_a_bad_seed_file_stops_serve_with_the_reason(
        self, private_database: str, tmp_path: Path
    ) -> None:
        bad = tmp_path / "bad.yaml"
        bad.write_text(MINIMAL.replace("{queue: All}", "{queue: Missing}"))
        result = subprocess.run(
            [sys.executable, "-m", "taskrouter_emulator", "serve", "--port", str(_port()),
             "--database-url", private_database, "--seed", str(bad)],
            capture_output=True, text=True, timeout=120, check=False,
        )
        assert result.returncode == 2
        assert "line 10" in result.stderr
        assert "no TaskQueue named 'Missing'" in result.stderr


class TestConcurrency:
    def test_concurrent_loads_create_everything_once(
        self, http: httpx.Client, live_server: LiveServer, account: Account
    ) -> None:
        def load(_: int) -> int:
            with httpx.Client(
                base_url=live_server.url, auth=(account.sid, account.token), timeout=60
            ) as own:
                return seed(own, MINIMAL).status_code

        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(pool.map(load, range(4)))
        assert statuses == [200] * 4
        workspaces = http.get("/v1/Workspaces").json()["workspaces"]
        assert [w["friendly_name"] for w in workspaces] == ["Mini"]
        workers = http.get(f"/v1/Workspaces/{workspaces[0]['sid']}/Workers").json()["workers"]
        assert [w["friendly_name"] for w in workers] == ["Ann"]
