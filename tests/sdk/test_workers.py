"""Workers and WorkerChannels through twilio-python (and raw HTTP where the library cannot reach)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from taskrouter_emulator.api import pagination
from tests.conftest import AccountClock, LiveServer

WORKER_FIELDS = {
    "account_sid",
    "activity_name",
    "activity_sid",
    "attributes",
    "available",
    "date_created",
    "date_status_changed",
    "date_updated",
    "friendly_name",
    "sid",
    "workspace_sid",
    "url",
    "links",
}
WORKER_LINKS = {
    "channels",
    "activity",
    "workspace",
    "statistics",
    "real_time_statistics",
    "cumulative_statistics",
    "worker_statistics",
    "worker_channels",
    "reservations",
}
CHANNEL_FIELDS = {
    "account_sid",
    "assigned_tasks",
    "available",
    "available_capacity_percentage",
    "configured_capacity",
    "date_created",
    "date_updated",
    "sid",
    "task_channel_sid",
    "task_channel_unique_name",
    "worker_sid",
    "workspace_sid",
    "url",
}


def _error(excinfo: pytest.ExceptionInfo[TwilioRestException]) -> tuple[int, int]:
    return excinfo.value.status, excinfo.value.code


@pytest.fixture
def workspace(client: Client) -> Any:
    return client.taskrouter.v1.workspaces.create(friendly_name="Workers")


@pytest.fixture
def activity(client: Client, workspace: Any) -> dict[str, str]:
    """The SIDs of the workspace's default activities, by name."""
    return {
        a.friendly_name: a.sid
        for a in client.taskrouter.v1.workspaces(workspace.sid).activities.list()
    }


def _workers(client: Client, workspace: Any) -> Any:
    return client.taskrouter.v1.workspaces(workspace.sid).workers


def _names(workers: list[Any]) -> list[str]:
    return [w.friendly_name for w in workers]


def _events(http: httpx.Client, workspace: Any, event_type: str) -> list[dict[str, Any]] | None:
    """The workspace's events of one type, or None while the Events route does not exist yet."""
    response = http.get(f"/v1/Workspaces/{workspace.sid}/Events", params={"EventType": event_type})
    if response.status_code != 200:
        return None
    events: list[dict[str, Any]] = response.json()["events"]
    return events


