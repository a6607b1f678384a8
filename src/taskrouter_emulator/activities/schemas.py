"""Activity request parameters and response body."""

from __future__ import annotations

from pydantic import BaseModel

from taskrouter_emulator.api.forms import TwilioBool, TwilioParams
from taskrouter_emulator.api.resources import Date, Resource
from taskrouter_emulator.api.urls import workspace_path
from taskrouter_emulator.models import Activity


class ActivityCreate(TwilioParams):
    friendly_name: str | None = None
    available: TwilioBool | None = None


class ActivityUpdate(TwilioParams):
    friendly_name: str | None = None


class ActivityFilter(TwilioParams):
    friendly_name: str | None = None
    available: TwilioBool | None = None


class ActivityLinks(BaseModel):
    workspace: str


class ActivityResource(Resource):
    account_sid: str
    available: bool
    date_created: Date
    date_updated: Date
    friendly_name: str
    sid: str
    workspace_sid: str
    url: str
    links: ActivityLinks

    @classmethod
    def build(cls, activity: Activity, *, base_url: str) -> ActivityResource:
        """Serialise an activity."""
        workspace_url = base_url + workspace_path(activity.workspace_sid)
        return cls(
            account_sid=activity.account_sid,
            available=activity.available,
            date_created=activity.date_created,
            date_updated=activity.date_updated,
            friendly_name=activity.friendly_name,
            sid=activity.sid,
            workspace_sid=activity.workspace_sid,
            url=f"{workspace_url}/Activities/{activity.sid}",
            links=ActivityLinks(workspace=workspace_url),
        )
