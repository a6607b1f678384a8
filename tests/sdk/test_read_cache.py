"""Repeated GETs are answered from memory, and never with anything the database no longer says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import create_engine, update
from twilio.rest import Client

from taskrouter_emulator.api import read_cache
from taskrouter_emulator.api.read_cache import KeptAnswers
from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.config import Settings
from taskrouter_emulator.models import Worker
from tests.conftest import Account, LiveServer, serving
from tests.sdk.routing_helpers import Setup, make_setup, single_queue


def kept(live: LiveServer) -> KeptAnswers:
    answers: KeptAnswers = live.app.state.kept_answers
    return answers


def assert_kept(live: LiveServer, http: httpx.Client, paths: list[str]) -> None:
    """Ask each path twice: the second answers must come from the kept ones, unchanged.

    On PostgreSQL a commit anywhere in the cluster (another database's too) changes the data
    version, so a round that saw one is tried again before the test fails.
    """
    for _ in range(10):
        first = {path: http.get(path).content for path in paths}
        before = kept(live).hits
        again = {path: http.get(path).content for path in paths}
        if kept(live).hits == before + len(paths):
            assert again == first
            return
    raise AssertionError(f"no answer of {paths} was kept")


@contextmanager
def running_clock_workspace(
    database_url: str, base: EmulatorClock
) -> Iterator[tuple[LiveServer, httpx.Client, Setup]]:
    """A server of its own whose accounts' clocks run on `base`, and a workspace of a new account."""
    with own_server(database_url, base, clock="real") as live:
        account = Account.fresh()
        client = Client(account.sid, account.token)
        client.taskrouter.base_url = live.url
        with httpx.Client(base_url=live.url, auth=(account.sid, account.token)) as http:
            yield live, http, make_setup(client, http)


def own_server(database_url: str, base: EmulatorClock, **settings: Any) -> Any:
    """A server of its own with no scheduler: only requests fire timers."""
    return serving(
        Settings(database_url=database_url, scheduler_interval=0, webhook_workers=0, **settings),
        base,
    )


def test_a_repeated_fetch_is_kept_and_a_change_shows_at_once(
    live_server: LiveServer, client: Client, http: httpx.Client
) -> None:
    setup = make_setup(client, http)
    worker = setup.worker("Alice", {"skill": "a"})
    path = f"/v1/Workspaces/{setup.ws.sid}/Workers/{worker.sid}"
    assert_kept(live_server, http, [path])
    first, again = http.get(path), http.get(path)
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["content-type"] == first.headers["content-type"]

    setup.api.workers(worker.sid).update(attributes=json.dumps({"skill": "b"}))
    fetched = setup.api.workers(worker.sid).fetch()
    assert json.loads(fetched.attributes) == {"skill": "b"}
    listed = http.get(f"/v1/Workspaces/{setup.ws.sid}/Workers", params={"PageSize": 50}).json()
    assert [json.loads(w["attributes"]) for w in listed["workers"]] == [{"skill": "b"}]


def test_a_change_made_behind_the_servers_back_shows_at_once(
    live_server: LiveServer, client: Client, http: httpx.Client, database_url: str
) -> None:
    setup = make_setup(client, http)
    worker = setup.worker("Alice")
    path = f"/v1/Workspaces/{setup.ws.sid}/Workers/{worker.sid}"
    assert_kept(live_server, http, [path])
    assert http.get(path).json()["friendly_name"] == "Alice"

    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            update(Worker).where(Worker.sid == worker.sid).values(friendly_name="Bob")
        )
    engine.dispose()
    assert http.get(path).json()["friendly_name"] == "Bob"


def test_answers_are_kept_per_account_and_per_base_url(
    live_server: LiveServer, client: Client, http: httpx.Client
) -> None:
    setup = make_setup(client, http)
    path = f"/v1/Workspaces/{setup.ws.sid}"
    assert http.get(path).status_code == 200
    assert http.get(path).status_code == 200
    stranger = Account.fresh()
    answer = httpx.get(f"{live_server.url}{path}", auth=(stranger.sid, stranger.token))
    assert answer.status_code == 404
    assert httpx.get(f"{live_server.url}{path}").status_code == 401

    proxied = http.get(
        path, headers={"X-Forwarded-Host": "emulator.example", "X-Forwarded-Proto": "https"}
    )
    assert proxied.json()["url"] == f"https://emulator.example{path}"
    assert http.get(path).json()["url"] == f"{live_server.url}{path}"


