"""The real twilio-taskrouter Worker SDK (npm) against the emulator's event bridge.

`tests/node` holds the Node side, installed from npm by `make node-clients` (`npm ci`, which `.ci/run`
runs from scratch); like the other Node client tests it is skipped when not installed, except in CI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from twilio.rest import Client

from taskrouter_emulator.testing import LiveServer
from tests.bridge_tokens import new_api_key, register_api_key, worker_access_token
from tests.clients.nodejs import last_json_line, node_env, require_installed, run
from tests.receiver import eventually

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


@pytest.fixture
def key_client(live_server: LiveServer) -> tuple[Client, str, str]:
    """A client authenticated with a fresh API key of the configured account."""
    key_sid, secret = new_api_key()
    register_api_key(live_server.url, key_sid, secret)
    client = Client(key_sid, secret, account_sid=live_server.settings.account_sid)
    client.taskrouter.base_url = live_server.url
    return client, key_sid, secret


def test_worker_sdk_runs_against_the_event_bridge(
    live_server: LiveServer, key_client: tuple[Client, str, str]
) -> None:
    require_installed(NODE_DIR, "twilio-taskrouter")
    client, key_sid, secret = key_client
    workspace = client.taskrouter.v1.workspaces.create(friendly_name="bridge", template="FIFO")
    activities = {a.friendly_name: a.sid for a in workspace.activities.list()}
    workflow = workspace.workflows.list()[0]
    worker = workspace.workers.create(
        friendly_name="alice", activity_sid=activities["Available"], attributes="{}"
    )
    account_sid = live_server.settings.account_sid
    token = worker_access_token(
        account_sid=account_sid,
        key_sid=key_sid,
        secret=secret,
        workspace_sid=workspace.sid,
        worker_sid=worker.sid,
    )
    bad_token = worker_access_token(
        account_sid=account_sid,
        key_sid=key_sid,
        secret="not-the-secret-" + secret,
        workspace_sid=workspace.sid,
        worker_sid=worker.sid,
    )
    env = node_env(
        EMULATOR_URL=live_server.url,
        WORKSPACE_SID=workspace.sid,
        WORKFLOW_SID=workflow.sid,
        API_KEY_SID=key_sid,
        API_KEY_SECRET=secret,
        WORKER_TOKEN=token,
        BAD_TOKEN=bad_token,
    )
    done = run(["node", "worker_scenario.js"], cwd=NODE_DIR, env=env)
    seen = last_json_line(done.stdout)
    assert seen["readyActivity"] == "Available"
    assert seen["activities"] == sorted(activities)
    assert "default" in seen["channels"]
    assert seen["taskStatus"] == "completed"
    assert seen["reservationStatus"] == "completed"
    assert seen["pushedActivity"] == "Offline"
    assert seen["finalActivity"] == "Unavailable"
    assert seen["finalAttributes"] == {"languages": ["en", "fr"], "level": 3}
    assert seen["refused"]["restStatus"] == 401

    # What the SDK did is what the REST API shows.
    task = workspace.tasks(seen["taskSid"]).fetch()
    assert task.assignment_status == "completed"
    assert task.reason == "resolved"
    reservation = workspace.workers(worker.sid).reservations(seen["reservationSid"]).fetch()
    assert reservation.reservation_status == "completed"
    fetched = workspace.workers(worker.sid).fetch()
    assert json.loads(fetched.attributes) == {"languages": ["en", "fr"], "level": 3}
    # The SDK disconnected without setWorkerOfflineIfDisconnected=false: the worker goes Offline.
    eventually(lambda: workspace.workers(worker.sid).fetch().activity_name == "Offline", timeout=15)
