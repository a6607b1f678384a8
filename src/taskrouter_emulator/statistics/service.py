"""Statistics of a workspace, its queues, workflows and workers: parameter rules and the figures.

Real-time figures come from current state (`realtime`), cumulative ones from the Event log over a
window (`cumulative`). Functions take the session first and keyword-only arguments, never commit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskrouter_emulator.errors import InvalidParameter
from taskrouter_emulator.events.service import resolve_window
from taskrouter_emulator.models import Activity, TaskQueue, Worker, Workflow, Workspace
from taskrouter_emulator.sids import Prefix, is_sid
from taskrouter_emulator.statistics import realtime
from taskrouter_emulator.statistics.cumulative import (
    QUEUE_ENTERED,
    WORKFLOW_ENTERED,
    Scope,
    TaskCumulative,
    Window,
    WorkerCumulative,
    task_cumulative,
    task_cumulatives,
    worker_cumulative,
)
from taskrouter_emulator.statistics.realtime import TaskFigures, WorkerFigures, WorkerPool
from taskrouter_emulator.statistics.sql import WorkerSet
from taskrouter_emulator.task_channels import service as task_channels

MAX_BULK_QUEUES = 50
MAX_THRESHOLDS = 50
_THRESHOLD = re.compile(r"^\d{1,9}$")


def window(
    *,
    now: datetime,
    retention_days: int,
    minutes: int | None,
    start_date: datetime | None,
    end_date: datetime | None,
) -> Window:
    """Resolve `Minutes`/`StartDate`/`EndDate` with the Events list's rules (default: last 15 minutes)."""
    start, end = resolve_window(
        now=now,
        retention_days=retention_days,
        minutes=minutes,
        start_date=start_date,
        end_date=end_date,
    )
    return Window(start=start, end=end)


def thresholds(value: str | None) -> list[int] | None:
    """Parse `SplitByWaitTime`: comma-separated whole seconds (duplicates dropped, order kept)."""
    if value is None:
        return None
    parts = [part.strip() for part in value.split(",")]
    if not parts or any(not _THRESHOLD.match(part) for part in parts):
        raise InvalidParameter(
            f"Invalid value for parameter SplitByWaitTime: '{value}' must be a comma-separated "
            "list of whole numbers of seconds, for example 5,30"
        )
    values = list(dict.fromkeys(int(part) for part in parts))
    if len(values) > MAX_THRESHOLDS:
        raise InvalidParameter(f"SplitByWaitTime accepts at most {MAX_THRESHOLDS} thresholds")
    return values


def channel_sid(session: Session, *, workspace: Workspace, value: str | None) -> str | None:
    """Resolve `TaskChannel` (a TC SID or a unique name) to the SID of one of the workspace's channels."""
    if value is None:
        return None
    channel = task_channels.lookup(session, workspace=workspace, sid_or_name=value)
    if channel is None:
        raise InvalidParameter(
            f"TaskChannel '{value}' is not a TaskChannel of Workspace {workspace.sid}"
        )
    return channel.sid


@dataclass(frozen=True)
class WorkspaceRealtime:
    tasks: TaskFigures
    workers: WorkerFigures
    activities: list[Activity]


@dataclass(frozen=True)
class QueueRealtime:
    tasks: TaskFigures
    workers: WorkerFigures
    activities: list[Activity]


@dataclass(frozen=True)
class WorkersFigures:
    realtime: WorkerFigures
    cumulative: WorkerCumulative
    activities: list[Activity]


def workspace_realtime(
    session: Session, *, workspace: Workspace, now: datetime, channel: str | None
) -> WorkspaceRealtime:
    """Real-time figures of the whole workspace."""
    activity_list = realtime.activities(session, workspace=workspace)
    return WorkspaceRealtime(
        tasks=realtime.task_figures(session, workspace=workspace, now=now, channel_sid=channel),
        workers=realtime.worker_figures(session, workspace=workspace, activity_list=activity_list),
        activities=activity_list,
    )


def workspace_cumulative(
    session: Session,
    *,
    workspace: Workspace,
    window: Window,
    channel: str | None,
    split: Sequence[int] | None,
) -> TaskCumulative:
    """Cumulative figures of the whole workspace."""
    return task_cumulative(
        session,
        scope=Scope(workspace_sid=workspace.sid, channel_sid=channel),
        window=window,
        entered_type=None,
        thresholds=split,
    )


