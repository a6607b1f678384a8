"""Running Node.js clients from the suite: where their packages are and how to start them.

`npm ci` in tests/clients_node (twilio-node) and tests/clients_node/cli (twilio-cli) installs them
(`make node-clients`). Without them the Node tests are skipped with that advice, except when
TASKROUTER_TEST_REQUIRE_NODE=1 (set by .ci/run), where a missing install fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).resolve().parents[1] / "clients_node"
CLI_DIR = NODE_DIR / "cli"


def require_installed(package_dir: Path, package: str) -> Path:
    """Return the node_modules holding `package`, or skip/fail (in CI) the test if it is missing."""
    modules = package_dir / "node_modules"
    problem = None
    if shutil.which("node") is None:
        problem = "node is not on PATH"
    elif not (modules / package / "package.json").is_file():
        problem = f"{package} is not installed in {package_dir} (run `make node-clients`)"
    if problem is None:
        return modules
    if os.environ.get("TASKROUTER_TEST_REQUIRE_NODE") == "1":
        pytest.fail(problem)
    pytest.skip(problem)


def node_env(**extra: str) -> dict[str, str]:
    """The environment for a Node client: ours, minus what would send it to twilio.com."""
    env = {k: v for k, v in os.environ.items() if k not in ("TWILIO_EDGE", "TWILIO_REGION")}
    env.update(extra)
    return env


def run(command: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a Node program to completion and fail the test with its output if it fails."""
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, (
        f"{' '.join(command)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    )
    return done


def last_json_line(output: str) -> Any:
    """Parse the last line of a program's output as JSON."""
    return json.loads(output.strip().splitlines()[-1])
