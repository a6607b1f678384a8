"""TaskQueues, Workflows and the FIFO template through twilio-python."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client


@pytest.fixture
def ws(client: Client) -> Any:
    return client.taskrouter.v1.workspaces.create(friendly_name="Queues and workflows")


def _activity(client: Client, ws: Any, name: str) -> Any:
    return next(
        a
        for a in client.taskrouter.v1.workspaces(ws.sid).activities.list()
        if a.friendly_name == name
    )


def _config(*targets: dict[str, Any], expression: str = "1==1", default: str | None = None) -> str:
    routing: dict[str, Any] = {
        "filters": [
            {"filter_friendly_name": "F", "expression": expression, "targets": list(targets)}
        ]
    }
    if default:
        routing["default_filter"] = {"queue": default}
    return json.dumps({"task_routing": routing})


class TestTaskQueues:
    def test_defaults(self, client: Client, ws: Any, http: httpx.Client) -> None:
        queue = client.taskrouter.v1.workspaces(ws.sid).task_queues.create(friendly_name="Support")
        assert queue.target_workers == "1==1"
        assert queue.task_order == "FIFO"
        assert queue.max_reserved_workers == 1
        assert queue.reservation_activity_sid is None
        assert queue.assignment_activity_name is None
        body = http.get(f"/v1/Workspaces/{ws.sid}/TaskQueues/{queue.sid}").json()
        assert set(body) == {
            "account_sid",
            "assignment_activity_sid",
            "assignment_activity_name",
            "date_created",
            "date_updated",
            "friendly_name",
            "max_reserved_workers",
            "reservation_activity_sid",
            "reservation_activity_name",
            "sid",
            "target_workers",
            "task_order",
            "url",
            "workspace_sid",
            "links",
        }
        assert body["links"]["list_statistics"].endswith(
            f"/Workspaces/{ws.sid}/TaskQueues/Statistics"
        )

    def test_all_fields_create_update_delete(self, client: Client, ws: Any) -> None:
        queues = client.taskrouter.v1.workspaces(ws.sid).task_queues
        busy = _activity(client, ws, "Unavailable")
        offline = _activity(client, ws, "Offline")
        queue = queues.create(
            friendly_name="Sales",
            target_workers="languages HAS 'es' AND level >= 2",
            max_reserved_workers=3,
            task_order="LIFO",
            reservation_activity_sid=busy.sid,
            assignment_activity_sid=offline.sid,
        )
        assert queue.target_workers == "languages HAS 'es' AND level >= 2"
        assert (queue.max_reserved_workers, queue.task_order) == (3, "LIFO")
        assert (queue.reservation_activity_sid, queue.reservation_activity_name) == (
            busy.sid,
            "Unavailable",
        )
        assert (queue.assignment_activity_sid, queue.assignment_activity_name) == (
            offline.sid,
            "Offline",
        )
        assert queue.links["reservation_activity"].endswith(f"/Activities/{busy.sid}")
        updated = queues(queue.sid).update(
            friendly_name="Sales EMEA",
            target_workers="1==1",
            max_reserved_workers=50,
            task_order="FIFO",
        )
        assert (
            updated.friendly_name,
            updated.target_workers,
            updated.max_reserved_workers,
            updated.task_order,
        ) == (
            "Sales EMEA",
            "1==1",
            50,
            "FIFO",
        )
        assert queues(queue.sid).fetch().reservation_activity_name == "Unavailable"
        assert queues(queue.sid).delete() is True
        with pytest.raises(TwilioRestException) as excinfo:
            queues(queue.sid).fetch()
        assert (excinfo.value.status, excinfo.value.code) == (404, 20404)

    def test_list_filters(self, client: Client, ws: Any) -> None:
        queues = client.taskrouter.v1.workspaces(ws.sid).task_queues
        spanish = queues.create(friendly_name="Spanish", target_workers="languages HAS 'es'")
        senior = queues.create(friendly_name="Senior", target_workers="level >= 5")
        everyone = queues.create(friendly_name="Everyone")
        nobody = queues.create(friendly_name="Nobody", target_workers="")
        assert nobody.target_workers == ""
        assert [q.sid for q in queues.list(friendly_name="Senior")] == [senior.sid]
        found = queues.list(
            evaluate_worker_attributes=json.dumps({"languages": ["es", "en"], "level": 3})
        )
        assert [q.sid for q in found] == [spanish.sid, everyone.sid]
        worker = client.taskrouter.v1.workspaces(ws.sid).workers.create(
            friendly_name="Ana", attributes=json.dumps({"languages": ["en"], "level": 7})
        )
        assert [q.sid for q in queues.list(worker_sid=worker.sid)] == [senior.sid, everyone.sid]
        assert queues.list(worker_sid="WK" + "0" * 32) == []
        newest_first = queues.list(ordering="DateCreated:desc")
        assert [q.sid for q in newest_first] == [nobody.sid, everyone.sid, senior.sid, spanish.sid]
        assert [q.sid for q in queues.list(page_size=2)] == [
            spanish.sid,
            senior.sid,
            everyone.sid,
            nobody.sid,
        ]

    @pytest.mark.parametrize(
        "params",
        [
            {},
            {"FriendlyName": "Q", "TargetWorkers": "skill-level > 3"},
            {"FriendlyName": "Q", "TargetWorkers": "level >="},
            {"FriendlyName": "Q", "MaxReservedWorkers": "0"},
            {"FriendlyName": "Q", "MaxReservedWorkers": "51"},
            {"FriendlyName": "Q", "MaxReservedWorkers": "many"},
            {"FriendlyName": "Q", "TaskOrder": "RANDOM"},
            {"FriendlyName": "Q", "ReservationActivitySid": "WA" + "0" * 32},
            {"FriendlyName": "Q", "AssignmentActivitySid": "nonsense"},
        ],
    )
    def test_bad_input_creates_nothing(
        self, http: httpx.Client, ws: Any, params: dict[str, str]
    ) -> None:
        response = http.post(f"/v1/Workspaces/{ws.sid}/TaskQueues", data=params)
        assert response.status_code == 400
        assert response.json()["code"] in (20001, 20002)
        assert http.get(f"/v1/Workspaces/{ws.sid}/TaskQueues").json()["task_queues"] == []

    def test_bad_expression_message_names_position(self, http: httpx.Client, ws: Any) -> None:
        response = http.post(
            f"/v1/Workspaces/{ws.sid}/TaskQueues",
            data={"FriendlyName": "Q", "TargetWorkers": "a == "},
        )
        assert "TargetWorkers" in response.json()["message"]
        assert "position" in response.json()["message"]

    def test_bad_list_filters(self, http: httpx.Client, ws: Any) -> None:
        base = f"/v1/Workspaces/{ws.sid}/TaskQueues"
        assert http.get(base, params={"EvaluateWorkerAttributes": "{not json"}).status_code == 400
        assert http.get(base, params={"EvaluateWorkerAttributes": "[1]"}).status_code == 400
        assert http.get(base, params={"Ordering": "Priority:sideways"}).status_code == 400

    def test_queue_in_a_workflow_cannot_be_deleted(self, client: Client, ws: Any) -> None:
        queue = client.taskrouter.v1.workspaces(ws.sid).task_queues.create(friendly_name="Used")
        client.taskrouter.v1.workspaces(ws.sid).workflows.create(
            friendly_name="Uses it", configuration=_config({"queue": queue.sid})
        )
        with pytest.raises(TwilioRestException) as excinfo:
            client.taskrouter.v1.workspaces(ws.sid).task_queues(queue.sid).delete()
        assert (excinfo.value.status, excinfo.value.code) == (400, 20001)
        assert (
            client.taskrouter.v1.workspaces(ws.sid).task_queues(queue.sid).fetch().sid == queue.sid
        )


class TestWorkflows:
    def test_crud(self, client: Client, ws: Any, http: httpx.Client) -> None:
        queues = client.taskrouter.v1.workspaces(ws.sid).task_queues
        first = queues.create(friendly_name="Tier 1")
        second = queues.create(friendly_name="Tier 2")
        configuration = _config(
            {
                "queue": first.sid,
                "timeout": 30,
                "priority": 5,
                "expression": "task.language IN worker.languages",
            },
            {
                "queue": second.sid,
                "order_by": "worker.level DESC",
                "skip_if": "workers.available == 0",
            },
            {"queue": second.sid, "known_worker_sid": "task.agent_sid"},
            expression="type == 'support'",
            default=first.sid,
        )
        workflows = client.taskrouter.v1.workspaces(ws.sid).workflows
        workflow = workflows.create(
            friendly_name="Support",
            configuration=configuration,
            assignment_callback_url="https://example.com/assign",
            fallback_assignment_callback_url="https://example.com/fallback",
            task_reservation_timeout=30,
        )
        assert workflow.configuration == configuration
        assert workflow.document_content_type == "application/json"
        assert workflow.task_reservation_timeout == 30
        assert workflow.assignment_callback_url == "https://example.com/assign"
        assert workflow.fallback_assignment_callback_url == "https://example.com/fallback"
        assert set(workflow.links) == {
            "statistics",
            "real_time_statistics",
            "cumulative_statistics",
        }
        assert workflows(workflow.sid).fetch().configuration == configuration
        simpler = _config({"queue": second.sid})
        updated = workflows(workflow.sid).update(
            friendly_name="Support v2",
            configuration=simpler,
            task_reservation_timeout=86400,
            assignment_callback_url="",
            re_evaluate_tasks="true",
        )
        assert (updated.friendly_name, updated.configuration, updated.task_reservation_timeout) == (
            "Support v2",
            simpler,
            86400,
        )
        assert updated.assignment_callback_url is None
        assert [w.sid for w in workflows.list(friendly_name="Support v2")] == [workflow.sid]
        assert workflows.list(friendly_name="Nope") == []
        assert workflows(workflow.sid).delete() is True
        assert http.get(f"/v1/Workspaces/{ws.sid}/Workflows/{workflow.sid}").status_code == 404

    def test_default_reservation_timeout(self, client: Client, ws: Any) -> None:
        queue = client.taskrouter.v1.workspaces(ws.sid).task_queues.create(friendly_name="Q")
        workflow = client.taskrouter.v1.workspaces(ws.sid).workflows.create(
            friendly_name="W",
            configuration=json.dumps({"task_routing": {"default_filter": {"queue": queue.sid}}}),
        )
        assert workflow.task_reservation_timeout == 120
        assert workflow.assignment_callback_url is None

    @pytest.mark.parametrize(
        "configuration",
        [
            "not json",
            "[]",
            json.dumps({"routing": {}}),
            json.dumps({"task_routing": {"filters": {}}}),
            json.dumps({"task_routing": {"filters": [{"expression": "1==1", "targets": []}]}}),
            json.dumps({"task_routing": {"filters": [{"targets": [{"queue": "QUEUE"}]}]}}),
            json.dumps(
                {
                    "task_routing": {
                        "filters": [{"expression": "a ==", "targets": [{"queue": "QUEUE"}]}]
                    }
                }
            ),
            json.dumps(
                {
                    "task_routing": {
                        "filters": [{"expression": "1==1", "targets": [{"queue": "WQ" + "0" * 32}]}]
                    }
                }
            ),
            json.dumps(
                {
                    "task_routing": {
                        "filters": [
                            {
                                "expression": "1==1",
                                "targets": [{"queue": "QUEUE", "expression": "x-y == 1"}],
                            }
                        ]
                    }
                }
            ),
            json.dumps(
                {
                    "task_routing": {
                        "filters": [
                            {
                                "expression": "1==1",
                                "targets": [{"queue": "QUEUE", "order_by": "level SIDEWAYS"}],
                            }
                        ]
                    }
                }
            ),
            json.dumps(
                {
                    "task_routing": {
                        "filters": [
                            {
                                "expression": "1==1",
                                "targets": [{"queue": "QUEUE", "skip_if": "workers.available =="}],
                            }
                        ]
                    }
                }
            ),
            json.dumps(
                {
                    "task_routing": {
                        "filters": [
                            {
                                "expression": "1==1",
                                "targets": [{"queue": "QUEUE", "known_worker_sid": "agent sid"}],
                            }
                        ]
                    }
                }
            ),
            json.dumps(
                {
                    "task_routing": {
                        "filters": [
                            {
                                "expression": "1==1",
                                "targets": [{"queue": "QUEUE", "timeout": "soon"}],
                            }
                        ]
                    }
                }
            ),
            json.dumps(
                {
                    "task_routing": {
                        "filters": [
                            {"expression": "1==1", "targets": [{"queue": "QUEUE", "priority": -1}]}
                        ]
                    }
                }
            ),
            json.dumps(
                {
                    "task_routing": {
                        "filters": [
                            {"expression": "1==1", "targets": [{"queue": "QUEUE", "colour": "red"}]}
                        ]
                    }
                }
            ),
            json.dumps({"task_routing": {"default_filter": {"queue": "QUEUE", "timeout": 0}}}),
        ],
    )
    def test_bad_configuration_creates_nothing(
        self, client: Client, http: httpx.Client, ws: Any, configuration: str
    ) -> None:
        queue = client.taskrouter.v1.workspaces(ws.sid).task_queues.create(friendly_name="Q")
        response = http.post(
            f"/v1/Workspaces/{ws.sid}/Workflows",
            data={
                "FriendlyName": "Bad",
                "Configuration": configuration.replace("QUEUE", queue.sid),
            },
        )
        assert (response.status_code, response.json()["code"]) == (400, 20001)
        assert "Configuration" in response.json()["message"]
        assert http.get(f"/v1/Workspaces/{ws.sid}/Workflows").json()["workflows"] == []

    def test_queue_of_another_workspace_is_rejected(
        self, client: Client, ws: Any, http: httpx.Client
    ) -> None:
        other = client.taskrouter.v1.workspaces.create(friendly_name="Other")
        foreign = client.taskrouter.v1.workspaces(other.sid).task_queues.create(
            friendly_name="Foreign"
        )
        response = http.post(
            f"/v1/Workspaces/{ws.sid}/Workflows",
            data={"FriendlyName": "W", "Configuration": _config({"queue": foreign.sid})},
        )
        assert response.status_code == 400
        assert foreign.sid in response.json()["message"]

    @pytest.mark.parametrize(
        "params",
        [
            {"Configuration": "VALID"},
            {"FriendlyName": "W"},
            {"FriendlyName": "W", "Configuration": "VALID", "TaskReservationTimeout": "0"},
            {"FriendlyName": "W", "Configuration": "VALID", "TaskReservationTimeout": "86401"},
            {"FriendlyName": "W", "Configuration": "VALID", "AssignmentCallbackUrl": "not a url"},
            {
                "FriendlyName": "W",
                "Configuration": "VALID",
                "FallbackAssignmentCallbackUrl": "mailto:a@example.com",
            },
        ],
    )
    def test_bad_parameters(
        self, client: Client, http: httpx.Client, ws: Any, params: dict[str, str]
    ) -> None:
        queue = client.taskrouter.v1.workspaces(ws.sid).task_queues.create(friendly_name="Q")
        valid = _config({"queue": queue.sid})
        data = {key: valid if value == "VALID" else value for key, value in params.items()}
        response = http.post(f"/v1/Workspaces/{ws.sid}/Workflows", data=data)
        assert response.status_code == 400
        assert http.get(f"/v1/Workspaces/{ws.sid}/Workflows").json()["workflows"] == []

    def test_bad_update_changes_nothing(self, client: Client, http: httpx.Client, ws: Any) -> None:
        queue = client.taskrouter.v1.workspaces(ws.sid).task_queues.create(friendly_name="Q")
        workflow = client.taskrouter.v1.workspaces(ws.sid).workflows.create(
            friendly_name="W", configuration=_config({"queue": queue.sid})
        )
        before = http.get(f"/v1/Workspaces/{ws.sid}/Workflows/{workflow.sid}").json()
        response = http.post(
            f"/v1/Workspaces/{ws.sid}/Workflows/{workflow.sid}",
            data={"FriendlyName": "Renamed", "Configuration": _config({"queue": "WQ" + "1" * 32})},
        )
        assert response.status_code == 400
        assert http.get(f"/v1/Workspaces/{ws.sid}/Workflows/{workflow.sid}").json() == before


class TestFifoTemplate:
    def test_creates_sample_queue_and_default_workflow(self, client: Client) -> None:
        ws = client.taskrouter.v1.workspaces.create(friendly_name="FIFO", template="FIFO")
        queues = client.taskrouter.v1.workspaces(ws.sid).task_queues.list()
        assert [
            (q.friendly_name, q.target_workers, q.task_order, q.max_reserved_workers)
            for q in queues
        ] == [("Sample Queue", "1==1", "FIFO", 1)]
        workflows = client.taskrouter.v1.workspaces(ws.sid).workflows.list()
        assert [(w.friendly_name, w.task_reservation_timeout) for w in workflows] == [
            ("Default Fifo Workflow", 120)
        ]
        routing = json.loads(workflows[0].configuration)["task_routing"]
        assert routing["filters"][0]["targets"] == [{"queue": queues[0].sid}]
        assert routing["default_filter"] == {"queue": queues[0].sid}

    def test_none_template_has_no_queue_or_workflow(self, client: Client) -> None:
        ws = client.taskrouter.v1.workspaces.create(friendly_name="Bare")
        assert client.taskrouter.v1.workspaces(ws.sid).task_queues.list() == []
        assert client.taskrouter.v1.workspaces(ws.sid).workflows.list() == []
