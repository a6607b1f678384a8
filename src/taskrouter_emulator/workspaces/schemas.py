"""Workspace request parameters and response body."""

from __future__ import annotations

from pydantic import BaseModel

from taskrouter_emulator.api.forms import TwilioBool, TwilioParams
from taskrouter_emulator.api.resources import Date, Resource
from taskrouter_emulator.api.urls import workspace_path
from taskrouter_emulator.models import Workspace


class WorkspaceCreate(TwilioParams):
    friendly_name: str | None = None
    event_callback_url: str | None = None
    events_filter: str | None = None
    multi_task_enabled: TwilioBool | None = None
    template: str | None = None
    prioritize_queue_order: str | None = None


class WorkspaceUpdate(TwilioParams):
    default_activity_sid: str | None = None
    event_callback_url: str | None = None
    events_filter: str | None = None
    friendly_name: str | None = None
    multi_task_enabled: TwilioBool | None = None
    timeout_activity_sid: str | None = None
    prioritize_queue_order: str | None = None


class WorkspaceFilter(TwilioParams):
    friendly_name: str | None = None


class WorkspaceLinks(BaseModel):
    activities: str
    statistics: str
    real_time_statistics: str
    cumulative_statistics: str
    task_queues: str
    tasks: str
    workers: str
    workflows: str
    task_channels: str
    events: str


class WorkspaceResource(Resource):
    account_sid: str
    date_created: Date
    date_updated: Date
    default_activity_name: str | None
    default_activity_sid: str | None
    event_callback_url: str | None
    events_filter: str | None
    friendly_name: str
    multi_task_enabled: bool
    prioritize_queue_order: str
    sid: str
    timeout_activity_name: str | None
    timeout_activity_sid: str | None
    url: str
    links: WorkspaceLinks

    @classmethod
    def build(
        cls, workspace: Workspace, *, names: dict[str, str], base_url: str
    ) -> WorkspaceResource:
        """Serialise a workspace; `names` maps activity SIDs to their friendly names."""
        url = base_url + workspace_path(workspace.sid)
        links = WorkspaceLinks(
            **{
                key: f"{url}/{segment}"
                for key, segment in (
                    ("activities", "Activities"),
                    ("statistics", "Statistics"),
                    ("real_time_statistics", "RealTimeStatistics"),
                    ("cumulative_statistics", "CumulativeStatistics"),
                    ("task_queues", "TaskQueues"),
                    ("tasks", "Tasks"),
                    ("workers", "Workers"),
                    ("workflows", "Workflows"),
                    ("task_channels", "TaskChannels"),
                    ("events", "Events"),
                )
            }
        )
        return cls(
            account_sid=workspace.account_sid,
            date_created=workspace.date_created,
            date_updated=workspace.date_updated,
            default_activity_name=names.get(workspace.default_activity_sid or ""),
            default_activity_sid=workspace.default_activity_sid,
            # Twilio shows "" when no callback URL is set.
            event_callback_url=workspace.event_callback_url or "",
            events_filter=workspace.events_filter,
            friendly_name=workspace.friendly_name,
            multi_task_enabled=workspace.multi_task_enabled,
            prioritize_queue_order=workspace.prioritize_queue_order,
            sid=workspace.sid,
            timeout_activity_name=names.get(workspace.timeout_activity_sid or ""),
            timeout_activity_sid=workspace.timeout_activity_sid,
            url=url,
            links=links,
        )