def workflow_realtime(
    session: Session,
    *,
    workspace: Workspace,
    workflow: Workflow,
    now: datetime,
    channel: str | None,
) -> TaskFigures:
    """Real-time figures of the tasks of one workflow."""
    return realtime.task_figures(
        session, workspace=workspace, now=now, workflow_sid=workflow.sid, channel_sid=channel
    )


def workflow_cumulative(
    session: Session,
    *,
    workflow: Workflow,
    window: Window,
    channel: str | None,
    split: Sequence[int] | None,
) -> TaskCumulative:
    """Cumulative figures of the events of one workflow."""
    return task_cumulative(
        session,
        scope=Scope(
            workspace_sid=workflow.workspace_sid, workflow_sid=workflow.sid, channel_sid=channel
        ),
        window=window,
        entered_type=WORKFLOW_ENTERED,
        thresholds=split,
    )


def queue_realtime(
    session: Session,
    *,
    workspace: Workspace,
    queues: Sequence[TaskQueue],
    now: datetime,
    channel: str | None,
) -> dict[str, QueueRealtime]:
    """Real-time figures of several queues (tasks in them; workers their `target_workers` selects)."""
    activity_list = realtime.activities(session, workspace=workspace)
    pool = WorkerPool(session, workspace=workspace, activity_list=activity_list)
    tasks = realtime.queue_task_figures(
        session, queue_sids=[q.sid for q in queues], now=now, channel_sid=channel
    )
    workers = pool.queue_figures(queues)
    return {
        queue.sid: QueueRealtime(
            tasks=tasks[queue.sid], workers=workers[queue.sid], activities=activity_list
        )
        for queue in queues
    }


def queue_cumulative(
    session: Session,
    *,
    queue: TaskQueue,
    window: Window,
    channel: str | None,
    split: Sequence[int] | None,
) -> TaskCumulative:
    """Cumulative figures of the events of one queue."""
    return task_cumulative(
        session,
        scope=Scope(
            workspace_sid=queue.workspace_sid, task_queue_sid=queue.sid, channel_sid=channel
        ),
        window=window,
        entered_type=QUEUE_ENTERED,
        thresholds=split,
        in_queue=True,
    )


def queue_cumulatives(
    session: Session,
    *,
    workspace: Workspace,
    queues: Sequence[TaskQueue],
    window: Window,
    channel: str | None,
    split: Sequence[int] | None,
) -> dict[str, TaskCumulative]:
    """Cumulative figures of several queues at once (one page of the queue statistics list)."""
    if not queues:
        return {}
    figures = task_cumulatives(
        session,
        scope=Scope(
            workspace_sid=workspace.sid,
            task_queue_sids=tuple(q.sid for q in queues),
            channel_sid=channel,
        ),
        window=window,
        entered_type=QUEUE_ENTERED,
        thresholds=split,
        in_queue=True,
    )
    return {queue.sid: figures[queue.sid] for queue in queues}


def bulk_queue_sids(body: Any) -> list[str]:
    """Validate the bulk request body (`{"queueSids": [...]}`; `QueueSids` also accepted): 1 to 50 WQ SIDs."""
    if not isinstance(body, dict):
        raise InvalidParameter("The request body must be a JSON object with a queueSids array")
    key = next((k for k in ("queueSids", "QueueSids") if k in body), None)
    if key is None:
        raise InvalidParameter("Missing required parameter queueSids")
    sids = body[key]
    if isinstance(sids, str):
        sids = [part for part in re.split(r"[,\s]+", sids) if part]
    if not isinstance(sids, list):
        raise InvalidParameter("queueSids must be an array of TaskQueue SIDs")
    if not 1 <= len(sids) <= MAX_BULK_QUEUES:
        raise InvalidParameter(
            f"queueSids must contain between 1 and {MAX_BULK_QUEUES} TaskQueue SIDs, got {len(sids)}"
        )
    for sid in sids:
        if not isinstance(sid, str) or not is_sid(sid, Prefix.TASK_QUEUE):
            raise InvalidParameter(f"Invalid TaskQueue SID in queueSids: {sid!r}")
    return list(dict.fromkeys(sids))