class TestCrud:
    def test_create_defaults(
        self, client: Client, workspace: Any, http: httpx.Client, live_server: LiveServer, clock: AccountClock
    ) -> None:
        worker = _workers(client, workspace).create(friendly_name="Alice")
        assert worker.sid.startswith("WK")
        assert worker.account_sid == workspace.account_sid
        assert worker.workspace_sid == workspace.sid
        assert worker.friendly_name == "Alice"
        assert worker.attributes == "{}"
        assert worker.activity_sid == workspace.default_activity_sid
        assert worker.activity_name == "Offline"
        assert worker.available is False
        assert worker.date_created == clock.now().replace(microsecond=0)
        assert worker.date_status_changed == worker.date_created == worker.date_updated
        base = f"{live_server.url}/v1/Workspaces/{workspace.sid}"
        assert worker.url == f"{base}/Workers/{worker.sid}"
        assert worker.links == {
            "channels": f"{base}/Workers/{worker.sid}/Channels",
            "activity": f"{base}/Activities/{workspace.default_activity_sid}",
            "workspace": base,
            "statistics": f"{base}/Workers/Statistics",
            "real_time_statistics": f"{base}/Workers/RealTimeStatistics",
            "cumulative_statistics": f"{base}/Workers/CumulativeStatistics",
            "worker_statistics": f"{base}/Workers/{worker.sid}/Statistics",
            "worker_channels": f"{base}/Workers/{worker.sid}/Channels",
            "reservations": f"{base}/Workers/{worker.sid}/Reservations",
        }

    def test_raw_shape_and_etag(self, http: httpx.Client, workspace: Any) -> None:
        base = f"/v1/Workspaces/{workspace.sid}/Workers"
        created = http.post(base, data={"FriendlyName": "Raw"})
        assert created.status_code == 201
        assert created.headers["ETag"] == "0"
        body = created.json()
        assert set(body) == WORKER_FIELDS
        assert set(body["links"]) == WORKER_LINKS
        fetched = http.get(f"{base}/{body['sid']}")
        assert fetched.status_code == 200
        assert fetched.headers["ETag"] == "0"
        assert fetched.json() == body
        listed = http.get(base).json()
        assert listed["meta"]["key"] == "workers"
        assert listed["workers"] == [body]

    def test_create_with_activity_and_attributes(
        self, client: Client, workspace: Any, activity: dict[str, str]
    ) -> None:
        attributes = json.dumps({"skills": ["support", "sales"], "level": 4})
        worker = _workers(client, workspace).create(
            friendly_name="Bob", activity_sid=activity["Available"], attributes=attributes
        )
        assert worker.activity_name == "Available"
        assert worker.available is True
        assert json.loads(worker.attributes) == {"skills": ["support", "sales"], "level": 4}
        fetched = _workers(client, workspace)(worker.sid).fetch()
        assert fetched.attributes == attributes
        assert fetched.activity_sid == activity["Available"]

    def test_update_and_delete(self, client: Client, workspace: Any, http: httpx.Client) -> None:
        workers = _workers(client, workspace)
        worker = workers.create(friendly_name="Carol")
        updated = workers(worker.sid).update(
            friendly_name="Caroline", attributes='{"team": "blue"}'
        )
        assert updated.friendly_name == "Caroline"
        assert updated.attributes == '{"team": "blue"}'
        assert updated.activity_name == "Offline"
        fetched = workers(worker.sid).fetch()
        assert (fetched.friendly_name, fetched.attributes) == ("Caroline", '{"team": "blue"}')
        assert workers(worker.sid).delete() is True
        with pytest.raises(TwilioRestException) as excinfo:
            workers(worker.sid).fetch()
        assert _error(excinfo) == (404, 20404)
        assert workers.list() == []
        assert (
            http.get(f"/v1/Workspaces/{workspace.sid}/Workers/{worker.sid}/Channels").status_code
            == 404
        )
        # The name is free again.
        assert workers.create(friendly_name="caroline").friendly_name == "caroline"

    def test_rename_in_another_case_is_allowed(self, client: Client, workspace: Any) -> None:
        workers = _workers(client, workspace)
        worker = workers.create(friendly_name="dave")
        assert workers(worker.sid).update(friendly_name="Dave").friendly_name == "Dave"

    def test_unknown_and_malformed_sids(self, http: httpx.Client, workspace: Any) -> None:
        base = f"/v1/Workspaces/{workspace.sid}/Workers"
        for path in (
            f"{base}/WK{'0' * 32}",
            f"{base}/WK123",
            f"{base}/WA{'0' * 32}",
            f"{base}/WK{'0' * 32}/Channels",
            f"{base}/WK{'0' * 32}/Channels/voice",
        ):
            response = http.get(path)
            assert response.status_code == 404, path
            assert response.json()["code"] == 20404
        assert http.post(f"{base}/WK{'0' * 32}", data={"FriendlyName": "x"}).status_code == 404
        assert http.delete(f"{base}/WK{'0' * 32}").status_code == 404

    def test_other_accounts_workers_are_not_found(
        self, client: Client, workspace: Any, live_server: LiveServer
    ) -> None:
        worker = _workers(client, workspace).create(friendly_name="Private")
        stranger = Client(f"AC{'1' * 32}", "token")
        stranger.taskrouter.base_url = live_server.url
        with pytest.raises(TwilioRestException) as excinfo:
            stranger.taskrouter.v1.workspaces(workspace.sid).workers(worker.sid).fetch()
        assert excinfo.value.status == 404


