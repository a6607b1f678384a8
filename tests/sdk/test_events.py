"""The Event resource through twilio-python: the log of a workspace's changes, its window and filters."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from tests.conftest import AccountClock, LiveServer

CREATION_EVENTS = Counter(
    {"workspace.created": 1, "activity.created": 3, "task-channel.created": 5}
)
EVENT_FIELDS = {
    "account_sid",
    "actor_sid",
    "actor_type",
    "actor_url",
    "description",
    "event_data",
    "event_date",
    "event_date_ms",
    "event_type",
    "resource_sid",
    "resource_type",
    "resource_url",
    "sid",
    "source",
    "source_ip_address",
    "url",
    "workspace_sid",
}
ISO_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def workspace(client: Client):  # type: ignore[no-untyped-def]
    return client.taskrouter.v1.workspaces.create(friendly_name="Events")


def _events(client: Client, workspace_sid: str) -> Any:
    return client.taskrouter.v1.workspaces(workspace_sid).events


def _types(events: list[Any]) -> Counter[str]:
    return Counter(e.event_type for e in events)


def _error(response: httpx.Response) -> tuple[int, int]:
    return response.status_code, response.json()["code"]


def _list_error(excinfo: pytest.ExceptionInfo[TwilioException]) -> tuple[int, int, str]:
    """Status, code and message of a failed list (twilio-python raises a bare TwilioException)."""
    response = excinfo.value.args[1]
    body = json.loads(response.text)
    return response.status_code, body["code"], body["message"]


class TestListAndFetch:
    def test_new_workspace_events(self, client: Client, workspace, live_server: LiveServer) -> None:  # type: ignore[no-untyped-def]
        events = _events(client, workspace.sid).list()
        assert _types(events) == CREATION_EVENTS
        workspace_url = f"{live_server.url}/v1/Workspaces/{workspace.sid}"
        for event in events:
            assert event.sid.startswith("EV")
            assert event.account_sid == workspace.account_sid
            assert event.workspace_sid == workspace.sid
            assert (event.actor_type, event.actor_sid, event.actor_url) == (
                "workspace",
                workspace.sid,
                workspace_url,
            )
            assert event.source == "twilio"
            assert event.url == f"{workspace_url}/Events/{event.sid}"
            assert event.resource_url.startswith(f"{workspace_url}")
            assert event.resource_url.endswith(event.resource_sid)
            assert event.event_data["workspace_sid"] == workspace.sid
            assert event.event_data["workspace_name"] == "Events"
            assert event.event_date_ms // 1000 == int(event.event_date.timestamp())
        # Newest first: the workspace's own creation event is the oldest.
        assert events[-1].event_type == "workspace.created"
        assert events[-1].resource_url == workspace_url
        assert events[-1].resource_type == "workspace"
        keys = [(e.event_date, e.event_date_ms) for e in events]
        assert keys == sorted(keys, reverse=True)

    def test_wire_shape(self, http: httpx.Client, workspace) -> None:  # type: ignore[no-untyped-def]
        body = http.get(f"/v1/Workspaces/{workspace.sid}/Events").json()
        assert body["meta"]["key"] == "events"
        assert len(body["events"]) == 9
        for event in body["events"]:
            assert set(event) == EVENT_FIELDS
            assert isinstance(event["event_data"], dict)
            assert all(isinstance(v, str) for v in event["event_data"].values())
            assert ISO_SECONDS.match(event["event_date"])
            assert isinstance(event["event_date_ms"], int)
        fetched = http.get(body["events"][0]["url"])
        assert fetched.status_code == 200
        assert fetched.json() == body["events"][0]

    def test_fetch_activity_event(self, client: Client, workspace) -> None:  # type: ignore[no-untyped-def]
        events = _events(client, workspace.sid)
        created = events.list(event_type="activity.created")
        assert len(created) == 3
        available = next(e for e in created if e.event_data["activity_name"] == "Available")
        event = events(available.sid).fetch()
        assert event.sid == available.sid
        assert event.event_type == "activity.created"
        assert event.resource_type == "activity"
        assert event.resource_sid.startswith("WA")
        assert event.resource_url.endswith(
            f"/Workspaces/{workspace.sid}/Activities/{event.resource_sid}"
        )
        assert event.description
        assert event.event_data == {
            "workspace_sid": workspace.sid,
            "workspace_name": "Events",
            "activity_sid": event.resource_sid,
            "activity_name": "Available",
            "activity_available": "true",
        }

    def test_update_and_delete_events(self, client: Client, workspace) -> None:  # type: ignore[no-untyped-def]
        ws = client.taskrouter.v1.workspaces(workspace.sid)
        lunch = ws.activities.create(friendly_name="Lunch")
        ws.activities(lunch.sid).update(friendly_name="Long Lunch")
        ws.activities(lunch.sid).delete()
        ws.update(friendly_name="Events renamed")
        newest = ws.events.list(limit=4)
        assert [e.event_type for e in newest] == [
            "workspace.updated",
            "activity.deleted",
            "activity.updated",
            "activity.created",
        ]
        assert newest[0].event_data["workspace_name"] == "Events renamed"
        assert {e.resource_sid for e in newest[1:]} == {lunch.sid}
        assert newest[1].event_data["activity_name"] == "Long Lunch"


class TestFilters:
    def test_event_type(self, client: Client, workspace, http: httpx.Client) -> None:  # type: ignore[no-untyped-def]
        events = _events(client, workspace.sid)
        assert _types(events.list(event_type="task-channel.created")) == {"task-channel.created": 5}
        assert events.list(event_type="reservation.created") == []
        assert _types(events.list(event_type="workspace.created,activity.created")) == {
            "workspace.created": 1,
            "activity.created": 3,
        }
        url = f"/v1/Workspaces/{workspace.sid}/Events"
        repeated = http.get(
            url, params=[("EventType", "workspace.created"), ("EventType", "activity.created")]
        )
        assert len(repeated.json()["events"]) == 4

    def test_sid(self, client: Client, workspace) -> None:  # type: ignore[no-untyped-def]
        events = _events(client, workspace.sid)
        wanted = events.list()[3]
        assert [e.sid for e in events.list(sid=wanted.sid)] == [wanted.sid]
        assert events.list(sid=f"EV{uuid.uuid4().hex}") == []

    def test_task_channel(self, client: Client, workspace) -> None:  # type: ignore[no-untyped-def]
        ws = client.taskrouter.v1.workspaces(workspace.sid)
        voice = ws.task_channels("voice").fetch()
        ws.task_channels(voice.sid).update(friendly_name="Phone")
        fax = ws.task_channels.create(friendly_name="Fax", unique_name="fax")
        ws.task_channels(fax.sid).delete()

        by_name = ws.events.list(task_channel="voice")
        assert [e.event_type for e in by_name] == ["task-channel.updated", "task-channel.created"]
        assert {e.resource_sid for e in by_name} == {voice.sid}
        assert [e.sid for e in ws.events.list(task_channel=voice.sid)] == [e.sid for e in by_name]
        assert by_name[0].event_data["task_channel_unique_name"] == "voice"
        assert by_name[0].event_data["task_channel_name"] == "Phone"
        # A deleted channel's events are still found by its SID and unique name.
        assert [e.event_type for e in ws.events.list(task_channel="fax")] == [
            "task-channel.deleted",
            "task-channel.created",
        ]
        assert len(ws.events.list(task_channel=fax.sid)) == 2
        assert ws.events.list(task_channel="carrier-pigeon") == []
        assert ws.events.list(task_channel=f"TC{uuid.uuid4().hex}") == []

    @pytest.mark.parametrize(
        ("argument", "prefix"),
        [
            ("task_sid", "WT"),
            ("worker_sid", "WK"),
            ("reservation_sid", "WR"),
            ("task_queue_sid", "WQ"),
            ("workflow_sid", "WW"),
        ],
    )
    def test_related_resource_sid_without_events(
        self, client: Client, workspace, http: httpx.Client, argument: str, prefix: str
    ) -> None:  # type: ignore[no-untyped-def]
        unrelated = f"{prefix}{uuid.uuid4().hex}"
        assert _events(client, workspace.sid).list(**{argument: unrelated}) == []
        name = "".join(part.capitalize() for part in argument.split("_"))
        response = http.get(f"/v1/Workspaces/{workspace.sid}/Events", params={name: unrelated})
        assert response.status_code == 200
        assert response.json()["events"] == []

    def test_worker_sid(self, client: Client, workspace, http: httpx.Client) -> None:  # type: ignore[no-untyped-def]
        created = http.post(
            f"/v1/Workspaces/{workspace.sid}/Workers", data={"FriendlyName": "Alice"}
        )
        assert created.status_code == 201
        worker_sid = created.json()["sid"]
        events = _events(client, workspace.sid).list(worker_sid=worker_sid)
        assert "worker.created" in _types(events)
        assert all(e.event_data["worker_sid"] == worker_sid for e in events)
        assert _events(client, workspace.sid).list(worker_sid=f"WK{uuid.uuid4().hex}") == []


class TestWindow:
    def test_default_window_is_fifteen_minutes(
        self, client: Client, workspace, live_server: LiveServer, clock: AccountClock
    ) -> None:  # type: ignore[no-untyped-def]
        events = _events(client, workspace.sid)
        clock.advance(14 * 60)
        assert len(events.list()) == 9
        clock.advance(2 * 60)
        assert events.list() == []
        assert len(events.list(minutes=17)) == 9
        assert events.list(minutes=15) == []
        client.taskrouter.v1.workspaces(workspace.sid).update(friendly_name="Later")
        assert [e.event_type for e in events.list()] == ["workspace.updated"]
        assert len(events.list(minutes=60)) == 10
        # A look-back beyond the retention period is simply the whole retention period.
        assert len(events.list(minutes=10_000_000)) == 10

    def test_start_and_end_date(self, client: Client, workspace, live_server: LiveServer, clock: AccountClock) -> None:  # type: ignore[no-untyped-def]
        events = _events(client, workspace.sid)
        created_at = clock.now()
        clock.advance(60 * 60)
        client.taskrouter.v1.workspaces(workspace.sid).update(friendly_name="An hour later")
        updated_at = clock.now()
        minute = timedelta(minutes=1)

        around_creation = events.list(start_date=created_at - minute, end_date=created_at + minute)
        assert _types(around_creation) == CREATION_EVENTS
        # EndDate defaults to now.
        assert [e.event_type for e in events.list(start_date=updated_at - minute)] == [
            "workspace.updated"
        ]
        assert len(events.list(start_date=created_at - minute)) == 10
        # StartDate defaults to 15 minutes before EndDate.
        assert _types(events.list(end_date=created_at + minute)) == CREATION_EVENTS
        assert events.list(end_date=created_at + 20 * minute) == []
        assert events.list(start_date=created_at + minute, end_date=updated_at - minute) == []
        # A twilio-python window filter combines with the other filters.
        assert [
            e.event_type
            for e in events.list(
                start_date=created_at - minute,
                end_date=updated_at + minute,
                event_type="workspace.updated",
            )
        ] == ["workspace.updated"]

    def test_start_date_within_retention_is_accepted(
        self, client: Client, workspace, live_server: LiveServer, clock: AccountClock
    ) -> None:  # type: ignore[no-untyped-def]
        start = clock.now() - timedelta(days=29, hours=23)
        assert len(_events(client, workspace.sid).list(start_date=start)) == 9


class TestPaging:
    def test_sdk_follows_next_page_url(self, client: Client, workspace) -> None:  # type: ignore[no-untyped-def]
        events = _events(client, workspace.sid)
        everything = events.list()
        paged = events.list(page_size=2)
        assert [e.sid for e in paged] == [e.sid for e in everything]
        assert len(paged) == 9

    def test_filters_are_echoed_in_page_urls(self, http: httpx.Client, workspace) -> None:  # type: ignore[no-untyped-def]
        response = http.get(
            f"/v1/Workspaces/{workspace.sid}/Events",
            params={"EventType": "task-channel.created", "PageSize": 2},
        )
        seen: list[str] = []
        pages = 0
        while True:
            body = response.json()
            pages += 1
            assert len(body["events"]) <= 2
            seen.extend(e["sid"] for e in body["events"])
            assert all(e["event_type"] == "task-channel.created" for e in body["events"])
            next_url = body["meta"]["next_page_url"]
            if next_url is None:
                break
            assert "EventType=task-channel.created" in next_url
            assert "PageToken=" in next_url
            response = http.get(next_url)
            assert response.status_code == 200
        assert pages == 3
        assert len(seen) == len(set(seen)) == 5


class TestErrors:
    def test_minutes_with_dates(self, client: Client, workspace, live_server: LiveServer, clock: AccountClock) -> None:  # type: ignore[no-untyped-def]
        now = clock.now()
        events = _events(client, workspace.sid)
        for window in ({"start_date": now}, {"end_date": now}):
            with pytest.raises(TwilioException) as excinfo:
                events.list(minutes=10, **window)
            assert _list_error(excinfo)[:2] == (400, 20001)

    def test_start_date_older_than_retention(
        self, client: Client, workspace, http: httpx.Client, live_server: LiveServer, clock: AccountClock
    ) -> None:  # type: ignore[no-untyped-def]
        old = clock.now() - timedelta(days=31)
        with pytest.raises(TwilioException) as excinfo:
            _events(client, workspace.sid).list(start_date=old)
        status, code, message = _list_error(excinfo)
        assert (status, code) == (400, 14241)
        assert "older than 30 days" in message
        # An old EndDate alone puts the default StartDate out of range too.
        response = http.get(
            f"/v1/Workspaces/{workspace.sid}/Events",
            params={"EndDate": old.strftime("%Y-%m-%dT%H:%M:%SZ")},
        )
        assert _error(response) == (400, 14241)

    def test_start_after_end(self, client: Client, workspace, live_server: LiveServer, clock: AccountClock) -> None:  # type: ignore[no-untyped-def]
        now = clock.now()
        with pytest.raises(TwilioException) as excinfo:
            _events(client, workspace.sid).list(start_date=now, end_date=now - timedelta(hours=1))
        assert _list_error(excinfo)[:2] == (400, 20001)

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("StartDate", "yesterday"),
            ("EndDate", "2024-13-45T00:00:00Z"),
            ("Minutes", "ten"),
            ("Minutes", "0"),
            ("Minutes", "-5"),
        ],
    )
    def test_bad_values(self, http: httpx.Client, workspace, name: str, value: str) -> None:  # type: ignore[no-untyped-def]
        response = http.get(f"/v1/Workspaces/{workspace.sid}/Events", params={name: value})
        assert _error(response) == (400, 20001)
        assert name in response.json()["message"]

    @pytest.mark.parametrize(
        "sid", ["EV123", f"WA{uuid.uuid4().hex}", f"EV{uuid.uuid4().hex}", "not-a-sid"]
    )
    def test_fetch_unknown_or_malformed(self, client: Client, workspace, sid: str) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(TwilioRestException) as excinfo:
            _events(client, workspace.sid)(sid).fetch()
        assert (excinfo.value.status, excinfo.value.code) == (404, 20404)

    def test_other_account_cannot_read(
        self, client: Client, workspace, live_server: LiveServer
    ) -> None:  # type: ignore[no-untyped-def]
        sid = _events(client, workspace.sid).list()[0].sid
        other = Client(f"AC{uuid.uuid4().hex}", uuid.uuid4().hex)
        other.taskrouter.base_url = live_server.url
        with pytest.raises(TwilioRestException) as excinfo:
            _events(other, workspace.sid)(sid).fetch()
        assert (excinfo.value.status, excinfo.value.code) == (404, 20404)
        with pytest.raises(TwilioException) as listing:
            _events(other, workspace.sid).list()
        assert _list_error(listing)[:2] == (404, 20404)
        # Nor through one of its own workspaces.
        own = other.taskrouter.v1.workspaces.create(friendly_name="Other")
        with pytest.raises(TwilioRestException) as excinfo:
            _events(other, own.sid)(sid).fetch()
        assert (excinfo.value.status, excinfo.value.code) == (404, 20404)
        assert sid not in {e.sid for e in _events(other, own.sid).list()}
