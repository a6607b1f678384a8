"""The pytest plugin as a user gets it: a fresh pytest run in a temp dir, loading it by entry point."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from taskrouter_emulator.testing import Account, LiveServer

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_block(marker: str) -> str:
    """Return the code block that follows `<!-- marker ... -->` in the README, as written."""
    match = re.search(rf"<!-- {marker}\b.*?-->\n```\w*\n(.*?)```", README.read_text(), re.DOTALL)
    assert match, f"no code block after the {marker} marker in README.md"
    return match.group(1)


def test_readme_example_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_readme=readme_block("pytest-plugin-example"))
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=1)


def test_loading_the_plugin_twice_is_harmless(pytester: pytest.Pytester) -> None:
    # Entry point + pytest_plugins in a conftest + -p on the command line: one registration.
    pytester.makeconftest('pytest_plugins = ["taskrouter_emulator.pytest_plugin"]')
    pytester.makepyfile(
        test_twice="""
        def test_client_works(taskrouter_client, taskrouter_emulator, request):
            assert taskrouter_client.taskrouter.v1.workspaces.list() == []
            manager = request.config.pluginmanager
            assert manager.get_plugin("taskrouter_emulator.pytest_plugin") is not None
            plugins = [p for p in manager.get_plugins() if getattr(p, "__name__", "") == "taskrouter_emulator.pytest_plugin"]
            assert len(plugins) == 1
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "taskrouter_emulator.pytest_plugin")
    result.assert_outcomes(passed=1)


def test_settings_override_and_strict_accounts(pytester: pytest.Pytester) -> None:
    # Overriding taskrouter_settings turns on strict auth; the account fixture follows it.
    pytester.makeconftest(
        """
        import pytest
        from taskrouter_emulator.config import Settings

        @pytest.fixture(scope="session")
        def taskrouter_settings(taskrouter_database_url):
            return Settings(
                database_url=taskrouter_database_url, clock="frozen",
                account_sid="AC" + "1" * 32, auth_token="secret", scheduler_interval=0,
            )
        """
    )
    pytester.makepyfile(
        test_strict="""
        import httpx

        def test_strict(taskrouter_account, taskrouter_client, taskrouter_emulator, taskrouter_advance_clock):
            assert (taskrouter_account.sid, taskrouter_account.token) == ("AC" + "1" * 32, "secret")
            assert taskrouter_client.taskrouter.v1.workspaces.create(friendly_name="x").sid.startswith("WS")
            stranger = httpx.get(taskrouter_emulator.url + "/v1/Workspaces", auth=("AC" + "2" * 32, "t"))
            assert stranger.status_code == 401
            before = taskrouter_emulator.clock.now()
            assert (taskrouter_advance_clock(30) - before).total_seconds() == 30
        """
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=1)


class TestInThisSuite:
    """The suite's own fixtures are the plugin's: one server, fresh accounts, a movable clock."""

    def test_fixtures_share_the_session_server(
        self, live_server: LiveServer, taskrouter_emulator: LiveServer, taskrouter_client: object
    ) -> None:
        assert live_server is taskrouter_emulator
        assert taskrouter_client.taskrouter.base_url == live_server.url  # type: ignore[attr-defined]

    def test_each_test_gets_a_fresh_account(
        self, taskrouter_account: Account, account: Account
    ) -> None:
        assert re.fullmatch(r"AC[0-9a-f]{32}", taskrouter_account.sid)
        assert taskrouter_account.sid != account.sid

    def test_advance_clock_moves_the_accounts_clock(
        self, live_server: LiveServer, taskrouter_account: Account, taskrouter_advance_clock: object
    ) -> None:
        def account_time() -> datetime:
            response = httpx.get(
                f"{live_server.url}/emulator/clock",
                auth=(taskrouter_account.sid, taskrouter_account.token),
            )
            return datetime.fromisoformat(response.json()["now"].replace("Z", "+00:00"))

        before = account_time()
        after = taskrouter_advance_clock(5)  # type: ignore[operator]
        assert (after - before).total_seconds() == 5
        assert account_time() == after
