"""Workspace resource through twilio-python against a live emulator."""

from __future__ import annotations

import re

import httpx
import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from tests.conftest import LiveServer

DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _error(excinfo: pytest.ExceptionInfo[TwilioRestException]) -> tuple[int, int]:
    return excinfo.value.status, excinfo.value.code


class TestCreate:
    def test_default_contents(self, client: Client, http: httpx.Client) -> None:
        ws = client.taskrouter.v1.workspaces.create(friendly_name="Support Center")
        assert ws.friendly_name == "Support Center"
        assert ws.multi_task_enabled is True
        assert ws.prioritize_queue_order == "FIFO"
        assert ws.default_activity_name == "Offline"
        assert ws.timeout_activity_name == "Offline"
        assert ws.default_activity_sid == ws.timeout_activity_sid
        assert ws.events_filter is None
        activities = {a.friendly_name: a.available for a in ws.activities.list()}
        assert activities == {"Offline": False, "Available": True, "Unavailable": False}
        channels = {c.unique_name: c.friendly_name for c in ws.task_channels.list()}
        assert channels == {
            "default": "Default",
            "voice": "Voice",
            "chat": "Chat",
            "sms": "SMS",
            "video": "Video",
        }

    def test_raw_shape(self, http: httpx.Client, live_server: LiveServer) -> None:
        response = http.post("/v1/Workspaces", data={"FriendlyName": "Raw"})
        assert response.status_code == 201
        body = response.json()
        assert set(body) == {
            "account_sid",
            "date_created",
            "date_updated",
            "default_activity_name",
            "default_activity_sid",
            "event_callback_url",
            "events_filter",
            "friendly_name",
            "multi_task_enabled",
            "prioritize_queue_order",
            "sid",
            "timeout_activity_name",
            "timeout_activity_sid",
            "url",
            "links",
        }
        assert re.match(r"^WS[0-9a-f]{32}$", body["sid"])
        assert DATE_RE.match(body["date_created"])
        assert body["url"] == f"{live_server.url}/v1/Workspaces/{body['sid']}"
        assert set(body["links"]) == {
            "activities",
            "statistics",
            "real_time_statistics",
            "cumulative_statistics",
            "task_queues",
            "tasks",
            "workers",
            "workflows",
            "task_channels",
            "events",
        }
        assert all(url.startswith(body["url"] + "/") for url in body["links"].values())
        assert body["event_callback_url"] == ""

    def test_all_parameters(self, client: Client) -> None:
        ws = client.taskrouter.v1.workspaces.create(
            friendly_name="Full",
            event_callback_url="https://example.com/events",
            events_filter="task.created, task.canceled",
            multi_task_enabled=False,
            prioritize_queue_order="LIFO",
            template="NONE",
        )
        assert ws.event_callback_url == "https://example.com/events"
        assert ws.events_filter == "task.created, task.canceled"
        assert ws.multi_task_enabled is False
        assert ws.prioritize_queue_order == "LIFO"

    @pytest.mark.parametrize(
        ("params", "status", "code"),
        [
            ({}, 400, 20001),
            ({"FriendlyName": ""}, 400, 20002),
            ({"FriendlyName": "x" * 65}, 400, 20002),
            ({"FriendlyName": "a", "Template": "ROUND_ROBIN"}, 400, 20001),
            ({"FriendlyName": "a", "PrioritizeQueueOrder": "RANDOM"}, 400, 20001),
            ({"FriendlyName": "a", "EventCallbackUrl": "/relative"}, 400, 20001),
            ({"FriendlyName": "a", "EventCallbackUrl": "ftp://example.com"}, 400, 20001),
        ],
    )
    def test_bad_input_creates_nothing(
        self, http: httpx.Client, params: dict[str, str], status: int, code: int
    ) -> None:
        response = http.post("/v1/Workspaces", data=params)
        assert response.status_code == status
        body = response.json()
        assert body["code"] == code
        assert body["status"] == status
        assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
        assert body["message"]
        assert http.get("/v1/Workspaces").json()["workspaces"] == []