class TestActivityChanges:
    def test_activity_change(
        self,
        client: Client,
        workspace: Any,
        activity: dict[str, str],
        http: httpx.Client,
        live_server: LiveServer, clock: AccountClock,
    ) -> None:
        workers = _workers(client, workspace)
        worker = workers.create(friendly_name="Alice")
        clock.advance(90.5)
        moved = workers(worker.sid).update(activity_sid=activity["Available"])
        assert moved.activity_sid == activity["Available"]
        assert moved.activity_name == "Available"
        assert moved.available is True
        assert moved.date_status_changed == clock.now().replace(microsecond=0)
        assert moved.date_status_changed - worker.date_status_changed >= timedelta(seconds=90)
        assert moved.date_updated == moved.date_status_changed
        assert moved.date_created == worker.date_created
        assert workers(worker.sid).fetch().available is True

        # The same activity again changes nothing.
        clock.advance(10)
        again = http.post(
            f"/v1/Workspaces/{workspace.sid}/Workers/{worker.sid}",
            data={"ActivitySid": activity["Available"]},
        )
        assert again.headers["ETag"] == "1"
        assert again.json()["date_status_changed"] == moved.date_status_changed.strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )

        events = _events(http, workspace, "worker.activity.update")
        if events is not None:
            assert len(events) == 1
            event = events[0]
            assert event["resource_sid"] == worker.sid
            assert event["resource_type"] == "worker"
            assert event["description"] == "Worker Alice updated to Available Activity"
            data = event["event_data"]
            assert data["worker_activity_sid"] == activity["Available"]
            assert data["worker_activity_name"] == "Available"
            assert data["worker_previous_activity_sid"] == activity["Offline"]
            assert data["worker_previous_activity_name"] == "Offline"
            assert data["worker_time_in_previous_activity"] == "90"
            assert data["worker_time_in_previous_activity_ms"] == "90500"

    def test_deleting_an_occupied_activity_is_refused(self, client: Client, workspace: Any) -> None:
        ws = client.taskrouter.v1.workspaces(workspace.sid)
        lunch = ws.activities.create(friendly_name="Lunch", available=False)
        worker = ws.workers.create(friendly_name="Hungry", activity_sid=lunch.sid)
        with pytest.raises(TwilioRestException) as excinfo:
            ws.activities(lunch.sid).delete()
        assert _error(excinfo) == (400, 20001)
        assert ws.activities(lunch.sid).fetch().friendly_name == "Lunch"
        ws.workers(worker.sid).update(activity_sid=workspace.default_activity_sid)
        assert ws.activities(lunch.sid).delete() is True

    def test_reject_pending_reservations(
        self, client: Client, workspace: Any, activity: dict[str, str], http: httpx.Client
    ) -> None:
        workers = _workers(client, workspace)
        worker = workers.create(friendly_name="Erin", activity_sid=activity["Available"])
        with pytest.raises(TwilioRestException) as excinfo:
            workers(worker.sid).update(
                activity_sid=activity["Available"], reject_pending_reservations=True
            )
        assert _error(excinfo) == (400, 20001)
        # Staying in an available activity is just as invalid.
        with pytest.raises(TwilioRestException) as excinfo:
            workers(worker.sid).update(reject_pending_reservations=True)
        assert _error(excinfo) == (400, 20001)
        assert workers(worker.sid).fetch().activity_name == "Available"
        moved = workers(worker.sid).update(
            activity_sid=activity["Unavailable"], reject_pending_reservations=True
        )
        assert moved.activity_name == "Unavailable"
        assert moved.available is False
        reservations = http.get(f"/v1/Workspaces/{workspace.sid}/Workers/{worker.sid}/Reservations")
        if reservations.status_code == 200:
            assert reservations.json()["reservations"] == []

    def test_attribute_events(self, client: Client, workspace: Any, http: httpx.Client) -> None:
        workers = _workers(client, workspace)
        worker = workers.create(friendly_name="Frank")
        workers(worker.sid).update(attributes='{"a": 1}')
        workers(worker.sid).update(friendly_name="Francis")
        workers(worker.sid).delete()
        created = _events(http, workspace, "worker.created")
        if created is None:
            return
        assert [e["resource_sid"] for e in created] == [worker.sid]
        updates = _events(http, workspace, "worker.attributes.update")
        assert updates is not None
        assert len(updates) == 1
        assert updates[0]["event_data"]["worker_attributes"] == '{"a": 1}'
        assert updates[0]["event_data"]["worker_version"] == "1"
        deleted = _events(http, workspace, "worker.deleted")
        assert deleted is not None
        assert [e["event_data"]["worker_name"] for e in deleted] == ["Francis"]


class TestEtag:
    def test_version_and_if_match(self, http: httpx.Client, workspace: Any) -> None:
        base = f"/v1/Workspaces/{workspace.sid}/Workers"
        sid = http.post(base, data={"FriendlyName": "Versioned"}).json()["sid"]
        first = http.post(
            f"{base}/{sid}", data={"Attributes": '{"v": 1}'}, headers={"If-Match": "0"}
        )
        assert first.status_code == 200
        assert first.headers["ETag"] == "1"
        stale = http.post(
            f"{base}/{sid}", data={"Attributes": '{"v": 2}'}, headers={"If-Match": "0"}
        )
        assert stale.status_code == 412
        assert stale.json() == {
            "code": 20412,
            "message": "Precondition failed: ETag 1 does not match If-Match 0",
            "more_info": "https://www.twilio.com/docs/errors/20412",
            "status": 412,
        }
        assert http.get(f"{base}/{sid}").json()["attributes"] == '{"v": 1}'
        quoted = http.post(
            f"{base}/{sid}", data={"FriendlyName": "Renamed"}, headers={"If-Match": '"1"'}
        )
        assert quoted.status_code == 200
        assert quoted.headers["ETag"] == "2"
        # An update that changes nothing keeps the version.
        assert http.post(f"{base}/{sid}", data={"FriendlyName": "Renamed"}).headers["ETag"] == "2"
        refused = http.delete(f"{base}/{sid}", headers={"If-Match": "1"})
        assert refused.status_code == 412
        assert refused.json()["code"] == 20412
        assert http.get(f"{base}/{sid}").status_code == 200
        assert http.delete(f"{base}/{sid}", headers={"If-Match": "2"}).status_code == 204

    def test_if_match_through_the_library(self, client: Client, workspace: Any) -> None:
        workers = _workers(client, workspace)
        worker = workers.create(friendly_name="Lib")
        assert (
            workers(worker.sid).update(if_match="0", attributes='{"x": 1}').attributes == '{"x": 1}'
        )
        with pytest.raises(TwilioRestException) as excinfo:
            workers(worker.sid).update(if_match="0", attributes='{"x": 2}')
        assert _error(excinfo) == (412, 20412)
        # twilio-python drops If-Match on delete (it resets its headers), so only the raw test checks it.
        assert workers(worker.sid).delete() is True


