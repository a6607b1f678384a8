"""The inspector's HTTP surface: the page and its files, `GET /`, offline docs and the event feed."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx
from twilio.rest import Client

from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.config import Settings
from tests.conftest import Account, LiveServer, start_server


class FeedReader:
    """Reads the data messages of one event stream, as {"id", "event"} dicts."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.iter_lines()

    def take(self, count: int) -> list[dict[str, Any]]:
        """Return the next `count` messages (blocking until the server sends them)."""
        messages: list[dict[str, Any]] = []
        message: dict[str, Any] = {}
        while len(messages) < count:
            line = next(self.lines)
            if line.startswith("id: "):
                message["id"] = int(line[4:])
            elif line.startswith("data: "):
                message["event"] = json.loads(line[6:])
            elif line == "" and "event" in message:
                messages.append(message)
                message = {}
        return messages


def _feed(http: httpx.Client, workspace_sid: str, **extra: Any) -> Any:
    params = {"WorkspaceSid": workspace_sid, **{k: str(v) for k, v in extra.items()}}
    return http.stream("GET", "/emulator/ui/events", params=params, timeout=30)


def test_root_leads_to_the_inspector_page(live_server: LiveServer) -> None:
    root = httpx.get(live_server.url + "/", follow_redirects=False)
    assert root.status_code == 302
    assert root.headers["location"] == "/emulator/ui"
    page = httpx.get(live_server.url + "/", follow_redirects=True)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>TaskRouter emulator" in page.text
    # Every script and style sheet is a file of this server (or inline): the page works offline.
    references = [
        ref
        for ref in re.findall(r'(?:src|href)="([^"]+)"', page.text)
        if not ref.startswith("data:")
    ]
    assert references
    assert all(ref.startswith("/") for ref in references), references
    for ref in references:
        asset = httpx.get(live_server.url + ref)
        assert asset.status_code == 200, ref


