"""TaskQueue request parameters and response body."""

from __future__ import annotations

from pydantic import BaseModel

from taskrouter_emulator.api.forms import TwilioParams
from taskrouter_emulator.api.resources import Date, Resource
from taskrouter_emulator.api.urls import workspace_path
from taskrouter_emulator.models import TaskQueue


class TaskQueueCreate(TwilioParams):
    friendly_name: str | None = None
    target_workers: str | None = None
    max_reserved_workers: int | None = None
    task_order: str | None = None
    reservation_activity_sid: str | None = None
    assignment_activity_sid: str | None = None


class TaskQueueUpdate(TaskQueueCreate):
    pass


class TaskQueueFilter(TwilioParams):
    friendly_name: str | None = None
    evaluate_worker_attributes: str | None = None
    worker_sid: str | None = None
    ordering: str | None = None


class TaskQueueLinks(BaseModel):
    assignment_activity: str | None
    reservation_activity: str | None
    workspace: str
    statistics: str
    real_time_statistics: str
    cumulative_statistics: str
    list_statistics: str
    bulk_real_time_statistics: str


class TaskQueueResource(Resource):
    account_sid: str
    assignment_activity_sid: str | None
    assignment_activity_name: str | None
    date_created: Date
    date_updated: Date
    friendly_name: str
    max_reserved_workers: int
    reservation_activity_sid: str | None
    reservation_activity_name: str | None
    sid: str
    target_workers: str | None
    task_order: str
    url: str
    workspace_sid: str
    links: TaskQueueLinks

    @classmethod
    def build(cls, queue: TaskQueue, *, names: dict[str, str], base_url: str) -> TaskQueueResource:
        """Serialise a queue; `names` maps activity SIDs to their friendly names."""
        workspace_url = base_url + workspace_path(queue.workspace_sid)
        url = f"{workspace_url}/TaskQueues/{queue.sid}"

        def activity_url(sid: str | None) -> str | None:
            return f"{workspace_url}/Activities/{sid}" if sid else None

        return cls(
            account_sid=queue.account_sid,
            assignment_activity_sid=queue.assignment_activity_sid,
            assignment_activity_name=names.get(queue.assignment_activity_sid or ""),
            date_created=queue.date_created,
            date_updated=queue.date_updated,
            friendly_name=queue.friendly_name,
            max_reserved_workers=queue.max_reserved_workers,
            reservation_activity_sid=queue.reservation_activity_sid,
            reservation_activity_name=names.get(queue.reservation_activity_sid or ""),
            sid=queue.sid,
            target_workers=queue.target_workers,
            task_order=queue.task_order,
            url=url,
            workspace_sid=queue.workspace_sid,
            links=TaskQueueLinks(
                assignment_activity=activity_url(queue.assignment_activity_sid),
                reservation_activity=activity_url(queue.reservation_activity_sid),
                workspace=workspace_url,
                statistics=f"{url}/Statistics",
                real_time_statistics=f"{url}/RealTimeStatistics",
                cumulative_statistics=f"{url}/CumulativeStatistics",
                list_statistics=f"{workspace_url}/TaskQueues/Statistics",
                bulk_real_time_statistics=f"{workspace_url}/TaskQueues/RealTimeStatistics",
            ),
        )
