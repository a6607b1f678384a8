"""Central ORM models (one module per resource, imported here so metadata is complete)."""

from taskrouter_emulator.models.account import Account
from taskrouter_emulator.models.account_clock import AccountClock
from taskrouter_emulator.models.activity import Activity
from taskrouter_emulator.models.base import Base
from taskrouter_emulator.models.bridge_session import BridgeSession
from taskrouter_emulator.models.emulator import Fault, RateWindow
from taskrouter_emulator.models.event import Event, EventCount
from taskrouter_emulator.models.task import Reservation, Task
from taskrouter_emulator.models.task_channel import TaskChannel
from taskrouter_emulator.models.task_queue import TaskQueue, TaskQueueMember
from taskrouter_emulator.models.webhook import WebhookDelivery
from taskrouter_emulator.models.worker import Worker, WorkerChannel
from taskrouter_emulator.models.workflow import Workflow
from taskrouter_emulator.models.workspace import Workspace

__all__ = [
    "Account",
    "AccountClock",
    "Activity",
    "Base",
    "BridgeSession",
    "Event",
    "EventCount",
    "Fault",
    "RateWindow",
    "Reservation",
    "Task",
    "TaskChannel",
    "TaskQueue",
    "TaskQueueMember",
    "WebhookDelivery",
    "Worker",
    "WorkerChannel",
    "Workflow",
    "Workspace",
]
