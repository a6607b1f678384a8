"""Workflow request parameters and response body."""

from __future__ import annotations

from pydantic import BaseModel

from taskrouter_emulator.api.forms import TwilioBool, TwilioParams
from taskrouter_emulator.api.resources import Date, Resource
from taskrouter_emulator.api.urls import workspace_path
from taskrouter_emulator.models import Workflow


class WorkflowCreate(TwilioParams):
    friendly_name: str | None = None
    configuration: str | None = None
    assignment_callback_url: str | None = None
    fallback_assignment_callback_url: str | None = None
    task_reservation_timeout: int | None = None


class WorkflowUpdate(WorkflowCreate):
    re_evaluate_tasks: TwilioBool | None = None


class WorkflowFilter(TwilioParams):
    friendly_name: str | None = None


class WorkflowLinks(BaseModel):
    statistics: str
    real_time_statistics: str
    cumulative_statistics: str


class WorkflowResource(Resource):
    account_sid: str
    assignment_callback_url: str | None
    configuration: str
    date_created: Date
    date_updated: Date
    document_content_type: str
    fallback_assignment_callback_url: str | None
    friendly_name: str
    sid: str
    task_reservation_timeout: int
    workspace_sid: str
    url: str
    links: WorkflowLinks

    @classmethod
    def build(cls, workflow: Workflow, *, base_url: str) -> WorkflowResource:
        """Serialise a workflow (the configuration is returned exactly as stored)."""
        url = f"{base_url}{workspace_path(workflow.workspace_sid)}/Workflows/{workflow.sid}"
        return cls(
            account_sid=workflow.account_sid,
            assignment_callback_url=workflow.assignment_callback_url,
            configuration=workflow.configuration,
            date_created=workflow.date_created,
            date_updated=workflow.date_updated,
            document_content_type="application/json",
            fallback_assignment_callback_url=workflow.fallback_assignment_callback_url,
            friendly_name=workflow.friendly_name,
            sid=workflow.sid,
            task_reservation_timeout=workflow.task_reservation_timeout,
            workspace_sid=workflow.workspace_sid,
            url=url,
            links=WorkflowLinks(
                statistics=f"{url}/Statistics",
                real_time_statistics=f"{url}/RealTimeStatistics",
                cumulative_statistics=f"{url}/CumulativeStatistics",
            ),
        )
