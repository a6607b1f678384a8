"""twilio-cli against a live emulator through the shipped preload hook (NODE_OPTIONS=--require)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from twilio.rest import Client

from taskrouter_emulator.testing import Account, LiveServer
from tests.clients.nodejs import CLI_DIR, node_env, require_installed, run

HOOK = Path(__file__).resolve().parents[2] / "src" / "taskrouter_emulator" / "twilio_cli_hook.js"


@pytest.fixture
def twilio_cli(
    live_server: LiveServer, account: Account, tmp_path: Path
) -> Callable[..., list[dict[str, Any]]]:
    """`twilio_cli(*args)`: run a twilio-cli command on the test's account, return its JSON output."""
    modules = require_installed(CLI_DIR, "twilio-cli")
    env = node_env(
        NODE_OPTIONS=f"--require {HOOK}",
        TASKROUTER_BASE_URL=live_server.url,
        TWILIO_ACCOUNT_SID=account.sid,
        TWILIO_AUTH_TOKEN=account.token,
        # Keep the CLI away from any profile of the user's.
        TWILIO_CONFIG_DIR=str(tmp_path),
        TWILIO_CACHE_DIR=str(tmp_path),
        TWILIO_DATA_DIR=str(tmp_path),
        # No background self-update or npm version check: the tests stay on loopback.
        TWILIO_DISABLE_AUTOUPDATE="1",
        TWILIO_SKIP_NEW_VERSION_CHECK="1",
    )

    def twilio(*args: str) -> list[dict[str, Any]]:
        done = run([str(modules / ".bin" / "twilio"), *args, "-o", "json"], cwd=CLI_DIR, env=env)
        parsed: list[dict[str, Any]] = json.loads(done.stdout)
        return parsed

    return twilio


def test_workspaces_list_and_create(
    twilio_cli: Callable[..., list[dict[str, Any]]], client: Client
) -> None:
    created = [
        client.taskrouter.v1.workspaces.create(friendly_name=f"CLI {n}").sid for n in range(3)
    ]

    # Two per page: the CLI follows the emulator's next_page_url and sees all three.
    listed = twilio_cli("api:taskrouter:v1:workspaces:list", "--page-size", "2")
    assert [w["sid"] for w in listed] == created
    assert listed[0]["friendlyName"] == "CLI 0"
    assert listed[0]["accountSid"] == client.username

    [made] = twilio_cli(
        "api:taskrouter:v1:workspaces:create",
        "--friendly-name",
        "Made by the CLI",
        "--template",
        "FIFO",
    )
    fetched = client.taskrouter.v1.workspaces(made["sid"]).fetch()
    assert fetched.friendly_name == "Made by the CLI"
    assert [q.friendly_name for q in fetched.task_queues.list()] == ["Sample Queue"]
