"""twilio-node against a live emulator: the full flow script, and the README snippet as written."""

from __future__ import annotations

import re
from pathlib import Path

from twilio.rest import Client

from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.config import Settings
from taskrouter_emulator.testing import Account, LiveServer, start_server
from tests.clients.nodejs import NODE_DIR, last_json_line, node_env, require_installed, run

README = Path(__file__).resolve().parents[2] / "README.md"


def test_twilio_node_drives_a_whole_task_lifecycle(
    live_server: LiveServer, account: Account, client: Client
) -> None:
    require_installed(NODE_DIR, "twilio")
    done = run(
        ["node", "flow.js"],
        cwd=NODE_DIR,
        env=node_env(
            TASKROUTER_URL=live_server.url, ACCOUNT_SID=account.sid, AUTH_TOKEN=account.token
        ),
    )
    out = last_json_line(done.stdout)

    assert out["taskStatusAtCreation"] == "reserved"
    assert (out["reservationStatusAtList"], out["acceptedStatus"]) == ("pending", "accepted")
    assert (out["assignedStatus"], out["completedStatus"]) == ("assigned", "completed")
    assert out["completedReason"] == "resolved by node"
    assert out["missing"]["status"] == 404
    assert out["missing"]["code"] == 20404

    # What node saw is what the server holds.
    workspace = client.taskrouter.v1.workspaces(out["workspace"])
    task = workspace.tasks(out["task"]).fetch()
    assert (task.assignment_status, task.reason) == ("completed", "resolved by node")
    assert (task.workflow_sid, task.task_queue_sid) == (out["workflow"], out["queue"])
    reservation = workspace.tasks(out["task"]).reservations(out["reservation"]).fetch()
    assert (reservation.reservation_status, reservation.worker_sid) == ("completed", out["worker"])

    # Six workers, two per page: three pages, each worker once, in the server's order.
    server_order = [w.sid for w in workspace.workers.list()]
    assert len(server_order) == 6
    assert out["pages"] == 3
    assert out["pagedSids"] == server_order
    assert out["listedSids"] == server_order
    assert out["eachSids"] == server_order


def test_readme_twilio_node_snippet_runs_as_written(private_database: str, tmp_path: Path) -> None:
    modules = require_installed(NODE_DIR, "twilio")
    match = re.search(
        r"<!-- twilio-node-example\b.*?-->\n```js\n(.*?)```", README.read_text(), re.DOTALL
    )
    assert match, "no twilio-node example marked in README.md"
    snippet = match.group(1)
    # The snippet's account and token are fixed, so it gets a server of its own; only the URL changes.
    live, server, thread = start_server(
        Settings(database_url=private_database, scheduler_interval=0), EmulatorClock(frozen=True)
    )
    try:
        assert snippet.count("http://127.0.0.1:8080") == 1
        script = tmp_path / "demo.js"
        script.write_text(snippet.replace("http://127.0.0.1:8080", live.url))
        done = run(["node", str(script)], cwd=tmp_path, env=node_env(NODE_PATH=str(modules)))

        readme_client = Client("AC00000000000000000000000000000001", "any-token")
        readme_client.taskrouter.base_url = live.url
        [workspace] = readme_client.taskrouter.v1.workspaces.list()
        assert workspace.friendly_name == "Support"
        assert done.stdout.split()[0] == workspace.sid
        assert "Available" in done.stdout
        assert not live.server_errors()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