class TestBadInput:
    @pytest.mark.parametrize(
        ("data", "code"),
        [
            ({}, 20001),
            ({"FriendlyName": "x" * 65}, 20002),
            ({"FriendlyName": "J", "Attributes": "{not json"}, 20001),
            ({"FriendlyName": "J", "Attributes": "[1, 2]"}, 20001),
            ({"FriendlyName": "J", "Attributes": '"text"'}, 20001),
            ({"FriendlyName": "J", "Attributes": json.dumps({"k": "v" * 4090})}, 20001),
            ({"FriendlyName": "J", "ActivitySid": f"WA{'0' * 32}"}, 20001),
            ({"FriendlyName": "J", "ActivitySid": "not-a-sid"}, 20001),
        ],
    )
    def test_create_rejected(
        self, http: httpx.Client, workspace: Any, data: dict[str, str], code: int
    ) -> None:
        base = f"/v1/Workspaces/{workspace.sid}/Workers"
        response = http.post(base, data=data)
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == code
        assert set(body) == {"code", "message", "more_info", "status"}
        assert http.get(base).json()["workers"] == []

    def test_attributes_length_counts_whitespace(self, http: httpx.Client, workspace: Any) -> None:
        base = f"/v1/Workspaces/{workspace.sid}/Workers"
        exact = '{"k": "' + "v" * (4096 - 10) + '"}'
        assert len(exact) == 4096 - 1
        padded = exact + " "
        assert (
            http.post(base, data={"FriendlyName": "Max", "Attributes": padded}).status_code == 201
        )
        response = http.post(base, data={"FriendlyName": "Over", "Attributes": padded + " "})
        assert response.status_code == 400
        assert "4096" in response.json()["message"]

    def test_duplicate_name_in_another_case(self, client: Client, workspace: Any) -> None:
        workers = _workers(client, workspace)
        workers.create(friendly_name="Alice")
        with pytest.raises(TwilioRestException) as excinfo:
            workers.create(friendly_name="ALICE")
        assert _error(excinfo) == (400, 20001)
        assert "already exists" in excinfo.value.msg
        bob = workers.create(friendly_name="Bob")
        with pytest.raises(TwilioRestException) as excinfo:
            workers(bob.sid).update(friendly_name="alice")
        assert _error(excinfo) == (400, 20001)
        assert _names(workers.list()) == ["Alice", "Bob"]

    def test_activity_of_another_workspace(self, client: Client, workspace: Any) -> None:
        other = client.taskrouter.v1.workspaces.create(friendly_name="Other")
        foreign = other.activities.list(friendly_name="Available")[0].sid
        workers = _workers(client, workspace)
        with pytest.raises(TwilioRestException) as excinfo:
            workers.create(friendly_name="Gina", activity_sid=foreign)
        assert _error(excinfo) == (400, 20001)
        gina = workers.create(friendly_name="Gina")
        with pytest.raises(TwilioRestException) as excinfo:
            workers(gina.sid).update(activity_sid=foreign)
        assert _error(excinfo) == (400, 20001)
        assert workers(gina.sid).fetch().activity_name == "Offline"

    def test_bad_updates_change_nothing(self, http: httpx.Client, workspace: Any) -> None:
        base = f"/v1/Workspaces/{workspace.sid}/Workers"
        before = http.post(base, data={"FriendlyName": "Stable", "Attributes": '{"a": 1}'}).json()
        url = f"{base}/{before['sid']}"
        for data in (
            {"Attributes": "nope"},
            {"Attributes": "[]"},
            {"Attributes": '{"k": "' + "v" * 4096 + '"}'},
            {"FriendlyName": ""},
            {"FriendlyName": "y" * 65},
            {"ActivitySid": f"WA{'0' * 32}"},
            {"FriendlyName": "Other", "ActivitySid": f"WA{'0' * 32}"},
        ):
            response = http.post(url, data=data)
            assert response.status_code == 400, data
        after = http.get(url)
        assert after.json() == before
        assert after.headers["ETag"] == "0"

    @pytest.mark.parametrize(
        "expression",
        ["skill-level > 3", "level >", "(a == 1", "", "a == 'unterminated"],
    )
    def test_bad_target_workers_expression(
        self, http: httpx.Client, workspace: Any, expression: str
    ) -> None:
        response = http.get(
            f"/v1/Workspaces/{workspace.sid}/Workers",
            params={"TargetWorkersExpression": expression},
        )
        assert response.status_code == 400
        assert response.json()["code"] == 20001
        assert "TargetWorkersExpression" in response.json()["message"]

    @pytest.mark.parametrize(
        "ordering",
        ["FriendlyName:asc", "DateCreated", "DateCreated:up", "DateCreated:asc,Sid:desc"],
    )
    def test_bad_ordering(self, http: httpx.Client, workspace: Any, ordering: str) -> None:
        response = http.get(
            f"/v1/Workspaces/{workspace.sid}/Workers", params={"Ordering": ordering}
        )
        assert response.status_code == 400
        assert response.json()["code"] == 20001


