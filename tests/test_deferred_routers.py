"""Routers imported on first use (`api/deferred.py`) answer exactly as if they were loaded at start-up."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from taskrouter_emulator.api.deferred import Deferred
from taskrouter_emulator.app import ROUTERS
from taskrouter_emulator.errors import leaf_routes
from tests.conftest import Account
from tests.sdk.server_helpers import own_server

DEFERRED = [router for router in ROUTERS if isinstance(router, Deferred)]
WS = "WS" + "0" * 32


@pytest.mark.parametrize("placeholder", DEFERRED, ids=lambda d: d.module)
def test_the_pattern_covers_every_route_of_the_router(placeholder: Deferred) -> None:
    """A path one of its routes serves (or redirects to, with a trailing slash) loads the router."""
    routes = list(leaf_routes(importlib.import_module(placeholder.module).router.routes))
    assert routes
    for route in routes:
        path = re.sub(r"\{[^}]+\}", "X1", route.path)  # type: ignore[attr-defined]
        assert placeholder.paths.fullmatch(path), (placeholder.module, path)
        if path != "/":
            assert placeholder.paths.fullmatch(path + "/"), (placeholder.module, path)


def test_creating_the_app_imports_no_deferred_router(tmp_path: Path) -> None:
    """Only a request (or the OpenAPI document) brings a deferred router in; `serve` stays light."""
    script = f"""
import json, sys
import taskrouter_emulator.__main__
from taskrouter_emulator.app import create_app
from taskrouter_emulator.config import Settings
create_app(Settings(database_url="sqlite:///{tmp_path / "fresh.db"}", scheduler_interval=0))
print(json.dumps(sorted(m for m in sys.modules if m.startswith("taskrouter_emulator."))))
"""
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    imported = set(json.loads(output))
    assert [d.module for d in DEFERRED if d.module in imported] == []
    assert "taskrouter_emulator.emulator_tools.cli" not in imported


def _document_after(directory: Path, account: Account, first_paths: list[str]) -> dict[str, Any]:
    directory.mkdir()
    with (
        own_server(directory) as live,
        httpx.Client(base_url=live.url, auth=(account.sid, account.token), timeout=30) as http,
    ):
        for path in first_paths:
            assert http.get(path).status_code < 500, path
        document: dict[str, Any] = http.get("/emulator/openapi.json").json()
        return document


def test_loading_order_changes_neither_routes_nor_document(
    tmp_path: Path, account: Account
) -> None:
    """Routers loaded in any order take their declared places: the OpenAPI document is the same."""
    at_once = _document_after(tmp_path / "a", account, [])
    scrambled = _document_after(
        tmp_path / "b",
        account,
        [
            "/emulator/ui",
            f"/v1/Workspaces/{WS}/Tasks",
            f"/v1/Workspaces/{WS}/Workers/Statistics",
            "/emulator/faults",
            f"/v1/Workspaces/{WS}/Activities",
        ],
    )
    assert list(scrambled["paths"]) == list(at_once["paths"])
    assert scrambled == at_once
    assert "/v1/Workspaces/{workspace_sid}/Workers/Statistics" in at_once["paths"]


def test_a_fresh_server_guards_fixed_names_on_its_first_request(
    tmp_path: Path, account: Account
) -> None:
    """`POST …/Workers/Statistics` as the very first request: 405, not a worker update."""
    with (
        own_server(tmp_path) as live,
        httpx.Client(base_url=live.url, auth=(account.sid, account.token), timeout=30) as http,
    ):
        refused = http.post(f"/v1/Workspaces/{WS}/Workers/Statistics", data={})
        assert refused.status_code == 405
        assert refused.headers["Allow"] == "GET"
        assert refused.json()["code"] == 20004
        missing = http.get(f"/v1/Workspaces/{WS}/Workers/WK{'0' * 32}/Reservations")
        assert missing.status_code == 404
        assert http.get("/v1/Workspaces/Nothing/Here").status_code == 404
