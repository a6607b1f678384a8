"""The command line a newcomer meets: the startup banner and the twilio-cli hook path."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from taskrouter_emulator.__main__ import main, startup_banner
from taskrouter_emulator.config import Settings
from taskrouter_emulator.testing import free_port


def test_serve_prints_url_credentials_and_links(private_database: str, tmp_path: Path) -> None:
    port = free_port()
    output = tmp_path / "serve.out"
    with output.open("w") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "taskrouter_emulator",
                "serve",
                "--port",
                str(port),
                "--database-url",
                private_database,
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "is ready at" not in output.read_text():
            assert process.poll() is None, output.read_text()
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.1)
        text = output.read_text()
        url = f"http://127.0.0.1:{port}"
        assert f"is ready at {url}\n" in text
        assert (
            "TWILIO_ACCOUNT_SID=AC00000000000000000000000000000001 TWILIO_AUTH_TOKEN=any-token"
            in text
        )
        assert f"Inspector    {url}/emulator/ui" in text
        assert f"API docs     {url}/emulator/docs" in text
        assert "Running upgrade" not in text  # migration chatter stays off the first screen
        # The advertised URL and credentials work.
        answer = httpx.get(
            f"{url}/v1/Workspaces", auth=("AC00000000000000000000000000000001", "any-token")
        )
        assert answer.status_code == 200
        assert httpx.get(f"{url}/emulator/docs").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_banner_in_strict_mode_does_not_print_the_token() -> None:
    settings = Settings(
        database_url="postgresql+psycopg://me:hunter2@db:5432/tr",
        account_sid="AC" + "a" * 32,
        auth_token="s3cret-token",
    )
    banner = startup_banner(settings, "0.0.0.0", 8080)
    assert "ready at http://localhost:8080 (listening on all interfaces, port 8080)" in banner
    assert "AC" + "a" * 32 in banner
    assert "s3cret-token" not in banner
    assert "hunter2" not in banner


def test_banner_uses_the_public_url() -> None:
    settings = Settings(database_url="sqlite://", public_url="https://tr.example.test/")
    banner = startup_banner(settings, "127.0.0.1", 9000)
    assert "ready at https://tr.example.test\n" in banner
    assert "https://tr.example.test/emulator/ui" in banner


def test_twilio_cli_hook_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["twilio-cli-hook"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.endswith("twilio_cli_hook.js")
    assert "CliRequestClient.prototype.request" in Path(printed).read_text()