class TestList:
    @pytest.fixture
    def team(self, client: Client, workspace: Any, activity: dict[str, str]) -> dict[str, Any]:
        workers = _workers(client, workspace)
        return {
            "Alice": workers.create(
                friendly_name="Alice",
                activity_sid=activity["Available"],
                attributes=json.dumps({"skills": ["support"], "level": 5, "team": "blue"}),
            ),
            "Bob": workers.create(
                friendly_name="Bob",
                attributes=json.dumps({"skills": ["sales"], "level": 2, "team": "red"}),
            ),
            "Carol": workers.create(
                friendly_name="Carol",
                activity_sid=activity["Unavailable"],
                attributes=json.dumps({"skills": ["support", "sales"], "level": 3}),
            ),
            "Dan": workers.create(
                friendly_name="Dan",
                activity_sid=activity["Available"],
                attributes=json.dumps({"skills": [], "level": 1, "team": "blue"}),
            ),
        }

    def test_unfiltered_in_creation_order_with_attributes(
        self, client: Client, workspace: Any, team: dict[str, Any]
    ) -> None:
        listed = _workers(client, workspace).list()
        assert _names(listed) == ["Alice", "Bob", "Carol", "Dan"]
        assert json.loads(listed[0].attributes)["team"] == "blue"
        assert [w.activity_name for w in listed] == [
            "Available",
            "Offline",
            "Unavailable",
            "Available",
        ]
        assert [w.available for w in listed] == [True, False, False, True]

    def test_activity_filters(
        self, client: Client, workspace: Any, team: dict[str, Any], activity: dict[str, str]
    ) -> None:
        workers = _workers(client, workspace)
        assert _names(workers.list(activity_name="Available")) == ["Alice", "Dan"]
        assert _names(workers.list(activity_name="Offline")) == ["Bob"]
        assert _names(workers.list(activity_name="Nope")) == []
        assert _names(workers.list(activity_sid=activity["Unavailable"])) == ["Carol"]
        assert _names(workers.list(activity_sid=f"WA{'0' * 32}")) == []
        assert _names(
            workers.list(activity_sid=activity["Available"], activity_name="Available")
        ) == [
            "Alice",
            "Dan",
        ]
        assert _names(workers.list(friendly_name="Carol")) == ["Carol"]
        assert _names(workers.list(friendly_name="carol")) == []

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("true", ["Alice", "Dan"]),
            ("yes", ["Alice", "Dan"]),
            ("1", ["Alice", "Dan"]),
            ("TRUE", ["Alice", "Dan"]),
            ("false", ["Bob", "Carol"]),
            ("0", ["Bob", "Carol"]),
            ("whatever", ["Bob", "Carol"]),
        ],
    )
    def test_available_filter(
        self, client: Client, workspace: Any, team: dict[str, Any], value: str, expected: list[str]
    ) -> None:
        assert _names(_workers(client, workspace).list(available=value)) == expected

    def test_available_combined_with_activity_name(
        self, client: Client, workspace: Any, team: dict[str, Any]
    ) -> None:
        workers = _workers(client, workspace)
        assert _names(workers.list(available="true", activity_name="Offline")) == []
        assert _names(workers.list(available="false", activity_name="Offline")) == ["Bob"]

    def test_target_workers_expression(
        self, client: Client, workspace: Any, team: dict[str, Any]
    ) -> None:
        workers = _workers(client, workspace)

        def matching(expression: str) -> list[str]:
            return _names(workers.list(target_workers_expression=expression))

        assert matching("skills HAS 'support'") == ["Alice", "Carol"]
        assert matching("level >= 3") == ["Alice", "Carol"]
        assert matching("worker.level < 3 AND team == 'blue'") == ["Dan"]
        assert matching("team IN ['red', 'green']") == ["Bob"]
        assert matching("1 == 1") == ["Alice", "Bob", "Carol", "Dan"]
        assert matching("worker.activity_name == 'Available'") == ["Alice", "Dan"]
        assert matching(f"sid == '{team['Bob'].sid}'") == ["Bob"]
        assert matching("friendly_name CONTAINS 'a'") == ["Carol", "Dan"]
        assert matching(f"activity_sid == '{team['Carol'].activity_sid}'") == ["Carol"]
        assert matching("worker.channel.voice.configured_capacity == 1") == [
            "Alice",
            "Bob",
            "Carol",
            "Dan",
        ]
        assert matching("missing == 'x'") == []
        # Combined with SQL filters.
        assert _names(
            workers.list(target_workers_expression="team == 'blue'", available="true")
        ) == ["Alice", "Dan"]
        assert _names(
            workers.list(target_workers_expression="team == 'blue'", friendly_name="Dan")
        ) == ["Dan"]

    def test_built_in_fields_override_attributes(self, client: Client, workspace: Any) -> None:
        workers = _workers(client, workspace)
        workers.create(friendly_name="Real", attributes='{"friendly_name": "Fake"}')
        assert _names(workers.list(target_workers_expression="friendly_name == 'Fake'")) == []
        assert _names(workers.list(target_workers_expression="friendly_name == 'Real'")) == ["Real"]

    def test_task_queue_filters(
        self, client: Client, workspace: Any, team: dict[str, Any], http: httpx.Client
    ) -> None:
        base = f"/v1/Workspaces/{workspace.sid}/TaskQueues"
        support = http.post(
            base, data={"FriendlyName": "Support", "TargetWorkers": "skills HAS 'support'"}
        )
        assert support.status_code == 201, support.text
        blue = http.post(
            base, data={"FriendlyName": "Blue", "TargetWorkers": "worker.team == 'blue'"}
        )
        assert blue.status_code == 201, blue.text
        workers = _workers(client, workspace)
        assert _names(workers.list(task_queue_sid=support.json()["sid"])) == ["Alice", "Carol"]
        assert _names(workers.list(task_queue_name="Support")) == ["Alice", "Carol"]
        assert _names(workers.list(task_queue_name="Blue")) == ["Alice", "Dan"]
        assert _names(workers.list(task_queue_name="Blue", available="false")) == []
        assert _names(
            workers.list(task_queue_name="Blue", target_workers_expression="level > 1")
        ) == ["Alice"]
        assert _names(workers.list(task_queue_sid=f"WQ{'0' * 32}")) == []
        assert _names(workers.list(task_queue_name="Nope")) == []

    def test_ordering(
        self, client: Client, workspace: Any, activity: dict[str, str], live_server: LiveServer, clock: AccountClock
    ) -> None:
        workers = _workers(client, workspace)
        first = workers.create(friendly_name="First")
        clock.advance(1)
        second = workers.create(friendly_name="Second")
        clock.advance(1)
        workers.create(friendly_name="Third")
        clock.advance(1)
        workers(first.sid).update(activity_sid=activity["Available"])
        clock.advance(1)
        workers(second.sid).update(activity_sid=activity["Available"])
        assert _names(workers.list(ordering="DateCreated:asc")) == ["First", "Second", "Third"]
        assert _names(workers.list(ordering="DateCreated:desc")) == ["Third", "Second", "First"]
        assert _names(workers.list(ordering="DateStatusChanged:asc")) == [
            "Third",
            "First",
            "Second",
        ]
        assert _names(workers.list(ordering="DateStatusChanged:desc")) == [
            "Second",
            "First",
            "Third",
        ]
        assert _names(
            workers.list(ordering="DateStatusChanged:desc,DateCreated:asc", available="true")
        ) == ["Second", "First"]

    def test_ordering_ties_follow_creation_order(self, client: Client, workspace: Any) -> None:
        workers = _workers(client, workspace)
        for name in ("A", "B", "C"):
            workers.create(friendly_name=name)
        assert _names(workers.list(ordering="DateCreated:desc")) == ["C", "B", "A"]
        assert _names(workers.list(ordering="DateCreated:asc")) == ["A", "B", "C"]

    def test_paging(self, client: Client, workspace: Any, http: httpx.Client) -> None:
        workers = _workers(client, workspace)
        names = [f"W{i}" for i in range(5)]
        for name in names:
            workers.create(friendly_name=name, attributes=json.dumps({"n": int(name[1:])}))
        assert _names(workers.list(page_size=2)) == names
        assert _names(workers.list(page_size=2, target_workers_expression="n >= 1")) == names[1:]
        assert _names(workers.list(page_size=2, ordering="DateCreated:desc")) == names[::-1]
        first = http.get(
            f"/v1/Workspaces/{workspace.sid}/Workers",
            params={"PageSize": 2, "TargetWorkersExpression": "n >= 1"},
        ).json()
        assert [w["friendly_name"] for w in first["workers"]] == ["W1", "W2"]
        assert first["meta"]["page_size"] == 2
        assert "TargetWorkersExpression=n+%3E%3D+1" in first["meta"]["next_page_url"]
        second = httpx.get(first["meta"]["next_page_url"], auth=http.auth).json()
        assert [w["friendly_name"] for w in second["workers"]] == ["W3", "W4"]
        assert second["meta"]["next_page_url"] is None

    def test_expression_filters_scan_in_chunks_and_page_both_ways(
        self,
        client: Client,
        workspace: Any,
        http: httpx.Client,
        activity: dict[str, str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # A chunk of three rows: the pages below span several chunks of the light scan.
        monkeypatch.setattr(pagination, "_SCAN_CHUNK", 3)
        workers = _workers(client, workspace)
        names = [f"W{i:02}" for i in range(14)]
        for number, name in enumerate(names):
            workers.create(
                friendly_name=name,
                attributes=json.dumps({"team": "blue" if number % 3 else "red", "n": number}),
                activity_sid=activity["Available" if number % 2 else "Offline"],
            )
        blue = [n for i, n in enumerate(names) if i % 3]
        assert _names(workers.list(page_size=4, target_workers_expression="team == 'blue'")) == blue
        assert (
            _names(
                workers.list(
                    page_size=4,
                    target_workers_expression="team == 'blue'",
                    ordering="DateCreated:desc",
                )
            )
            == blue[::-1]
        )
        # Activity, identity and channel fields are read per worker.
        assert (
            _names(workers.list(target_workers_expression="activity_name == 'Available'"))
            == names[1::2]
        )
        assert _names(
            workers.list(target_workers_expression="friendly_name IN ['W03', 'W07']")
        ) == ["W03", "W07"]
        third = workers.list(friendly_name="W03")[0]
        workers(third.sid).worker_channels("default").update(capacity=2)
        expression = "worker.channel.default.configured_capacity == 2"
        assert _names(workers.list(target_workers_expression=expression)) == ["W03"]
        assert _names(workers.list(target_workers_expression="n > 100")) == []

        path = f"/v1/Workspaces/{workspace.sid}/Workers"
        pages = [
            http.get(
                path, params={"PageSize": 3, "TargetWorkersExpression": "team == 'blue'"}
            ).json()
        ]
        while pages[-1]["meta"]["next_page_url"]:
            pages.append(httpx.get(pages[-1]["meta"]["next_page_url"], auth=http.auth).json())
        seen = [w["friendly_name"] for page in pages for w in page["workers"]]
        assert seen == blue
        back = httpx.get(pages[-1]["meta"]["previous_page_url"], auth=http.auth).json()
        assert [w["friendly_name"] for w in back["workers"]] == [
            w["friendly_name"] for w in pages[-2]["workers"]
        ]


class TestWorkerChannels:
    def test_list_and_fetch(
        self, client: Client, workspace: Any, http: httpx.Client, live_server: LiveServer
    ) -> None:
        worker = _workers(client, workspace).create(friendly_name="Multi")
        channels = _workers(client, workspace)(worker.sid).worker_channels
        listed = channels.list()
        task_channels = {
            c.unique_name: c.sid
            for c in client.taskrouter.v1.workspaces(workspace.sid).task_channels.list()
        }
        assert {c.task_channel_unique_name: c.task_channel_sid for c in listed} == task_channels
        for channel in listed:
            assert channel.sid.startswith("WC")
            assert channel.worker_sid == worker.sid
            assert channel.workspace_sid == workspace.sid
            assert channel.account_sid == workspace.account_sid
            assert channel.configured_capacity == 1
            assert channel.assigned_tasks == 0
            assert channel.available is True
            assert channel.available_capacity_percentage == 100
            assert channel.url == (
                f"{live_server.url}/v1/Workspaces/{workspace.sid}/Workers/{worker.sid}"
                f"/Channels/{channel.sid}"
            )
        voice = next(c for c in listed if c.task_channel_unique_name == "voice")
        assert channels(voice.sid).fetch().task_channel_unique_name == "voice"
        assert channels("voice").fetch().sid == voice.sid
        raw = http.get(f"/v1/Workspaces/{workspace.sid}/Workers/{worker.sid}/Channels/voice").json()
        assert set(raw) == CHANNEL_FIELDS
        page = http.get(f"/v1/Workspaces/{workspace.sid}/Workers/{worker.sid}/Channels").json()
        assert page["meta"]["key"] == "channels"
        assert len(page["channels"]) == 5
        with pytest.raises(TwilioRestException) as excinfo:
            channels("carrier-pigeon").fetch()
        assert _error(excinfo) == (404, 20404)
        with pytest.raises(TwilioRestException) as excinfo:
            channels(f"WC{'0' * 32}").fetch()
        assert _error(excinfo) == (404, 20404)

    def test_channel_of_another_worker_is_not_found(self, client: Client, workspace: Any) -> None:
        workers = _workers(client, workspace)
        one = workers.create(friendly_name="One")
        two = workers.create(friendly_name="Two")
        sid = workers(one.sid).worker_channels("sms").fetch().sid
        with pytest.raises(TwilioRestException) as excinfo:
            workers(two.sid).worker_channels(sid).fetch()
        assert _error(excinfo) == (404, 20404)

    def test_update(
        self, client: Client, workspace: Any, http: httpx.Client, live_server: LiveServer, clock: AccountClock
    ) -> None:
        worker = _workers(client, workspace).create(friendly_name="Cap")
        channels = _workers(client, workspace)(worker.sid).worker_channels
        clock.advance(5)
        updated = channels("chat").update(capacity=3)
        assert updated.configured_capacity == 3
        assert updated.available_capacity_percentage == 100
        assert updated.date_updated > updated.date_created
        off = channels("chat").update(available=False)
        assert off.available is False
        assert off.configured_capacity == 3
        assert off.available_capacity_percentage == 0
        zero = channels("voice").update(capacity=0)
        assert (zero.configured_capacity, zero.available_capacity_percentage) == (0, 0)
        fetched = channels(off.sid).fetch()
        assert (fetched.configured_capacity, fetched.available) == (3, False)
        both = channels("chat").update(capacity=2, available=True)
        assert (both.configured_capacity, both.available, both.available_capacity_percentage) == (
            2,
            True,
            100,
        )
        # The worker itself is untouched.
        assert _workers(client, workspace)(worker.sid).fetch().date_updated == worker.date_updated

        capacity_events = _events(http, workspace, "worker.capacity.update")
        if capacity_events is not None:
            # Newest first: chat 3 -> 2 (while unavailable until the same request), voice 1 -> 0, chat 1 -> 3.
            changes = [
                (
                    e["event_data"]["task_channel_unique_name"],
                    e["event_data"]["worker_channel_previous_capacity"],
                )
                for e in sorted(capacity_events, key=lambda e: e["event_date_ms"])
            ]
            assert sorted(changes) == [("chat", "1"), ("chat", "3"), ("voice", "1")]
            first = next(
                e["event_data"]
                for e in capacity_events
                if e["event_data"]["worker_channel_previous_capacity"] == "1"
                and e["event_data"]["task_channel_unique_name"] == "chat"
            )
            assert first["worker_channel_available"] == "true"
            assert first["worker_channel_available_capacity"] == "100"
            assert first["worker_channel_task_count"] == "0"
            assert first["task_channel_sid"] == updated.task_channel_sid
            assert first["worker_sid"] == worker.sid
            assert first["worker_name"] == "Cap"
            assert all(e["resource_sid"] == worker.sid for e in capacity_events)
            availability = _events(http, workspace, "worker.channel.availability.update")
            assert availability is not None
            assert len(availability) == 2

    @pytest.mark.parametrize("capacity", ["51", "-1", "many", "1.5"])
    def test_bad_capacity(
        self, client: Client, workspace: Any, http: httpx.Client, capacity: str
    ) -> None:
        worker = _workers(client, workspace).create(friendly_name="Bounded")
        url = f"/v1/Workspaces/{workspace.sid}/Workers/{worker.sid}/Channels/voice"
        response = http.post(url, data={"Capacity": capacity})
        assert response.status_code == 400
        assert response.json()["code"] == 20001
        assert http.get(url).json()["configured_capacity"] == 1

    def test_capacity_limits_through_the_library(self, client: Client, workspace: Any) -> None:
        worker = _workers(client, workspace).create(friendly_name="Limits")
        channels = _workers(client, workspace)(worker.sid).worker_channels
        assert channels("voice").update(capacity=50).configured_capacity == 50
        with pytest.raises(TwilioRestException) as excinfo:
            channels("voice").update(capacity=51)
        assert _error(excinfo) == (400, 20001)
        assert channels("voice").fetch().configured_capacity == 50

    def test_new_task_channel_reaches_existing_workers(
        self, client: Client, workspace: Any
    ) -> None:
        workers = _workers(client, workspace)
        old = workers.create(friendly_name="Old")
        client.taskrouter.v1.workspaces(workspace.sid).task_channels.create(
            friendly_name="Email", unique_name="email"
        )
        new = workers.create(friendly_name="New")
        for worker in (old, new):
            channel = workers(worker.sid).worker_channels("email").fetch()
            assert channel.configured_capacity == 1
            assert channel.available is True
            assert len(workers(worker.sid).worker_channels.list()) == 6
        client.taskrouter.v1.workspaces(workspace.sid).task_channels("email").delete()
        assert len(workers(old.sid).worker_channels.list()) == 5
