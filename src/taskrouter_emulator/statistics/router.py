"""HTTP routes of the statistics resources (workspace, task queues, workers, workflows).

Registered before the workers and task-queues routers so the static paths (`Workers/Statistics`,
`TaskQueues/RealTimeStatistics`, ...) win over their `/{sid}` routes.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from taskrouter_emulator.api.forms import params, read_form
from taskrouter_emulator.api.pagination import fetch_page, render_page
from taskrouter_emulator.api.threads import OneHopRoute
from taskrouter_emulator.api.urls import child_path
from taskrouter_emulator.clock import Clock
from taskrouter_emulator.config import Settings
from taskrouter_emulator.deps import (
    BaseUrlDep,
    ClockDep,
    PageDep,
    SessionDep,
    SettingsDep,
    WorkspaceDep,
)
from taskrouter_emulator.errors import InvalidParameter
from taskrouter_emulator.models import Workspace
from taskrouter_emulator.statistics import service
from taskrouter_emulator.statistics.cumulative import Window
from taskrouter_emulator.statistics.schemas import (
    BulkQueueData,
    CumulativeParams,
    QueueCumulative,
    QueueRealtime,
    RealTimeParams,
    TaskQueueBulkRealTimeStatisticsResource,
    TaskQueueCumulativeStatisticsResource,
    TaskQueueRealTimeStatisticsResource,
    TaskQueuesStatisticsEntry,
    TaskQueuesStatisticsParams,
    TaskQueueStatisticsResource,
    TaskRealtime,
    WindowParams,
    WorkerInstanceStatisticsResource,
    WorkersCumulative,
    WorkersCumulativeStatisticsResource,
    WorkersRealtime,
    WorkersRealTimeStatisticsResource,
    WorkersStatisticsParams,
    WorkersStatisticsResource,
    WorkflowCumulative,
    WorkflowCumulativeStatisticsResource,
    WorkflowRealTimeStatisticsResource,
    WorkflowStatisticsResource,
    WorkspaceCumulative,
    WorkspaceCumulativeStatisticsResource,
    WorkspaceRealtime,
    WorkspaceRealTimeStatisticsResource,
    WorkspaceStatisticsResource,
)
from taskrouter_emulator.task_queues import service as task_queues
from taskrouter_emulator.workers import service as workers
from taskrouter_emulator.workflows import service as workflows

router = APIRouter(route_class=OneHopRoute, prefix="/v1/Workspaces/{workspace_sid}")

Cumulative = Annotated[CumulativeParams, Depends(params(CumulativeParams))]
RealTime = Annotated[RealTimeParams, Depends(params(RealTimeParams))]
WindowOnly = Annotated[WindowParams, Depends(params(WindowParams))]


def _owner(workspace: Workspace, base_url: str, *parts: str) -> dict[str, Any]:
    return {
        "account_sid": workspace.account_sid,
        "workspace_sid": workspace.sid,
        "url": base_url + child_path(workspace.sid, *parts),
    }


def _window(clock: Clock, settings: Settings, query: WindowParams) -> Window:
    return service.window(
        now=clock.now(),
        retention_days=settings.event_retention_days,
        minutes=query.minutes,
        start_date=query.start_date,
        end_date=query.end_date,
    )


# -- workspace ---------------------------------------------------------------------------------


@router.get("/Statistics")
def workspace_statistics(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    query: Cumulative,
) -> WorkspaceStatisticsResource:
    window = _window(clock, settings, query)
    split = service.thresholds(query.split_by_wait_time)
    channel = service.channel_sid(session, workspace=workspace, value=query.task_channel)
    now = clock.now()
    rt = service.workspace_realtime(session, workspace=workspace, now=now, channel=channel)
    cumulative = service.workspace_cumulative(
        session, workspace=workspace, window=window, channel=channel, split=split
    )
    return WorkspaceStatisticsResource(
        **_owner(workspace, base_url, "Statistics"),
        realtime=WorkspaceRealtime.of(rt.tasks, rt.workers, rt.activities),
        cumulative=WorkspaceCumulative.of(cumulative),
    )


@router.get("/RealTimeStatistics")
def workspace_real_time_statistics(
    session: SessionDep,
    clock: ClockDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    query: RealTime,
) -> WorkspaceRealTimeStatisticsResource:
    channel = service.channel_sid(session, workspace=workspace, value=query.task_channel)
    rt = service.workspace_realtime(session, workspace=workspace, now=clock.now(), channel=channel)
    return WorkspaceRealTimeStatisticsResource(
        **_owner(workspace, base_url, "RealTimeStatistics"),
        **dict(WorkspaceRealtime.of(rt.tasks, rt.workers, rt.activities)),
    )


@router.get("/CumulativeStatistics")
def workspace_cumulative_statistics(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    query: Cumulative,
) -> WorkspaceCumulativeStatisticsResource:
    window = _window(clock, settings, query)
    split = service.thresholds(query.split_by_wait_time)
    channel = service.channel_sid(session, workspace=workspace, value=query.task_channel)
    cumulative = service.workspace_cumulative(
        session, workspace=workspace, window=window, channel=channel, split=split
    )
    return WorkspaceCumulativeStatisticsResource(
        **_owner(workspace, base_url, "CumulativeStatistics"),
        **dict(WorkspaceCumulative.of(cumulative)),
    )


# -- task queues -------------------------------------------------------------------------------


@router.get("/TaskQueues/Statistics")
def list_task_queues_statistics(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    page: PageDep,
    query: Annotated[TaskQueuesStatisticsParams, Depends(params(TaskQueuesStatisticsParams))],
) -> dict[str, Any]:
    window = _window(clock, settings, query)
    split = service.thresholds(query.split_by_wait_time)
    channel = service.channel_sid(session, workspace=workspace, value=query.task_channel)
    stmt = task_queues.list_query(
        workspace=workspace, friendly_name=query.friendly_name, descending=False
    )
    rows, has_next = fetch_page(session, stmt, page)
    realtime = service.queue_realtime(
        session, workspace=workspace, queues=rows, now=clock.now(), channel=channel
    )
    cumulative = service.queue_cumulatives(
        session, workspace=workspace, queues=rows, window=window, channel=channel, split=split
    )
    entries = {
        queue.sid: TaskQueuesStatisticsEntry(
            account_sid=workspace.account_sid,
            workspace_sid=workspace.sid,
            task_queue_sid=queue.sid,
            realtime=QueueRealtime.of(
                realtime[queue.sid].tasks,
                realtime[queue.sid].workers,
                realtime[queue.sid].activities,
            ),
            cumulative=QueueCumulative.of(cumulative[queue.sid]),
        )
        for queue in rows
    }
    return render_page(
        rows,
        has_next,
        req=page,
        base_url=base_url,
        key="task_queues_statistics",
        render=lambda q: entries[q.sid].model_dump(mode="json"),
    )


async def bulk_body(request: Request) -> Any:
    """Read the bulk request: a JSON body (what the helper libraries send), or a form as a fallback."""
    if "form" in request.headers.get("content-type", ""):
        form = await read_form(request)
        return {"QueueSids": form.getlist("QueueSids") or form.getlist("queueSids")}
    raw = await request.body()
    if not raw.strip():
        raise InvalidParameter("Missing required parameter queueSids")
    try:
        return json.loads(raw)
    except ValueError:
        raise InvalidParameter("The request body is not valid JSON") from None


@router.post("/TaskQueues/RealTimeStatistics")
def bulk_task_queue_real_time_statistics(
    session: SessionDep,
    clock: ClockDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    body: Annotated[Any, Depends(bulk_body)],
) -> TaskQueueBulkRealTimeStatisticsResource:
    sids = service.bulk_queue_sids(body)
    figures = service.bulk_queue_realtime(
        session, workspace=workspace, queue_sids=sids, now=clock.now()
    )
    data = [BulkQueueData.of(sid, f.tasks, f.workers, f.activities) for sid, f in figures]
    return TaskQueueBulkRealTimeStatisticsResource(
        **_owner(workspace, base_url, "TaskQueues", "RealTimeStatistics"),
        task_queue_data=data,
        task_queue_response_count=len(data),
    )


@router.get("/TaskQueues/{task_queue_sid}/Statistics")
def task_queue_statistics(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    task_queue_sid: str,
    query: Cumulative,
) -> TaskQueueStatisticsResource:
    queue = task_queues.get(session, workspace=workspace, sid=task_queue_sid)
    window = _window(clock, settings, query)
    split = service.thresholds(query.split_by_wait_time)
    channel = service.channel_sid(session, workspace=workspace, value=query.task_channel)
    rt = service.queue_realtime(
        session, workspace=workspace, queues=[queue], now=clock.now(), channel=channel
    )[queue.sid]
    cumulative = service.queue_cumulative(
        session, queue=queue, window=window, channel=channel, split=split
    )
    return TaskQueueStatisticsResource(
        **_owner(workspace, base_url, "TaskQueues", queue.sid, "Statistics"),
        task_queue_sid=queue.sid,
        realtime=QueueRealtime.of(rt.tasks, rt.workers, rt.activities),
        cumulative=QueueCumulative.of(cumulative),
    )


@router.get("/TaskQueues/{task_queue_sid}/RealTimeStatistics")
def task_queue_real_time_statistics(
    session: SessionDep,
    clock: ClockDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    task_queue_sid: str,
    query: RealTime,
) -> TaskQueueRealTimeStatisticsResource:
    queue = task_queues.get(session, workspace=workspace, sid=task_queue_sid)
    channel = service.channel_sid(session, workspace=workspace, value=query.task_channel)
    rt = service.queue_realtime(
        session, workspace=workspace, queues=[queue], now=clock.now(), channel=channel
    )[queue.sid]
    return TaskQueueRealTimeStatisticsResource(
        **_owner(workspace, base_url, "TaskQueues", queue.sid, "RealTimeStatistics"),
        task_queue_sid=queue.sid,
        **dict(QueueRealtime.of(rt.tasks, rt.workers, rt.activities)),
    )


@router.get("/TaskQueues/{task_queue_sid}/CumulativeStatistics")
def task_queue_cumulative_statistics(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    task_queue_sid: str,
    query: Cumulative,
) -> TaskQueueCumulativeStatisticsResource:
    queue = task_queues.get(session, workspace=workspace, sid=task_queue_sid)
    window = _window(clock, settings, query)
    split = service.thresholds(query.split_by_wait_time)
    channel = service.channel_sid(session, workspace=workspace, value=query.task_channel)
    cumulative = service.queue_cumulative(
        session, queue=queue, window=window, channel=channel, split=split
    )
    return TaskQueueCumulativeStatisticsResource(
        **_owner(workspace, base_url, "TaskQueues", queue.sid, "CumulativeStatistics"),
        task_queue_sid=queue.sid,
        **dict(QueueCumulative.of(cumulative)),
    )


# -- workers -----------------------------------------------------------------------------------


@router.get("/Workers/Statistics")
def workers_statistics(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    query: Annotated[WorkersStatisticsParams, Depends(params(WorkersStatisticsParams))],
) -> WorkersStatisticsResource:
    window = _window(clock, settings, query)
    channel = service.channel_sid(session, workspace=workspace, value=query.task_channel)
    selected = service.workers_filter(
        session,
        workspace=workspace,
        task_queue_sid=query.task_queue_sid,
        task_queue_name=query.task_queue_name,
        friendly_name=query.friendly_name,
    )
    figures = service.workers_statistics(
        session,
        workspace=workspace,
        window=window,
        now=clock.now(),
        channel=channel,
        worker_sids=selected,
    )
    return WorkersStatisticsResource(
        **_owner(workspace, base_url, "Workers", "Statistics"),
        realtime=WorkersRealtime.of(figures.realtime, figures.activities),
        cumulative=WorkersCumulative.of(figures.cumulative, figures.activities),
    )


@router.get("/Workers/RealTimeStatistics")
def workers_real_time_statistics(
    session: SessionDep, workspace: WorkspaceDep, base_url: BaseUrlDep, query: RealTime
) -> WorkersRealTimeStatisticsResource:
    # TaskChannel is accepted (and validated); worker counts do not depend on a task channel.
    service.channel_sid(session, workspace=workspace, value=query.task_channel)
    figures, activities = service.workers_realtime(session, workspace=workspace)
    return WorkersRealTimeStatisticsResource(
        **_owner(workspace, base_url, "Workers", "RealTimeStatistics"),
        **dict(WorkersRealtime.of(figures, activities)),
    )


@router.get("/Workers/CumulativeStatistics")
def workers_cumulative_statistics(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    query: WindowOnly,
) -> WorkersCumulativeStatisticsResource:
    window = _window(clock, settings, query)
    channel = service.channel_sid(session, workspace=workspace, value=query.task_channel)
    figures = service.workers_statistics(
        session, workspace=workspace, window=window, now=clock.now(), channel=channel
    )
    return WorkersCumulativeStatisticsResource(
        **_owner(workspace, base_url, "Workers", "CumulativeStatistics"),
        **dict(WorkersCumulative.of(figures.cumulative, figures.activities)),
    )


@router.get("/Workers/{worker_sid}/Statistics")
def worker_instance_statistics(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    worker_sid: str,
    query: WindowOnly,
) -> WorkerInstanceStatisticsResource:
    worker = workers.get(session, workspace=workspace, sid=worker_sid)
    window = _window(clock, settings, query)
    channel = service.channel_sid(session, workspace=workspace, value=query.task_channel)
    figures = service.workers_statistics(
        session, workspace=workspace, window=window, now=clock.now(), channel=channel, worker=worker
    )
    return WorkerInstanceStatisticsResource(
        **_owner(workspace, base_url, "Workers", worker.sid, "Statistics"),
        worker_sid=worker.sid,
        cumulative=WorkersCumulative.of(figures.cumulative, figures.activities),
    )


# -- workflows ---------------------------------------------------------------------------------


@router.get("/Workflows/{workflow_sid}/Statistics")
def workflow_statistics(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    workflow_sid: str,
    query: Cumulative,
) -> WorkflowStatisticsResource:
    workflow = workflows.get(session, workspace=workspace, sid=workflow_sid)
    window = _window(clock, settings, query)
    split = service.thresholds(query.split_by_wait_time)
    channel = service.channel_sid(session, workspace=workspace, value=query.task_channel)
    tasks = service.workflow_realtime(
        session, workspace=workspace, workflow=workflow, now=clock.now(), channel=channel
    )
    cumulative = service.workflow_cumulative(
        session, workflow=workflow, window=window, channel=channel, split=split
    )
    return WorkflowStatisticsResource(
        **_owner(workspace, base_url, "Workflows", workflow.sid, "Statistics"),
        workflow_sid=workflow.sid,
        realtime=TaskRealtime.build(tasks),
        cumulative=WorkflowCumulative.of(cumulative),
    )


@router.get("/Workflows/{workflow_sid}/RealTimeStatistics")
def workflow_real_time_statistics(
    session: SessionDep,
    clock: ClockDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    workflow_sid: str,
    query: RealTime,
) -> WorkflowRealTimeStatisticsResource:
    workflow = workflows.get(session, workspace=workspace, sid=workflow_sid)
    channel = service.channel_sid(session, workspace=workspace, value=query.task_channel)
    tasks = service.workflow_realtime(
        session, workspace=workspace, workflow=workflow, now=clock.now(), channel=channel
    )
    return WorkflowRealTimeStatisticsResource(
        **_owner(workspace, base_url, "Workflows", workflow.sid, "RealTimeStatistics"),
        workflow_sid=workflow.sid,
        **dict(TaskRealtime.build(tasks)),
    )


@router.get("/Workflows/{workflow_sid}/CumulativeStatistics")
def workflow_cumulative_statistics(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    workspace: WorkspaceDep,
    base_url: BaseUrlDep,
    workflow_sid: str,
    query: Cumulative,
) -> WorkflowCumulativeStatisticsResource:
    workflow = workflows.get(session, workspace=workspace, sid=workflow_sid)
    window = _window(clock, settings, query)
    split = service.thresholds(query.split_by_wait_time)
    channel = service.channel_sid(session, workspace=workspace, value=query.task_channel)
    cumulative = service.workflow_cumulative(
        session, workflow=workflow, window=window, channel=channel, split=split
    )
    return WorkflowCumulativeStatisticsResource(
        **_owner(workspace, base_url, "Workflows", workflow.sid, "CumulativeStatistics"),
        workflow_sid=workflow.sid,
        **dict(WorkflowCumulative.of(cumulative)),
    )
