"""TaskChannel request parameters and response body."""

from __future__ import annotations

from pydantic import BaseModel

from taskrouter_emulator.api.forms import TwilioBool, TwilioParams
from taskrouter_emulator.api.resources import Date, Resource
from taskrouter_emulator.api.urls import workspace_path
from taskrouter_emulator.models import TaskChannel


class TaskChannelCreate(TwilioParams):
    friendly_name: str | None = None
    unique_name: str | None = None
    channel_optimized_routing: TwilioBool | None = None


class TaskChannelUpdate(TwilioParams):
    friendly_name: str | None = None
    channel_optimized_routing: TwilioBool | None = None


class TaskChannelLinks(BaseModel):
    workspace: str


class TaskChannelResource(Resource):
    account_sid: str
    date_created: Date
    date_updated: Date
    friendly_name: str
    sid: str
    unique_name: str
    workspace_sid: str
    channel_optimized_routing: bool
    url: str
    links: TaskChannelLinks

    @classmethod
    def build(cls, channel: TaskChannel, *, base_url: str) -> TaskChannelResource:
        """Serialise a task channel."""
        workspace_url = base_url + workspace_path(channel.workspace_sid)
        return cls(
            account_sid=channel.account_sid,
            date_created=channel.date_created,
            date_updated=channel.date_updated,
            friendly_name=channel.friendly_name,
            sid=channel.sid,
            unique_name=channel.unique_name,
            workspace_sid=channel.workspace_sid,
            channel_optimized_routing=channel.channel_optimized_routing,
            url=f"{workspace_url}/TaskChannels/{channel.sid}",
            links=TaskChannelLinks(workspace=workspace_url),
        )
