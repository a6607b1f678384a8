"""Builders shared by the routing scenario tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from twilio.rest import Client

from tests.conftest import AccountClock


@dataclass
class Setup:
    """A workspace ready for routing scenarios."""

    client: Client
    http: httpx.Client
    ws: Any
    activities: dict[str, str]

    @property
    def api(self) -> Any:
        return self.client.taskrouter.v1.workspaces(self.ws.sid)

    def queue(self, name: str, target_workers: str = "1==1", **extra: Any) -> Any:
        return self.api.task_queues.create(
            friendly_name=name, target_workers=target_workers, **extra
        )

    def workflow(self, routing: dict[str, Any], **extra: Any) -> Any:
        return self.api.workflows.create(
            friendly_name=f"Workflow {len(self.api.workflows.list())}",
            configuration=json.dumps({"task_routing": routing}),
            **extra,
        )

    def worker(
        self, name: str, attributes: dict[str, Any] | None = None, activity: str = "Available"
    ) -> Any:
        return self.api.workers.create(
            friendly_name=name,
            attributes=json.dumps(attributes or {}),
            activity_sid=self.activities[activity],
        )

    def task(self, attributes: dict[str, Any] | None = None, **extra: Any) -> Any:
        return self.api.tasks.create(attributes=json.dumps(attributes or {}), **extra)

    def reservations(self, task_sid: str, status: str | None = None) -> list[Any]:
        found = self.api.tasks(task_sid).reservations.list()
        return [r for r in found if status is None or r.reservation_status == status]

    def pending_for(self, worker_sid: str) -> list[Any]:
        return self.api.workers(worker_sid).reservations.list(reservation_status="pending")

    def advance(self, seconds: float) -> dict[str, Any]:
        response = self.http.post("/emulator/clock", data={"Advance": str(seconds)})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def now(self) -> datetime:
        return account_now(self.http)

    def events(self, **filters: Any) -> list[Any]:
        return list(reversed(self.api.events.list(minutes=43200, **filters)))


def account_now(http: httpx.Client) -> datetime:
    """The emulated time of the account `http` authenticates as."""
    return AccountClock(http).now()


def make_setup(client: Client, http: httpx.Client, **workspace_params: Any) -> Setup:
    ws = client.taskrouter.v1.workspaces.create(friendly_name="Routing", **workspace_params)
    activities = {
        a.friendly_name: a.sid for a in client.taskrouter.v1.workspaces(ws.sid).activities.list()
    }
    return Setup(client=client, http=http, ws=ws, activities=activities)


def single_queue(setup: Setup, **queue_params: Any) -> tuple[Any, Any]:
    queue = setup.queue("Everyone", **queue_params)
    workflow = setup.workflow({"filters": [], "default_filter": {"queue": queue.sid}})
    return queue, workflow
