"""Parameters of the inspector's event feed."""

from __future__ import annotations

from pydantic import Field

from taskrouter_emulator.api.forms import TwilioParams


class FeedParams(TwilioParams):
    workspace_sid: str
    # How many past events to send first on a new stream (not on a resumed one).
    backlog: int = Field(default=20, ge=0, le=1000)
    # Resume after this event (the `id:` of the last event received); `Last-Event-ID` does the same.
    after: int | None = Field(default=None, ge=0)
