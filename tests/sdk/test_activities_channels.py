"""Activities and TaskChannels through twilio-python."""

from __future__ import annotations

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client


@pytest.fixture
def workspace(client: Client):  # type: ignore[no-untyped-def]
    return client.taskrouter.v1.workspaces.create(friendly_name="Activities and channels")


class TestActivities:
    def test_crud(self, client: Client, workspace) -> None:  # type: ignore[no-untyped-def]
        activities = client.taskrouter.v1.workspaces(workspace.sid).activities
        created = activities.create(friendly_name="Lunch", available=False)
        assert created.available is False
        assert created.workspace_sid == workspace.sid
        assert created.links["workspace"].endswith(f"/v1/Workspaces/{workspace.sid}")
        ready = activities.create(friendly_name="Ready", available=True)
        assert ready.available is True
        assert activities(created.sid).fetch().friendly_name == "Lunch"
        renamed = activities(created.sid).update(friendly_name="Long Lunch")
        assert renamed.friendly_name == "Long Lunch"
        assert activities(created.sid).delete() is True
        with pytest.raises(TwilioRestException) as excinfo:
            activities(created.sid).fetch()
        assert (excinfo.value.status, excinfo.value.code) == (404, 20404)

    def test_available_defaults_false_and_is_immutable(
        self, client: Client, workspace, http: httpx.Client
    ) -> None:  # type: ignore[no-untyped-def]
        base = f"/v1/Workspaces/{workspace.sid}/Activities"
        created = http.post(base, data={"FriendlyName": "Paperwork"}).json()
        assert created["available"] is False
        response = http.post(f"{base}/{created['sid']}", data={"Available": "true"})
        assert response.status_code == 200
        assert response.json()["available"] is False

    @pytest.mark.parametrize(
        ("value", "expected"),
        [("true", True), ("1", True), ("YES", True), ("no", False), ("0", False), ("maybe", False)],
    )
    def test_lenient_booleans(
        self, http: httpx.Client, workspace, value: str, expected: bool
    ) -> None:  # type: ignore[no-untyped-def]
        created = http.post(
            f"/v1/Workspaces/{workspace.sid}/Activities",
            data={"FriendlyName": "B", "Available": value},
        )
        assert created.json()["available"] is expected

    def test_filters(self, client: Client, workspace) -> None:  # type: ignore[no-untyped-def]
        activities = client.taskrouter.v1.workspaces(workspace.sid).activities
        assert [a.friendly_name for a in activities.list(available="true")] == ["Available"]
        assert [a.friendly_name for a in activities.list(available="false")] == [
            "Offline",
            "Unavailable",
        ]
        assert [a.friendly_name for a in activities.list(friendly_name="Unavailable")] == [
            "Unavailable"
        ]

    def test_default_and_timeout_activity_cannot_be_deleted(
        self, client: Client, workspace
    ) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(TwilioRestException) as excinfo:
            client.taskrouter.v1.workspaces(workspace.sid).activities(
                workspace.default_activity_sid
            ).delete()
        assert (excinfo.value.status, excinfo.value.code) == (400, 20001)
        assert (
            client.taskrouter.v1.workspaces(workspace.sid)
            .activities(workspace.default_activity_sid)
            .fetch()
        )

    def test_bad_input(self, http: httpx.Client, workspace) -> None:  # type: ignore[no-untyped-def]
        base = f"/v1/Workspaces/{workspace.sid}/Activities"
        assert http.post(base, data={}).json()["code"] == 20001
        assert http.post(base, data={"FriendlyName": "x" * 65}).json()["code"] == 20002
        assert http.get(f"{base}/WA123").status_code == 404
        assert len(http.get(base).json()["activities"]) == 3


class TestTaskChannels:
    def test_crud_by_sid_and_unique_name(self, client: Client, workspace) -> None:  # type: ignore[no-untyped-def]
        channels = client.taskrouter.v1.workspaces(workspace.sid).task_channels
        created = channels.create(
            friendly_name="Email", unique_name="email", channel_optimized_routing=True
        )
        assert created.unique_name == "email"
        assert created.channel_optimized_routing is True
        assert channels("email").fetch().sid == created.sid
        assert channels(created.sid).fetch().unique_name == "email"
        updated = channels("email").update(friendly_name="E-mail", channel_optimized_routing=False)
        assert (updated.friendly_name, updated.channel_optimized_routing) == ("E-mail", False)
        assert channels("email").delete() is True
        with pytest.raises(TwilioRestException) as excinfo:
            channels("email").fetch()
        assert (excinfo.value.status, excinfo.value.code) == (404, 20404)

    def test_defaults(self, client: Client, workspace) -> None:  # type: ignore[no-untyped-def]
        voice = client.taskrouter.v1.workspaces(workspace.sid).task_channels("voice").fetch()
        assert voice.friendly_name == "Voice"
        assert voice.channel_optimized_routing is False
        assert voice.url.endswith(f"/TaskChannels/{voice.sid}")

    def test_duplicate_unique_name_rejected(
        self, client: Client, workspace, http: httpx.Client
    ) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(TwilioRestException) as excinfo:
            client.taskrouter.v1.workspaces(workspace.sid).task_channels.create(
                friendly_name="Again", unique_name="voice"
            )
        assert (excinfo.value.status, excinfo.value.code) == (400, 20001)
        assert len(http.get(f"/v1/Workspaces/{workspace.sid}/TaskChannels").json()["channels"]) == 5

    def test_bad_input(self, http: httpx.Client, workspace) -> None:  # type: ignore[no-untyped-def]
        base = f"/v1/Workspaces/{workspace.sid}/TaskChannels"
        assert http.post(base, data={"FriendlyName": "No unique"}).status_code == 400
        assert http.post(base, data={"UniqueName": "nofriendly"}).status_code == 400
        assert (
            http.post(base, data={"FriendlyName": "H", "UniqueName": "has-hyphen"}).status_code
            == 400
        )
        assert http.get(f"{base}/unknown").status_code == 404
        assert len(http.get(base).json()["channels"]) == 5

    def test_at_most_fifteen_channels(self, http: httpx.Client, workspace) -> None:  # type: ignore[no-untyped-def]
        base = f"/v1/Workspaces/{workspace.sid}/TaskChannels"
        for i in range(10):
            assert (
                http.post(base, data={"FriendlyName": f"C{i}", "UniqueName": f"c{i}"}).status_code
                == 201
            )
        response = http.post(base, data={"FriendlyName": "One too many", "UniqueName": "c99"})
        assert response.status_code == 400