def bulk_queue_realtime(
    session: Session, *, workspace: Workspace, queue_sids: Sequence[str], now: datetime
) -> list[tuple[str, QueueRealtime]]:
    """Real-time figures of the requested queues, in request order; unknown queues are all zeros."""
    found = {
        q.sid: q
        for q in session.scalars(
            select(TaskQueue).where(
                TaskQueue.workspace_sid == workspace.sid, TaskQueue.sid.in_(list(queue_sids))
            )
        )
    }
    figures = queue_realtime(
        session, workspace=workspace, queues=list(found.values()), now=now, channel=None
    )
    activity_list = realtime.activities(session, workspace=workspace)
    empty = QueueRealtime(
        tasks=TaskFigures(),
        workers=WorkerFigures(
            by_activity=dict.fromkeys((a.sid for a in activity_list), 0), total=0
        ),
        activities=activity_list,
    )
    return [(sid, figures.get(sid, empty)) for sid in queue_sids]


def workers_realtime(
    session: Session, *, workspace: Workspace
) -> tuple[WorkerFigures, list[Activity]]:
    """Workers per activity across the workspace, and the activities in creation order."""
    activity_list = realtime.activities(session, workspace=workspace)
    return realtime.worker_figures(
        session, workspace=workspace, activity_list=activity_list
    ), activity_list


def workers_filter(
    session: Session,
    *,
    workspace: Workspace,
    task_queue_sid: str | None,
    task_queue_name: str | None,
    friendly_name: str | None,
) -> WorkerSet | None:
    """The workers `/Workers/Statistics` is restricted to (None: every worker of the workspace).

    `TaskQueueSid`/`TaskQueueName` keep the workers a queue's `target_workers` selects (an unknown
    queue selects nobody, as in the Workers list; with several queues of that name, any of them);
    `FriendlyName` keeps the worker of that name. Given together, all must hold. The SIDs come
    sorted, or, for `TaskQueueSid` alone naming a queue whose members are indexed, as the
    statement selecting its member rows (used as a subquery by the figures' queries).
    """
    if task_queue_sid is None and task_queue_name is None and friendly_name is None:
        return None
    if task_queue_name is None and friendly_name is None:
        queue = session.scalars(
            select(TaskQueue).where(
                TaskQueue.workspace_sid == workspace.sid, TaskQueue.sid == task_queue_sid
            )
        ).first()
        if queue is not None and queue.members_indexed:
            return realtime.members_of(queue.sid)
    pool = WorkerPool(
        session,
        workspace=workspace,
        activity_list=realtime.activities(session, workspace=workspace),
    )
    selected: set[str] | None = None
    for column, value in (
        (TaskQueue.sid, task_queue_sid),
        (TaskQueue.friendly_name, task_queue_name),
    ):
        if value is None:
            continue
        queues = session.scalars(
            select(TaskQueue).where(TaskQueue.workspace_sid == workspace.sid, column == value)
        )
        matching = {sid for queue in queues for sid in pool.eligible_sids(queue)}
        selected = matching if selected is None else selected & matching
    if friendly_name is not None:
        named = set(
            session.scalars(
                select(Worker.sid).where(
                    Worker.workspace_sid == workspace.sid, Worker.friendly_name == friendly_name
                )
            )
        )
        selected = named if selected is None else selected & named
    assert selected is not None
    return tuple(sorted(selected))


def workers_statistics(
    session: Session,
    *,
    workspace: Workspace,
    window: Window,
    now: datetime,
    channel: str | None,
    worker_sids: WorkerSet | None = None,
    worker: Worker | None = None,
) -> WorkersFigures:
    """Workers real-time and cumulative figures: all workers, a filtered set, or one worker."""
    activity_list = realtime.activities(session, workspace=workspace)
    selected: WorkerSet | None = None if worker is None else (worker.sid,)
    if worker_sids is not None:
        selected = worker_sids
    figures = realtime.worker_figures(
        session, workspace=workspace, activity_list=activity_list, worker_sids=selected
    )
    sids = [a.sid for a in activity_list]
    if isinstance(selected, tuple) and not selected:
        cumulative = WorkerCumulative(
            window=window,
            counts=dict.fromkeys(
                (
                    "reservations_created",
                    "reservations_accepted",
                    "reservations_rejected",
                    "reservations_timed_out",
                    "reservations_canceled",
                    "reservations_rescinded",
                ),
                0,
            ),
            activity_durations={},
        )
    else:
        scope = Scope(
            workspace_sid=workspace.sid,
            worker_sid=worker.sid if worker is not None else None,
            worker_sids=worker_sids,
            channel_sid=channel,
        )
        cumulative = worker_cumulative(
            session, scope=scope, window=window, now=now, activity_sids=sids
        )
    return WorkersFigures(realtime=figures, cumulative=cumulative, activities=activity_list)
