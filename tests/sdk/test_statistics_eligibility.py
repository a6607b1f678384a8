"""Queue eligibility in the statistics: indexed membership rows and evaluated expressions agree.

Queues whose `target_workers` reads only the workers' attributes, SID and name keep their members
as `task_queue_member` rows, and the statistics count those rows joined to the workers' current
activity; the other queues (reading `activity_*` or `channel.*`) are evaluated per worker. A request
may also evaluate indexed queues when that is cheaper (`WorkerPool._join_is_cheaper`). Each check
runs under both strategies (forced through the module's thresholds; the server runs in-process)
and the figures must be the expected ones, whichever way they were computed, as workers and queues
change.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from twilio.rest import Client

from taskrouter_emulator.statistics import realtime
from tests.sdk.routing_helpers import Setup, make_setup

# Expression -> whether its membership is kept as rows.
EXPRESSIONS = {
    "team == 'a'": True,
    "level >= 2": True,
    "skills HAS 'sales'": True,
    "friendly_name IN ['Two', 'Three']": True,
    "1==1": True,
    "team == 'a' AND activity_name == 'Available'": False,
    "worker.activity_name != 'Available'": False,
    "channel.voice.available == true": False,
}


@pytest.fixture(params=["join", "evaluate"])
def strategy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Force how indexed queues are counted: from their member rows, or by evaluation."""
    evaluated: list[str] = []
    original = realtime.WorkerPool._evaluate

    def spy(pool: realtime.WorkerPool, text: str) -> Any:
        evaluated.append(text)
        return original(pool, text)

    monkeypatch.setattr(realtime.WorkerPool, "_evaluate", spy)
    if request.param == "join":
        monkeypatch.setattr(realtime, "JOIN_ALWAYS", 10**9)
    else:
        monkeypatch.setattr(realtime, "JOIN_ALWAYS", 0)
        monkeypatch.setattr(realtime, "EVALUATION_COST", 0)
    yield request.param
    if request.param == "join":
        # Indexed queues were never evaluated (the Workers filter reads their rows too).
        indexed = {text for text, flag in EXPRESSIONS.items() if flag}
        assert not indexed & set(evaluated)


class Figures:
    """Reads every statistics endpoint that reports queue eligibility, for a set of queues."""

    def __init__(self, setup: Setup, http: httpx.Client) -> None:
        self.setup = setup
        self.http = http
        self.base = f"/v1/Workspaces/{setup.ws.sid}"
        self.names = {sid: name for name, sid in setup.activities.items()}

    def _per_activity(self, entries: list[dict[str, Any]]) -> dict[str, int]:
        return {self.names[e["sid"]]: e["workers"] for e in entries if e["workers"]}

    def read(self, queues: dict[str, str]) -> dict[str, tuple[int, int, dict[str, int]]]:
        """Per expression: (eligible, available, workers per activity), checked to agree across
        the bulk endpoint, the list page, each queue's objects and the Workers filter."""
        bulk = self.http.post(
            f"{self.base}/TaskQueues/RealTimeStatistics", json={"queueSids": list(queues.values())}
        )
        assert bulk.status_code == 200, bulk.text
        by_sid = {d["task_queue_sid"]: d for d in bulk.json()["task_queue_data"]}
        page = self.http.get(f"{self.base}/TaskQueues/Statistics", params={"PageSize": 50}).json()
        listed = {e["task_queue_sid"]: e["realtime"] for e in page["task_queues_statistics"]}
        found = {}
        for text, sid in queues.items():
            data = by_sid[sid]
            figures = (
                data["total_eligible_workers"],
                data["total_available_workers"],
                self._per_activity(data["activity_statistics"]),
            )
            for other in (
                listed[sid],
                self.http.get(f"{self.base}/TaskQueues/{sid}/RealTimeStatistics").json(),
                self.http.get(f"{self.base}/TaskQueues/{sid}/Statistics").json()["realtime"],
            ):
                assert (
                    other["total_eligible_workers"],
                    other["total_available_workers"],
                    self._per_activity(other["activity_statistics"]),
                ) == figures, text
            filtered = self.http.get(
                f"{self.base}/Workers/Statistics", params={"TaskQueueSid": sid}
            ).json()
            workers = filtered["realtime"]
            assert workers["total_workers"] == figures[0], text
            assert self._per_activity(workers["activity_statistics"]) == figures[2], text
            # By name the filter is a list of SIDs; by SID of an indexed queue, a subquery.
            name = self.setup.api.task_queues(sid).fetch().friendly_name
            by_name = self.http.get(
                f"{self.base}/Workers/Statistics", params={"TaskQueueName": name}
            ).json()
            assert by_name == filtered, text
            found[text] = figures
        return found


