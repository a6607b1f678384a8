"""Twilio's TaskRouter operations (operationId, method and path template from twilio-oai's spec).

Faults can target an operation by the name Twilio's spec and helper libraries use, e.g. `CreateTask`.
"""

from __future__ import annotations

import re
from functools import lru_cache

# (method, path template, operationId), copied from twilio_taskrouter_v1.json.
OPERATIONS: tuple[tuple[str, str, str], ...] = (
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Activities/{Sid}", "FetchActivity"),
    ("POST", "/v1/Workspaces/{WorkspaceSid}/Activities/{Sid}", "UpdateActivity"),
    ("DELETE", "/v1/Workspaces/{WorkspaceSid}/Activities/{Sid}", "DeleteActivity"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Activities", "ListActivity"),
    ("POST", "/v1/Workspaces/{WorkspaceSid}/Activities", "CreateActivity"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Events/{Sid}", "FetchEvent"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Events", "ListEvent"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Tasks/{Sid}", "FetchTask"),
    ("POST", "/v1/Workspaces/{WorkspaceSid}/Tasks/{Sid}", "UpdateTask"),
    ("DELETE", "/v1/Workspaces/{WorkspaceSid}/Tasks/{Sid}", "DeleteTask"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Tasks", "ListTask"),
    ("POST", "/v1/Workspaces/{WorkspaceSid}/Tasks", "CreateTask"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/TaskChannels/{Sid}", "FetchTaskChannel"),
    ("POST", "/v1/Workspaces/{WorkspaceSid}/TaskChannels/{Sid}", "UpdateTaskChannel"),
    ("DELETE", "/v1/Workspaces/{WorkspaceSid}/TaskChannels/{Sid}", "DeleteTaskChannel"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/TaskChannels", "ListTaskChannel"),
    ("POST", "/v1/Workspaces/{WorkspaceSid}/TaskChannels", "CreateTaskChannel"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/TaskQueues/{Sid}", "FetchTaskQueue"),
    ("POST", "/v1/Workspaces/{WorkspaceSid}/TaskQueues/{Sid}", "UpdateTaskQueue"),
    ("DELETE", "/v1/Workspaces/{WorkspaceSid}/TaskQueues/{Sid}", "DeleteTaskQueue"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/TaskQueues", "ListTaskQueue"),
    ("POST", "/v1/Workspaces/{WorkspaceSid}/TaskQueues", "CreateTaskQueue"),
    ("POST", "/v1/Workspaces/{WorkspaceSid}/TaskQueues/RealTimeStatistics", "CreateTaskQueueBulkRealTimeStatistics"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/TaskQueues/{TaskQueueSid}/CumulativeStatistics", "FetchTaskQueueCumulativeStatistics"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/TaskQueues/{TaskQueueSid}/RealTimeStatistics", "FetchTaskQueueRealTimeStatistics"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/TaskQueues/{TaskQueueSid}/Statistics", "FetchTaskQueueStatistics"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/TaskQueues/Statistics", "ListTaskQueuesStatistics"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Tasks/{TaskSid}/Reservations", "ListTaskReservation"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Tasks/{TaskSid}/Reservations/{Sid}", "FetchTaskReservation"),
    ("POST", "/v1/Workspaces/{WorkspaceSid}/Tasks/{TaskSid}/Reservations/{Sid}", "UpdateTaskReservation"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Workers", "ListWorker"),
    ("POST", "/v1/Workspaces/{WorkspaceSid}/Workers", "CreateWorker"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Workers/{Sid}", "FetchWorker"),
    ("POST", "/v1/Workspaces/{WorkspaceSid}/Workers/{Sid}", "UpdateWorker"),
    ("DELETE", "/v1/Workspaces/{WorkspaceSid}/Workers/{Sid}", "DeleteWorker"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Workers/{WorkerSid}/Channels", "ListWorkerChannel"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Workers/{WorkerSid}/Channels/{Sid}", "FetchWorkerChannel"),
    ("POST", "/v1/Workspaces/{WorkspaceSid}/Workers/{WorkerSid}/Channels/{Sid}", "UpdateWorkerChannel"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Workers/{WorkerSid}/Statistics", "FetchWorkerInstanceStatistics"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Workers/{WorkerSid}/Reservations", "ListWorkerReservation"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Workers/{WorkerSid}/Reservations/{Sid}", "FetchWorkerReservation"),
    ("POST", "/v1/Workspaces/{WorkspaceSid}/Workers/{WorkerSid}/Reservations/{Sid}", "UpdateWorkerReservation"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Workers/Statistics", "FetchWorkerStatistics"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Workers/CumulativeStatistics", "FetchWorkersCumulativeStatistics"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Workers/RealTimeStatistics", "FetchWorkersRealTimeStatistics"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Workflows/{Sid}", "FetchWorkflow"),
    ("POST", "/v1/Workspaces/{WorkspaceSid}/Workflows/{Sid}", "UpdateWorkflow"),
    ("DELETE", "/v1/Workspaces/{WorkspaceSid}/Workflows/{Sid}", "DeleteWorkflow"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Workflows", "ListWorkflow"),
    ("POST", "/v1/Workspaces/{WorkspaceSid}/Workflows", "CreateWorkflow"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Workflows/{WorkflowSid}/CumulativeStatistics", "FetchWorkflowCumulativeStatistics"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Workflows/{WorkflowSid}/RealTimeStatistics", "FetchWorkflowRealTimeStatistics"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Workflows/{WorkflowSid}/Statistics", "FetchWorkflowStatistics"),
    ("GET", "/v1/Workspaces/{Sid}", "FetchWorkspace"),
    ("POST", "/v1/Workspaces/{Sid}", "UpdateWorkspace"),
    ("DELETE", "/v1/Workspaces/{Sid}", "DeleteWorkspace"),
    ("GET", "/v1/Workspaces", "ListWorkspace"),
    ("POST", "/v1/Workspaces", "CreateWorkspace"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/CumulativeStatistics", "FetchWorkspaceCumulativeStatistics"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/RealTimeStatistics", "FetchWorkspaceRealTimeStatistics"),
    ("GET", "/v1/Workspaces/{WorkspaceSid}/Statistics", "FetchWorkspaceStatistics"),
)


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "/?$")


_COMPILED = [(method, _pattern(template), name) for method, template, name in OPERATIONS]
OPERATION_IDS = frozenset(name for _, _, name in OPERATIONS)


@lru_cache(maxsize=4096)
def operation_of(method: str, path: str) -> str | None:
    """Return the operationId a request is for, or None (literal segments win over `{Sid}`)."""
    found: list[tuple[int, str]] = []
    for op_method, pattern, name in _COMPILED:
        if op_method == method and pattern.match(path):
            found.append((pattern.pattern.count("[^/]+"), name))
    return min(found)[1] if found else None
