"""Worker and WorkerChannel request parameters and response bodies."""

from __future__ import annotations

from pydantic import BaseModel

from taskrouter_emulator.api.forms import TwilioBool, TwilioParams
from taskrouter_emulator.api.resources import Date, Resource
from taskrouter_emulator.api.urls import workspace_path
from taskrouter_emulator.models import Activity, Worker, WorkerChannel
from taskrouter_emulator.workers.context import ChannelState


class WorkerCreate(TwilioParams):
    friendly_name: str | None = None
    activity_sid: str | None = None
    attributes: str | None = None


class WorkerUpdate(TwilioParams):
    activity_sid: str | None = None
    attributes: str | None = None
    friendly_name: str | None = None
    reject_pending_reservations: TwilioBool | None = None


class WorkerFilter(TwilioParams):
    activity_name: str | None = None
    activity_sid: str | None = None
    available: TwilioBool | None = None
    friendly_name: str | None = None
    target_workers_expression: str | None = None
    task_queue_name: str | None = None
    task_queue_sid: str | None = None
    ordering: str | None = None


class WorkerChannelUpdate(TwilioParams):
    capacity: int | None = None
    available: TwilioBool | None = None


class WorkerLinks(BaseModel):
    channels: str
    activity: str
    workspace: str
    statistics: str
    real_time_statistics: str
    cumulative_statistics: str
    worker_statistics: str
    worker_channels: str
    reservations: str


class WorkerResource(Resource):
    account_sid: str
    activity_name: str
    activity_sid: str
    attributes: str
    available: bool
    date_created: Date
    date_status_changed: Date
    date_updated: Date
    friendly_name: str
    sid: str
    workspace_sid: str
    url: str
    links: WorkerLinks

    @classmethod
    def build(cls, worker: Worker, activity: Activity, *, base_url: str) -> WorkerResource:
        """Serialise a worker, given its current activity."""
        workspace_url = base_url + workspace_path(worker.workspace_sid)
        workers_url = f"{workspace_url}/Workers"
        url = f"{workers_url}/{worker.sid}"
        return cls(
            account_sid=worker.account_sid,
            activity_name=activity.friendly_name,
            activity_sid=activity.sid,
            attributes=worker.attributes,
            available=activity.available,
            date_created=worker.date_created,
            date_status_changed=worker.date_status_changed,
            date_updated=worker.date_updated,
            friendly_name=worker.friendly_name,
            sid=worker.sid,
            workspace_sid=worker.workspace_sid,
            url=url,
            links=WorkerLinks(
                channels=f"{url}/Channels",
                activity=f"{workspace_url}/Activities/{activity.sid}",
                workspace=workspace_url,
                statistics=f"{workers_url}/Statistics",
                real_time_statistics=f"{workers_url}/RealTimeStatistics",
                cumulative_statistics=f"{workers_url}/CumulativeStatistics",
                worker_statistics=f"{url}/Statistics",
                worker_channels=f"{url}/Channels",
                reservations=f"{url}/Reservations",
            ),
        )


class WorkerChannelResource(Resource):
    account_sid: str
    assigned_tasks: int
    available: bool
    available_capacity_percentage: int
    configured_capacity: int
    date_created: Date
    date_updated: Date
    sid: str
    task_channel_sid: str
    task_channel_unique_name: str
    worker_sid: str
    workspace_sid: str
    url: str

    @classmethod
    def build(
        cls,
        channel: WorkerChannel,
        *,
        unique_name: str,
        state: ChannelState,
        base_url: str,
    ) -> WorkerChannelResource:
        """Serialise a worker channel with its live figures (it has no `links`)."""
        workspace_url = base_url + workspace_path(channel.workspace_sid)
        return cls(
            account_sid=channel.account_sid,
            assigned_tasks=state.assigned_tasks,
            available=channel.available,
            available_capacity_percentage=state.available_capacity_percentage,
            configured_capacity=channel.configured_capacity,
            date_created=channel.date_created,
            date_updated=channel.date_updated,
            sid=channel.sid,
            task_channel_sid=channel.task_channel_sid,
            task_channel_unique_name=unique_name,
            worker_sid=channel.worker_sid,
            workspace_sid=channel.workspace_sid,
            url=f"{workspace_url}/Workers/{channel.worker_sid}/Channels/{channel.sid}",
        )
