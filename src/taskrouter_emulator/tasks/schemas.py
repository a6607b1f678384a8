"""Task request parameters and response body."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from taskrouter_emulator.api.forms import TwilioBool, TwilioDateTime, TwilioParams
from taskrouter_emulator.api.resources import Date, OptionalDate, Resource
from taskrouter_emulator.api.urls import workspace_path
from taskrouter_emulator.models import Task


class TaskCreate(TwilioParams):
    timeout: int | None = None
    priority: int | None = None
    task_channel: str | None = None
    workflow_sid: str | None = None
    attributes: str | None = None
    virtual_start_time: TwilioDateTime | None = None
    routing_target: str | None = None
    ignore_capacity: TwilioBool | None = None
    task_queue_sid: str | None = None


class TaskUpdate(TwilioParams):
    attributes: str | None = None
    assignment_status: str | None = None
    reason: str | None = None
    priority: int | None = None
    task_channel: str | None = None
    virtual_start_time: TwilioDateTime | None = None


class TaskFilter(TwilioParams):
    priority: int | None = None
    assignment_status: list[str] | None = None
    workflow_sid: str | None = None
    workflow_name: str | None = None
    task_queue_sid: str | None = None
    task_queue_name: str | None = None
    evaluate_task_attributes: str | None = None
    routing_target: str | None = None
    ordering: str | None = None
    has_addons: TwilioBool | None = None


class TaskLinks(BaseModel):
    task_queue: str | None
    workflow: str | None
    workspace: str
    reservations: str


class TaskResource(Resource):
    account_sid: str
    age: int
    assignment_status: str
    attributes: str
    addons: str
    date_created: Date
    date_updated: Date
    task_queue_entered_date: OptionalDate
    priority: int
    reason: str | None
    sid: str
    task_queue_sid: str | None
    task_queue_friendly_name: str | None
    task_channel_sid: str
    task_channel_unique_name: str | None
    timeout: int
    workflow_sid: str | None
    workflow_friendly_name: str | None
    workspace_sid: str
    url: str
    links: TaskLinks
    virtual_start_time: Date
    ignore_capacity: bool
    routing_target: str | None

    @classmethod
    def build(
        cls, task: Task, *, names: dict[str, Any], now: datetime, base_url: str
    ) -> TaskResource:
        """Serialise a task; `age` is computed now, `names` maps queue/workflow/channel SIDs to names."""
        workspace_url = base_url + workspace_path(task.workspace_sid)
        url = f"{workspace_url}/Tasks/{task.sid}"
        return cls(
            account_sid=task.account_sid,
            age=max(0, int((now - task.date_created).total_seconds())),
            assignment_status=task.assignment_status,
            attributes=task.attributes,
            addons=task.addons,
            date_created=task.date_created,
            date_updated=task.date_updated,
            task_queue_entered_date=task.task_queue_entered_at,
            priority=task.priority,
            reason=task.reason,
            sid=task.sid,
            task_queue_sid=task.task_queue_sid,
            task_queue_friendly_name=names.get(task.task_queue_sid or ""),
            task_channel_sid=task.task_channel_sid,
            task_channel_unique_name=names.get(task.task_channel_sid),
            timeout=task.timeout,
            workflow_sid=task.workflow_sid,
            workflow_friendly_name=names.get(task.workflow_sid or ""),
            workspace_sid=task.workspace_sid,
            url=url,
            links=TaskLinks(
                task_queue=f"{workspace_url}/TaskQueues/{task.task_queue_sid}"
                if task.task_queue_sid
                else None,
                workflow=f"{workspace_url}/Workflows/{task.workflow_sid}"
                if task.workflow_sid
                else None,
                workspace=workspace_url,
                reservations=f"{url}/Reservations",
            ),
            virtual_start_time=task.virtual_start_time,
            ignore_capacity=task.ignore_capacity,
            routing_target=task.routing_target,
        )