class TestFetchListDelete:
    def test_fetch(self, client: Client) -> None:
        created = client.taskrouter.v1.workspaces.create(friendly_name="Fetch me")
        fetched = client.taskrouter.v1.workspaces(created.sid).fetch()
        assert fetched.sid == created.sid
        assert fetched.date_created == created.date_created
        assert fetched.date_created.tzinfo is not None  # parsed, so the format is exact

    def test_list_pages_through_next_page_url(
        self, client: Client, http: httpx.Client, live_server: LiveServer
    ) -> None:
        sids = [
            client.taskrouter.v1.workspaces.create(friendly_name=f"WS {i}").sid for i in range(5)
        ]
        listed = client.taskrouter.v1.workspaces.list(page_size=2)
        assert [w.sid for w in listed] == sids
        page = http.get("/v1/Workspaces", params={"PageSize": 2}).json()
        meta = page["meta"]
        assert meta["key"] == "workspaces"
        assert meta["page"] == 0
        assert meta["page_size"] == 2
        assert meta["previous_page_url"] is None
        assert meta["first_page_url"] == f"{live_server.url}/v1/Workspaces?PageSize=2&Page=0"
        assert meta["url"] == meta["first_page_url"]
        assert meta["next_page_url"].startswith(
            f"{live_server.url}/v1/Workspaces?PageSize=2&Page=1&PageToken="
        )
        second = httpx.get(meta["next_page_url"], auth=http.auth).json()
        assert second["meta"]["page"] == 1
        assert second["meta"]["previous_page_url"].startswith(
            f"{live_server.url}/v1/Workspaces?PageSize=2&Page=0"
        )
        assert [w["sid"] for w in second["workspaces"]] == sids[2:4]

    def test_friendly_name_filter_is_echoed(self, client: Client, http: httpx.Client) -> None:
        client.taskrouter.v1.workspaces.create(friendly_name="Alpha Team")
        wanted = client.taskrouter.v1.workspaces.create(friendly_name="Beta Team")
        found = client.taskrouter.v1.workspaces.list(friendly_name="Beta Team")
        assert [w.sid for w in found] == [wanted.sid]
        meta = http.get("/v1/Workspaces", params={"FriendlyName": "Beta Team"}).json()["meta"]
        assert "FriendlyName=Beta+Team" in meta["url"]

    def test_paging_errors(self, http: httpx.Client) -> None:
        too_large = http.get("/v1/Workspaces", params={"PageSize": 1001})
        assert (too_large.status_code, too_large.json()["code"]) == (400, 20007)
        absolute = http.get("/v1/Workspaces", params={"Page": 2})
        assert (absolute.status_code, absolute.json()["code"]) == (400, 40153)
        assert http.get("/v1/Workspaces", params={"Page": 0}).status_code == 200
        bad_token = http.get("/v1/Workspaces", params={"Page": 1, "PageToken": "garbage"})
        assert bad_token.status_code == 400
        bad_size = http.get("/v1/Workspaces", params={"PageSize": "many"})
        assert (bad_size.status_code, bad_size.json()["code"]) == (400, 20001)

    def test_delete_then_fetch_is_404(self, client: Client) -> None:
        ws = client.taskrouter.v1.workspaces.create(friendly_name="Doomed", template="FIFO")
        assert client.taskrouter.v1.workspaces(ws.sid).delete() is True
        with pytest.raises(TwilioRestException) as excinfo:
            client.taskrouter.v1.workspaces(ws.sid).fetch()
        assert _error(excinfo) == (404, 20404)
        with pytest.raises(TwilioException, match="Unable to fetch page"):
            client.taskrouter.v1.workspaces(ws.sid).activities.list()

    @pytest.mark.parametrize("sid", ["WS123", "WQ" + "0" * 32, "nonsense", "WS" + "0" * 32])
    def test_malformed_or_unknown_sid_is_404(self, client: Client, sid: str) -> None:
        with pytest.raises(TwilioRestException) as excinfo:
            client.taskrouter.v1.workspaces(sid).fetch()
        assert _error(excinfo) == (404, 20404)


