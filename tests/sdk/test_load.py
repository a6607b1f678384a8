"""Correctness under load: 64 concurrent connections of mixed reads and writes for 10 seconds.

The bounded version of `benchmarks/load_benchmark.py`, with the same workload
(`benchmarks/load_workload.py`). Timing is not asserted: every request must be answered, none
with a 5xx, reads of existing resources answer 200, and the final state read back through the API
is consistent (no task assigned twice, no worker over capacity).
"""

from __future__ import annotations

import asyncio

from benchmarks.load_workload import run_and_check

from taskrouter_emulator.testing import Account, LiveServer

CONNECTIONS = 64
DURATION = 10.0
# Generous: a request without an answer after this long counts as hung.
REQUEST_TIMEOUT = 60.0


def test_mixed_load_is_answered_and_leaves_consistent_state(
    live_server: LiveServer, account: Account
) -> None:
    result, problems = asyncio.run(
        run_and_check(
            live_server.url,
            (account.sid, account.token),
            connections=CONNECTIONS,
            duration=DURATION,
            timeout=REQUEST_TIMEOUT,
        )
    )
    summary = "\n".join(result.report())
    assert result.outcomes, "the workload sent no request"
    assert not result.unanswered(), f"requests without an answer:\n{summary}"
    assert not result.server_errors(), f"requests answered with 5xx:\n{summary}"
    assert not result.failed_reads(), f"reads not answered 200:\n{summary}"
    assert problems == []