def test_static_files_are_served_with_their_type_and_nothing_else(live_server: LiveServer) -> None:
    script = httpx.get(live_server.url + "/emulator/ui/static/inspector.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "followFeed" in script.text
    style = httpx.get(live_server.url + "/emulator/ui/static/inspector.css")
    assert style.headers["content-type"].startswith("text/css")
    for name in ("missing.js", "..%2F__init__.py", "router.py", "%2E%2E%2Frouter.py"):
        answer = httpx.get(live_server.url + "/emulator/ui/static/" + name)
        assert answer.status_code == 404, name
        assert answer.json()["code"] == 20404


def test_docs_and_their_assets_are_served_locally(live_server: LiveServer) -> None:
    page = httpx.get(live_server.url + "/emulator/docs")
    assert page.status_code == 200
    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert {ref.rsplit("/", 1)[-1] for ref in references} >= {
        "swagger-ui-bundle.js",
        "swagger-ui.css",
    }
    assert "http" not in " ".join(references)
    for ref in references:
        asset = httpx.get(live_server.url + ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 1000, ref
    assert httpx.get(live_server.url + "/emulator/openapi.json").status_code == 200


def test_feed_is_documented_and_requires_credentials(live_server: LiveServer) -> None:
    document = httpx.get(live_server.url + "/emulator/openapi.json").json()
    assert "/emulator/ui/events" in document["paths"]
    answer = httpx.get(
        live_server.url + "/emulator/ui/events", params={"WorkspaceSid": "WS" + "0" * 32}
    )
    assert answer.status_code == 401
    assert answer.json()["code"] == 20003


def test_feed_rejects_bad_parameters_and_foreign_workspaces(
    live_server: LiveServer, client: Client, http: httpx.Client
) -> None:
    ws = client.taskrouter.v1.workspaces.create(friendly_name="Feed")
    missing = http.get("/emulator/ui/events")
    assert missing.status_code == 400
    assert "WorkspaceSid" in missing.json()["message"]
    bad_backlog = http.get("/emulator/ui/events", params={"WorkspaceSid": ws.sid, "Backlog": "-1"})
    assert bad_backlog.status_code == 400
    bad_cursor = http.get(
        "/emulator/ui/events",
        params={"WorkspaceSid": ws.sid},
        headers={"Last-Event-ID": "not-a-number"},
    )
    assert bad_cursor.status_code == 400
    assert bad_cursor.json()["code"] == 20001
    unknown = http.get("/emulator/ui/events", params={"WorkspaceSid": "WS" + "0" * 32})
    assert unknown.status_code == 404
    assert unknown.json()["code"] == 20404
    other = Account(sid=f"AC{uuid.uuid4().hex}", token="other")
    foreign = httpx.get(
        live_server.url + "/emulator/ui/events",
        params={"WorkspaceSid": ws.sid},
        auth=(other.sid, other.token),
    )
    assert foreign.status_code == 404


def test_feed_sends_the_backlog_then_new_events_and_resumes_after_a_cursor(
    client: Client, http: httpx.Client
) -> None:
    ws = client.taskrouter.v1.workspaces.create(friendly_name="Feed")
    api = client.taskrouter.v1.workspaces(ws.sid)
    recorded = list(reversed(api.events.list(minutes=60)))
    assert recorded, "creating a workspace records events"

    with _feed(http, ws.sid, Backlog=len(recorded)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = FeedReader(response)
        backlog = reader.take(len(recorded))
        assert [m["event"]["sid"] for m in backlog] == [e.sid for e in recorded]
        worker = api.workers.create(friendly_name="Alice")
        [live] = reader.take(1)
    assert live["event"]["event_type"] == "worker.created"
    assert live["event"]["resource_sid"] == worker.sid
    assert live["event"]["url"].startswith("http://127.0.0.1:")
    assert [m["id"] for m in backlog] == sorted(m["id"] for m in backlog)
    assert live["id"] > backlog[-1]["id"]

    # A resumed stream (After, or Last-Event-ID as EventSource sends it) skips the backlog.
    queue = api.task_queues.create(friendly_name="Sales")
    with _feed(http, ws.sid, After=backlog[-1]["id"]) as response:
        resumed = FeedReader(response).take(2)
    assert [m["event"]["resource_sid"] for m in resumed] == [worker.sid, queue.sid]
    with http.stream(
        "GET",
        "/emulator/ui/events",
        params={"WorkspaceSid": ws.sid},
        headers={"Last-Event-ID": str(live["id"])},
        timeout=30,
    ) as response:
        assert FeedReader(response).take(1)[0]["event"]["resource_sid"] == queue.sid


def test_feed_without_backlog_starts_at_the_next_event(client: Client, http: httpx.Client) -> None:
    ws = client.taskrouter.v1.workspaces.create(friendly_name="Feed")
    api = client.taskrouter.v1.workspaces(ws.sid)
    other = client.taskrouter.v1.workspaces.create(friendly_name="Elsewhere")
    with _feed(http, ws.sid, Backlog=0) as response:
        client.taskrouter.v1.workspaces(other.sid).workers.create(friendly_name="Not here")
        worker = api.workers.create(friendly_name="Bob")
        [first] = FeedReader(response).take(1)
    assert first["event"]["resource_sid"] == worker.sid
    assert first["event"]["workspace_sid"] == ws.sid


def test_feed_shows_events_written_by_another_server_process(
    live_server: LiveServer, account: Account, http: httpx.Client
) -> None:
    # A second emulator on the same database stands for another process: the feed reads the event
    # table, so what one server records reaches a stream served by the other.
    settings = Settings(
        database_url=live_server.settings.database_url,
        clock="frozen",
        scheduler_interval=0,
        webhook_workers=0,
    )
    other, server, thread = start_server(settings, EmulatorClock(frozen=True))
    try:
        remote = Client(account.sid, account.token)
        remote.taskrouter.base_url = other.url
        ws = remote.taskrouter.v1.workspaces.create(friendly_name="Elsewhere")
        with _feed(http, ws.sid, Backlog=0) as response:
            worker = remote.taskrouter.v1.workspaces(ws.sid).workers.create(friendly_name="Remote")
            [event] = FeedReader(response).take(1)
        assert event["event"]["event_type"] == "worker.created"
        assert event["event"]["resource_sid"] == worker.sid
    finally:
        server.should_exit = True
        thread.join(timeout=10)
