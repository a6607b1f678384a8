"""The seed file's schema: workspaces with activities, channels, queues, workflows and workers.

Names are snake_case like Twilio's JSON. Unknown keys are refused so a typo is reported, not ignored.
Resources refer to each other by name (an activity, a queue) or by SID.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActivitySeed(_Strict):
    friendly_name: str
    available: bool = False
    sid: str | None = None


class TaskChannelSeed(_Strict):
    unique_name: str
    friendly_name: str | None = None
    channel_optimized_routing: bool | None = None
    sid: str | None = None


class TaskQueueSeed(_Strict):
    friendly_name: str
    target_workers: str | None = None
    max_reserved_workers: int | None = None
    task_order: str | None = None
    # Activity friendly name or SID.
    reservation_activity: str | None = None
    assignment_activity: str | None = None
    sid: str | None = None


class WorkflowSeed(_Strict):
    friendly_name: str
    # Twilio's configuration document (object or JSON text); `queue` may name a queue instead of its SID.
    configuration: dict[str, Any] | str
    assignment_callback_url: str | None = None
    fallback_assignment_callback_url: str | None = None
    task_reservation_timeout: int | None = None
    sid: str | None = None


class WorkerChannelSeed(_Strict):
    capacity: int | None = None
    available: bool | None = None


class WorkerSeed(_Strict):
    friendly_name: str
    # A JSON object (or its text).
    attributes: dict[str, Any] | str | None = None
    # Activity friendly name or SID; the workspace's default activity when left out.
    activity: str | None = None
    # Per task channel unique name: capacity and availability.
    channels: dict[str, WorkerChannelSeed] = Field(default_factory=dict)
    sid: str | None = None


class WorkspaceSeed(_Strict):
    friendly_name: str
    sid: str | None = None
    event_callback_url: str | None = None
    events_filter: str | list[str] | None = None
    multi_task_enabled: bool | None = None
    prioritize_queue_order: str | None = None
    # Activity friendly names or SIDs, applied when the workspace is created.
    default_activity: str | None = None
    timeout_activity: str | None = None
    activities: list[ActivitySeed] = Field(default_factory=list)
    task_channels: list[TaskChannelSeed] = Field(default_factory=list)
    task_queues: list[TaskQueueSeed] = Field(default_factory=list)
    workflows: list[WorkflowSeed] = Field(default_factory=list)
    workers: list[WorkerSeed] = Field(default_factory=list)


class SeedDocument(_Strict):
    # Used by `serve --seed` (default: TASKROUTER_ACCOUNT_SID); `POST /emulator/seed` requires the caller's.
    account_sid: str | None = None
    workspaces: list[WorkspaceSeed] = Field(default_factory=list)