class TestUpdate:
    def test_every_field(self, client: Client) -> None:
        ws = client.taskrouter.v1.workspaces.create(friendly_name="Before")
        available = next(a for a in ws.activities.list() if a.friendly_name == "Available")
        unavailable = next(a for a in ws.activities.list() if a.friendly_name == "Unavailable")
        updated = client.taskrouter.v1.workspaces(ws.sid).update(
            friendly_name="After",
            event_callback_url="http://127.0.0.1:9/events",
            events_filter="worker.activity.update",
            default_activity_sid=available.sid,
            timeout_activity_sid=unavailable.sid,
            prioritize_queue_order="LIFO",
        )
        assert updated.friendly_name == "After"
        assert updated.event_callback_url == "http://127.0.0.1:9/events"
        assert updated.events_filter == "worker.activity.update"
        assert (updated.default_activity_sid, updated.default_activity_name) == (
            available.sid,
            "Available",
        )
        assert (updated.timeout_activity_sid, updated.timeout_activity_name) == (
            unavailable.sid,
            "Unavailable",
        )
        assert updated.prioritize_queue_order == "LIFO"
        renamed = (
            client.taskrouter.v1.workspaces(ws.sid)
            .activities(available.sid)
            .update(friendly_name="Ready")
        )
        assert renamed.friendly_name == "Ready"
        assert client.taskrouter.v1.workspaces(ws.sid).fetch().default_activity_name == "Ready"
        cleared = client.taskrouter.v1.workspaces(ws.sid).update(event_callback_url="")
        assert cleared.event_callback_url == ""

    def test_activity_of_another_workspace_is_rejected(self, client: Client) -> None:
        first = client.taskrouter.v1.workspaces.create(friendly_name="First")
        second = client.taskrouter.v1.workspaces.create(friendly_name="Second")
        foreign = second.activities.list()[0]
        for field in ("default_activity_sid", "timeout_activity_sid"):
            with pytest.raises(TwilioRestException) as excinfo:
                client.taskrouter.v1.workspaces(first.sid).update(**{field: foreign.sid})
            assert _error(excinfo) == (400, 20001)
        assert (
            client.taskrouter.v1.workspaces(first.sid).fetch().default_activity_sid
            == first.default_activity_sid
        )

    def test_bad_update_changes_nothing(self, client: Client, http: httpx.Client) -> None:
        ws = client.taskrouter.v1.workspaces.create(friendly_name="Stable")
        before = http.get(f"/v1/Workspaces/{ws.sid}").json()
        response = http.post(
            f"/v1/Workspaces/{ws.sid}",
            data={
                "FriendlyName": "Changed",
                "PrioritizeQueueOrder": "LIFO",
                "DefaultActivitySid": "WA" + "1" * 32,
            },
        )
        assert response.status_code == 400
        assert http.get(f"/v1/Workspaces/{ws.sid}").json() == before

    def test_multi_to_single_tasking_needs_another_single_tasking_workspace(
        self, client: Client
    ) -> None:
        multi = client.taskrouter.v1.workspaces.create(friendly_name="Multi")
        with pytest.raises(TwilioRestException) as excinfo:
            client.taskrouter.v1.workspaces(multi.sid).update(multi_task_enabled=False)
        assert _error(excinfo) == (400, 20001)
        assert client.taskrouter.v1.workspaces(multi.sid).fetch().multi_task_enabled is True
        client.taskrouter.v1.workspaces.create(friendly_name="Legacy", multi_task_enabled=False)
        switched = client.taskrouter.v1.workspaces(multi.sid).update(multi_task_enabled=False)
        assert switched.multi_task_enabled is False
        back = client.taskrouter.v1.workspaces(multi.sid).update(multi_task_enabled=True)
        assert back.multi_task_enabled is True
