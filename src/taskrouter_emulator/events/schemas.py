"""Event request parameters and response body."""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from taskrouter_emulator.api.forms import TwilioDateTime, TwilioParams
from taskrouter_emulator.api.resources import Date, Resource
from taskrouter_emulator.api.urls import child_path
from taskrouter_emulator.models import Event

# Every event Twilio logs comes from Twilio itself; the resource has no other value.
SOURCE = "twilio"


class EventFilter(TwilioParams):
    minutes: int | None = Field(default=None, ge=1)
    start_date: TwilioDateTime | None = None
    end_date: TwilioDateTime | None = None
    # One type, or several: comma-joined, space-separated or repeated.
    event_type: list[str] | None = None
    reservation_sid: str | None = None
    task_queue_sid: str | None = None
    task_sid: str | None = None
    worker_sid: str | None = None
    workflow_sid: str | None = None
    task_channel: str | None = None
    sid: str | None = None


def _absolute(base_url: str, path: str) -> str:
    """Render a stored path (`/v1/Workspaces/...`) as an absolute URL on this server."""
    if path.startswith(("http://", "https://")):
        return path
    return base_url + path


def _event_data(text: str) -> dict[str, Any]:
    data = json.loads(text) if text else {}
    return data if isinstance(data, dict) else {}


class EventResource(Resource):
    account_sid: str
    actor_sid: str
    actor_type: str
    actor_url: str
    description: str
    event_data: dict[str, Any]
    event_date: Date
    event_date_ms: int
    event_type: str
    resource_sid: str
    resource_type: str
    resource_url: str
    sid: str
    source: str
    source_ip_address: str | None
    url: str
    workspace_sid: str

    @classmethod
    def build(cls, event: Event, *, base_url: str) -> EventResource:
        """Serialise an event, decoding `event_data` to an object and making its URLs absolute."""
        return cls(
            account_sid=event.account_sid,
            actor_sid=event.actor_sid,
            actor_type=event.actor_type,
            actor_url=_absolute(base_url, event.actor_url),
            description=event.description,
            event_data=_event_data(event.event_data),
            event_date=event.event_date,
            event_date_ms=event.event_date_ms,
            event_type=event.event_type,
            resource_sid=event.resource_sid,
            resource_type=event.resource_type,
            resource_url=_absolute(base_url, event.resource_url),
            sid=event.sid,
            source=SOURCE,
            source_ip_address=event.source_ip_address,
            url=base_url + child_path(event.workspace_sid, "Events", event.sid),
            workspace_sid=event.workspace_sid,
        )
