"""What a new workspace contains: default activities and channels, plus the FIFO template's queue and workflow."""

from __future__ import annotations

from sqlalchemy.orm import Session

from taskrouter_emulator.activities import service as activity_service
from taskrouter_emulator.clock import Clock
from taskrouter_emulator.models import Workspace
from taskrouter_emulator.task_channels import service as channel_service
from taskrouter_emulator.task_queues import service as queue_service
from taskrouter_emulator.workflows import service as workflow_service
from taskrouter_emulator.workflows.configuration import fifo_configuration

# (friendly_name, available); Offline is both the default and the timeout activity.
DEFAULT_ACTIVITIES = (("Offline", False), ("Available", True), ("Unavailable", False))
# (unique_name, friendly_name), in the order twilio-taskrouter.js lists worker channels.
DEFAULT_CHANNELS = (
    ("default", "Default"),
    ("voice", "Voice"),
    ("chat", "Chat"),
    ("sms", "SMS"),
    ("video", "Video"),
)


def populate(session: Session, *, clock: Clock, workspace: Workspace, template: str) -> None:
    """Create the default contents of a new workspace."""
    activities = [
        activity_service.create(
            session, clock=clock, workspace=workspace, friendly_name=name, available=available
        )
        for name, available in DEFAULT_ACTIVITIES
    ]
    workspace.default_activity_sid = activities[0].sid
    workspace.timeout_activity_sid = activities[0].sid
    for unique_name, friendly_name in DEFAULT_CHANNELS:
        channel_service.create(
            session,
            clock=clock,
            workspace=workspace,
            friendly_name=friendly_name,
            unique_name=unique_name,
        )
    if template == "FIFO":
        _fifo(session, clock=clock, workspace=workspace)
    session.flush()


def _fifo(session: Session, *, clock: Clock, workspace: Workspace) -> None:
    """Add "Sample Queue" (every worker) and "Default Fifo Workflow" routing every task to it."""
    queue = queue_service.create(
        session, clock=clock, workspace=workspace, friendly_name="Sample Queue"
    )
    workflow_service.create(
        session,
        clock=clock,
        workspace=workspace,
        friendly_name="Default Fifo Workflow",
        configuration=fifo_configuration(queue.sid),
    )