TIME_PATHS = ("/Tasks", "/Statistics", "/RealTimeStatistics", "/CumulativeStatistics", "/Events")


def test_answers_that_depend_on_the_time_are_kept_while_the_clock_is_frozen(
    live_server: LiveServer, client: Client, http: httpx.Client, account: Account
) -> None:
    setup = make_setup(client, http)
    _, workflow = single_queue(setup)
    task = setup.task(workflow_sid=workflow.sid)
    paths = [f"/v1/Workspaces/{setup.ws.sid}{p}" for p in (f"/Tasks/{task.sid}", *TIME_PATHS)]
    assert_kept(live_server, http, paths)

    live_server.advance(30, account)  # moving the clock is a write: every answer is made again
    assert setup.api.tasks(task.sid).fetch().age == 30
    stats = http.get(f"/v1/Workspaces/{setup.ws.sid}/RealTimeStatistics").json()
    assert stats["longest_task_waiting_age"] == 30


def test_answers_that_depend_on_the_time_are_not_kept_while_the_clock_runs(
    private_database: str,
) -> None:
    base = EmulatorClock(frozen=True)
    with running_clock_workspace(private_database, base) as (live, http, setup):
        _, workflow = single_queue(setup)
        task = setup.task(workflow_sid=workflow.sid)
        paths = [f"/v1/Workspaces/{setup.ws.sid}{p}" for p in (f"/Tasks/{task.sid}", *TIME_PATHS)]
        for path in paths:
            http.get(path)
        before = kept(live).hits
        for path in paths:
            http.get(path)
        assert kept(live).hits == before
        base.advance(7)  # writes nothing; a kept answer would still say 0
        assert setup.api.tasks(task.sid).fetch().age == 7
        stats = http.get(f"/v1/Workspaces/{setup.ws.sid}/RealTimeStatistics").json()
        assert stats["longest_task_waiting_age"] == 7


def test_a_kept_answer_ends_when_a_timer_falls_due_on_a_running_clock(
    private_database: str,
) -> None:
    # The account's clock runs (real time plus an offset) on a base clock the test moves; moving the
    # base writes nothing, so only the answer's own due time can tell that it no longer holds.
    base = EmulatorClock(frozen=True)
    with running_clock_workspace(private_database, base) as (live, http, setup):
        _, workflow = single_queue(setup)
        worker = setup.worker("Alice")
        task = setup.task(workflow_sid=workflow.sid, timeout=3600)
        (reservation,) = setup.reservations(task.sid, "pending")
        path = f"/v1/Workspaces/{setup.ws.sid}/Tasks/{task.sid}/Reservations/{reservation.sid}"
        assert_kept(live, http, [path])
        assert http.get(path).json()["reservation_status"] == "pending"

        base.advance(119)
        assert http.get(path).json()["reservation_status"] == "pending"
        base.advance(2)  # past the default 120 s reservation timeout
        assert http.get(path).json()["reservation_status"] == "timeout"
        worker_path = f"/v1/Workspaces/{setup.ws.sid}/Workers/{worker.sid}"
        assert http.get(worker_path).json()["activity_name"] == "Offline"


def test_kept_answers_are_bounded_in_number_and_bytes(monkeypatch: Any) -> None:
    monkeypatch.setattr(read_cache, "MAX_ENTRIES", 3)
    monkeypatch.setattr(read_cache, "MAX_BYTES", 10)
    monkeypatch.setattr(read_cache, "MAX_ENTRY_BYTES", 6)
    answers = read_cache.KeptAnswers()

    def entry(body: bytes) -> Any:
        return read_cache._Entry(1, 200, [], body, None)

    for name in "abc":
        answers.keep((name,), entry(b"xx"))
    assert answers.find(("a",), 1) is not None  # now the most recently used
    answers.keep(("d",), entry(b"xx"))  # a fourth: the least recently used ("b") goes
    assert answers.find(("b",), 1) is None
    assert [answers.find((n,), 1) is not None for n in "acd"] == [True, True, True]
    answers.keep(("e",), entry(b"xxxxxx"))  # 10 bytes at most: the least recently used ("a") goes
    assert [answers.find((n,), 1) is not None for n in "acde"] == [False, True, True, True]
    answers.keep(("f",), entry(b"x" * 7))  # larger than one answer may be: not kept
    assert answers.find(("f",), 1) is None
    assert answers.find(("d",), 2) is None  # another data version: dropped
    assert answers.find(("d",), 1) is None