def test_indexed_and_evaluated_queues_follow_changes(
    client: Client, http: httpx.Client, strategy: str
) -> None:
    setup = make_setup(client, http)
    one = setup.worker("One", {"team": "a", "level": 3, "skills": ["sales"]})
    two = setup.worker("Two", {"team": "a", "level": 1}, activity="Offline")
    three = setup.worker("Three", {"team": "b", "level": 2, "skills": ["sales", "support"]})
    setup.api.workers(three.sid).worker_channels("voice").update(available=False)
    queues = {text: setup.queue(f"Q{i}", text).sid for i, text in enumerate(EXPRESSIONS)}
    figures = Figures(setup, http)
    setup.advance(30)

    assert figures.read(queues) == {
        "team == 'a'": (2, 1, {"Available": 1, "Offline": 1}),
        "level >= 2": (2, 2, {"Available": 2}),
        "skills HAS 'sales'": (2, 2, {"Available": 2}),
        "friendly_name IN ['Two', 'Three']": (2, 1, {"Available": 1, "Offline": 1}),
        "1==1": (3, 2, {"Available": 2, "Offline": 1}),
        "team == 'a' AND activity_name == 'Available'": (1, 1, {"Available": 1}),
        "worker.activity_name != 'Available'": (1, 0, {"Offline": 1}),
        "channel.voice.available == true": (2, 1, {"Available": 1, "Offline": 1}),
    }

    # Attributes, name and activity change: Three joins team a and leaves sales, Two is renamed
    # (dropping out of the name list) and goes Available, One goes Offline.
    setup.api.workers(three.sid).update(attributes=json.dumps({"team": "a", "level": 0}))
    setup.api.workers(two.sid).update(
        friendly_name="Deux", activity_sid=setup.activities["Available"]
    )
    setup.api.workers(one.sid).update(activity_sid=setup.activities["Offline"])
    four = setup.worker("Four", {"level": 5}, activity="Unavailable")
    workflow = setup.workflow({"filters": [], "default_filter": {"queue": queues["1==1"]}})
    setup.task(workflow_sid=workflow.sid)  # offered to an available worker: a reservation
    setup.advance(20)
    assert figures.read(queues) == {
        "team == 'a'": (3, 2, {"Available": 2, "Offline": 1}),
        "level >= 2": (2, 0, {"Offline": 1, "Unavailable": 1}),
        "skills HAS 'sales'": (1, 0, {"Offline": 1}),
        "friendly_name IN ['Two', 'Three']": (1, 1, {"Available": 1}),
        "1==1": (4, 2, {"Available": 2, "Offline": 1, "Unavailable": 1}),
        "team == 'a' AND activity_name == 'Available'": (2, 2, {"Available": 2}),
        "worker.activity_name != 'Available'": (2, 0, {"Offline": 1, "Unavailable": 1}),
        "channel.voice.available == true": (3, 1, {"Available": 1, "Offline": 1, "Unavailable": 1}),
    }

    # Queue expressions change: indexed -> indexed, indexed -> evaluated, evaluated -> indexed.
    changes = {
        "team == 'a'": "level < 2",
        "level >= 2": "level >= 2 AND activity_name != 'Offline'",
        "worker.activity_name != 'Available'": "friendly_name == 'Deux'",
    }
    for old, new in changes.items():
        setup.api.task_queues(queues[old]).update(target_workers=new)
    renamed = {changes.get(text, text): sid for text, sid in queues.items()}
    after = figures.read(renamed)
    assert after["level < 2"] == (2, 2, {"Available": 2})
    assert after["level >= 2 AND activity_name != 'Offline'"] == (1, 0, {"Unavailable": 1})
    assert after["friendly_name == 'Deux'"] == (1, 1, {"Available": 1})

    # A deleted worker leaves every queue.
    setup.api.workers(four.sid).delete()
    gone = figures.read(renamed)
    assert gone["1==1"] == (3, 2, {"Available": 2, "Offline": 1})
    assert gone["level >= 2 AND activity_name != 'Offline'"] == (0, 0, {})
    assert gone["skills HAS 'sales'"] == (1, 0, {"Offline": 1})
    everyone = http.get(
        f"{figures.base}/Workers/Statistics", params={"TaskQueueSid": queues["1==1"]}
    ).json()
    workspace = http.get(f"{figures.base}/Workers/Statistics").json()
    assert everyone["cumulative"] == workspace["cumulative"]
    assert any(d["total"] for d in everyone["cumulative"]["activity_durations"])
    assert everyone["cumulative"]["reservations_created"] == 1


def test_strategies_agree_on_many_profiles(
    client: Client, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forty workers over a few profiles, ten queues: the join, the evaluation and the automatic
    choice give the same page, whatever the thresholds."""
    setup = make_setup(client, http)
    activities = ["Available", "Offline", "Unavailable"]
    for i in range(40):
        setup.worker(
            f"W{i}",
            {"level": i % 5, "skills": [f"s{i % 3}", f"s{i % 4}"]},
            activity=activities[i % len(activities)],
        )
    texts = [f"skills HAS 's{i % 4}' AND level >= {i % 3}" for i in range(8)]
    texts += ["level > 2 AND activity_name == 'Unavailable'", "sid != ''"]
    queues = {text: setup.queue(f"P{i}", text).sid for i, text in enumerate(texts)}
    figures = Figures(setup, http)
    results = []
    for join_always, cost in ((10**9, 2), (0, 0), (0, 10**6), (1, 2)):
        monkeypatch.setattr(realtime, "JOIN_ALWAYS", join_always)
        monkeypatch.setattr(realtime, "EVALUATION_COST", cost)
        results.append(figures.read(queues))
    assert all(result == results[0] for result in results)
    assert results[0]["sid != ''"][0] == 40
