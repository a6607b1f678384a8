"""Two server processes on one PostgreSQL database behave as one TaskRouter (bounded proof)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from taskrouter_emulator.testing import postgres_database
from tests.resilience.pgcluster import throwaway_cluster
from tests.resilience.proof import run_proof


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The suite's PostgreSQL server if it runs on one, else a throw-away cluster of its own."""
    configured = os.environ.get("TASKROUTER_TEST_DATABASE_URL")
    if configured and make_url(configured).get_backend_name() == "postgresql":
        with postgres_database(configured) as url:
            yield url
        return
    with throwaway_cluster() as cluster, postgres_database(cluster.url) as url:
        yield url


def test_two_processes_never_double_assign_or_overfill(postgres_url: str) -> None:
    outcome = run_proof(postgres_url, processes=2, workers=20, tasks=120, clients=8)
    assert not outcome.violations, outcome.violations[:10]
    assert outcome.accepted > 0
    # Races lose with Twilio's 4xx answers, never with a server error.
    assert all(status < 500 for status in outcome.requests), outcome.requests
