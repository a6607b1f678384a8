"""Statistics request parameters and response bodies.

Every response carries exactly the top-level keys of the spec's schema; statistics have no `links`.
The nested objects (`realtime`, `cumulative`, `tasks_by_status`, ...) are real JSON objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from taskrouter_emulator.api.forms import TwilioDateTime, TwilioParams
from taskrouter_emulator.api.resources import Date
from taskrouter_emulator.models import Activity
from taskrouter_emulator.statistics.cumulative import (
    Duration,
    TaskCumulative,
    WorkerCumulative,
)
from taskrouter_emulator.statistics.realtime import TaskFigures, WorkerFigures

# -- request parameters ------------------------------------------------------------------------


class RealTimeParams(TwilioParams):
    task_channel: str | None = None


class WindowParams(TwilioParams):
    minutes: int | None = None
    start_date: TwilioDateTime | None = None
    end_date: TwilioDateTime | None = None
    task_channel: str | None = None


class CumulativeParams(WindowParams):
    split_by_wait_time: str | None = None


class TaskQueuesStatisticsParams(CumulativeParams):
    friendly_name: str | None = None


class WorkersStatisticsParams(WindowParams):
    task_queue_sid: str | None = None
    task_queue_name: str | None = None
    friendly_name: str | None = None


# -- nested objects ----------------------------------------------------------------------------


class ActivityStatistic(BaseModel):
    sid: str
    friendly_name: str
    workers: int


class DurationStatistics(BaseModel):
    avg: int
    min: int
    max: int
    total: int

    @classmethod
    def of(cls, duration: Duration) -> DurationStatistics:
        return cls(avg=duration.avg, min=duration.min, max=duration.max, total=duration.total)


class SplitCounts(BaseModel):
    tasks_canceled: int
    reservations_accepted: int


class SplitStatistics(BaseModel):
    above: SplitCounts
    below: SplitCounts


class ActivityDuration(BaseModel):
    sid: str
    friendly_name: str
    avg: int
    min: int
    max: int
    total: int


def activity_statistics(
    activities: Sequence[Activity], workers: WorkerFigures
) -> list[ActivityStatistic]:
    """One entry per activity of the workspace, zero counts included."""
    return [
        ActivityStatistic(
            sid=a.sid, friendly_name=a.friendly_name, workers=workers.by_activity.get(a.sid, 0)
        )
        for a in activities
    ]


# -- real-time objects -------------------------------------------------------------------------


class TaskRealtime(BaseModel):
    longest_task_waiting_age: int
    longest_task_waiting_sid: str | None
    tasks_by_priority: dict[str, int]
    tasks_by_status: dict[str, int]
    total_tasks: int

    @classmethod
    def build(cls, tasks: TaskFigures) -> TaskRealtime:
        return cls(**_task_fields(tasks))


def _task_fields(tasks: TaskFigures) -> dict[str, Any]:
    return {
        "longest_task_waiting_age": tasks.longest_age,
        "longest_task_waiting_sid": tasks.longest_sid,
        "tasks_by_priority": dict(tasks.by_priority),
        "tasks_by_status": dict(tasks.by_status),
        "total_tasks": tasks.total,
    }


class WorkspaceRealtime(TaskRealtime):
    activity_statistics: list[ActivityStatistic]
    total_workers: int

    @classmethod
    def of(
        cls, tasks: TaskFigures, workers: WorkerFigures, activities: Sequence[Activity]
    ) -> WorkspaceRealtime:
        return cls(
            **_task_fields(tasks),
            activity_statistics=activity_statistics(activities, workers),
            total_workers=workers.total,
        )


class QueueRealtime(TaskRealtime):
    activity_statistics: list[ActivityStatistic]
    longest_relative_task_age_in_queue: int
    longest_relative_task_sid_in_queue: str | None
    total_available_workers: int
    total_eligible_workers: int

    @classmethod
    def of(
        cls, tasks: TaskFigures, workers: WorkerFigures, activities: Sequence[Activity]
    ) -> QueueRealtime:
        return cls(
            **_task_fields(tasks),
            activity_statistics=activity_statistics(activities, workers),
            longest_relative_task_age_in_queue=tasks.relative_age,
            longest_relative_task_sid_in_queue=tasks.relative_sid,
            total_available_workers=workers.available,
            total_eligible_workers=workers.total,
        )


class WorkersRealtime(BaseModel):
    activity_statistics: list[ActivityStatistic]
    total_workers: int

    @classmethod
    def of(cls, workers: WorkerFigures, activities: Sequence[Activity]) -> WorkersRealtime:
        return cls(
            activity_statistics=activity_statistics(activities, workers),
            total_workers=workers.total,
        )


class BulkQueueData(BaseModel):
    task_queue_sid: str
    total_available_workers: int
    total_eligible_workers: int
    total_tasks: int
    longest_task_waiting_age: int
    longest_task_waiting_sid: str | None
    tasks_by_status: dict[str, int]
    tasks_by_priority: dict[str, int]
    activity_statistics: list[ActivityStatistic]

    @classmethod
    def of(
        cls,
        queue_sid: str,
        tasks: TaskFigures,
        workers: WorkerFigures,
        activities: Sequence[Activity],
    ) -> BulkQueueData:
        return cls(
            task_queue_sid=queue_sid,
            total_available_workers=workers.available,
            total_eligible_workers=workers.total,
            total_tasks=tasks.total,
            longest_task_waiting_age=tasks.longest_age,
            longest_task_waiting_sid=tasks.longest_sid,
            tasks_by_status=dict(tasks.by_status),
            tasks_by_priority=dict(tasks.by_priority),
            activity_statistics=activity_statistics(activities, workers),
        )


# -- cumulative objects ------------------------------------------------------------------------


class TaskCumulativeBase(BaseModel):
    avg_task_acceptance_time: int
    start_time: Date
    end_time: Date
    reservations_created: int
    reservations_accepted: int
    reservations_rejected: int
    reservations_timed_out: int
    reservations_canceled: int
    reservations_rescinded: int
    split_by_wait_time: dict[str, SplitStatistics] | None
    wait_duration_until_accepted: DurationStatistics
    wait_duration_until_canceled: DurationStatistics
    tasks_canceled: int
    tasks_completed: int
    tasks_deleted: int
    tasks_moved: int


_BASE_COUNTERS = (
    "reservations_created",
    "reservations_accepted",
    "reservations_rejected",
    "reservations_timed_out",
    "reservations_canceled",
    "reservations_rescinded",
    "tasks_canceled",
    "tasks_completed",
    "tasks_deleted",
    "tasks_moved",
)


def _cumulative_fields(figures: TaskCumulative, *extra: str) -> dict[str, Any]:
    split = None
    if figures.split is not None:
        split = {
            threshold: SplitStatistics(
                above=SplitCounts(
                    tasks_canceled=s.above_canceled, reservations_accepted=s.above_accepted
                ),
                below=SplitCounts(
                    tasks_canceled=s.below_canceled, reservations_accepted=s.below_accepted
                ),
            )
            for threshold, s in figures.split.items()
        }
    fields: dict[str, Any] = {name: figures.counts[name] for name in (*_BASE_COUNTERS, *extra)}
    fields.update(
        avg_task_acceptance_time=figures.avg_task_acceptance_time,
        start_time=figures.window.start,
        end_time=figures.window.end,
        split_by_wait_time=split,
        wait_duration_until_accepted=DurationStatistics.of(figures.until_accepted),
        wait_duration_until_canceled=DurationStatistics.of(figures.until_canceled),
    )
    return fields


class WorkspaceCumulative(TaskCumulativeBase):
    tasks_created: int
    tasks_timed_out_in_workflow: int

    @classmethod
    def of(cls, figures: TaskCumulative) -> WorkspaceCumulative:
        return cls(**_cumulative_fields(figures, "tasks_created", "tasks_timed_out_in_workflow"))


class QueueCumulative(TaskCumulativeBase):
    tasks_entered: int
    wait_duration_in_queue_until_accepted: DurationStatistics

    @classmethod
    def of(cls, figures: TaskCumulative) -> QueueCumulative:
        return cls(
            **_cumulative_fields(figures, "tasks_entered"),
            wait_duration_in_queue_until_accepted=DurationStatistics.of(
                figures.in_queue_until_accepted
            ),
        )


class WorkflowCumulative(TaskCumulativeBase):
    tasks_entered: int
    tasks_timed_out_in_workflow: int

    @classmethod
    def of(cls, figures: TaskCumulative) -> WorkflowCumulative:
        return cls(**_cumulative_fields(figures, "tasks_entered", "tasks_timed_out_in_workflow"))


class WorkersCumulative(BaseModel):
    start_time: Date
    end_time: Date
    activity_durations: list[ActivityDuration]
    reservations_created: int
    reservations_accepted: int
    reservations_rejected: int
    reservations_timed_out: int
    reservations_canceled: int
    reservations_rescinded: int

    @classmethod
    def of(cls, figures: WorkerCumulative, activities: Sequence[Activity]) -> WorkersCumulative:
        durations = []
        for activity in activities:
            d = figures.activity_durations.get(activity.sid, Duration())
            durations.append(
                ActivityDuration(
                    sid=activity.sid,
                    friendly_name=activity.friendly_name,
                    avg=d.avg,
                    min=d.min,
                    max=d.max,
                    total=d.total,
                )
            )
        return cls(
            start_time=figures.window.start,
            end_time=figures.window.end,
            activity_durations=durations,
            **{name: figures.counts.get(name, 0) for name in _BASE_COUNTERS[:6]},
        )


# -- top-level resources -----------------------------------------------------------------------


class WorkspaceStatisticsResource(BaseModel):
    account_sid: str
    workspace_sid: str
    url: str
    realtime: WorkspaceRealtime
    cumulative: WorkspaceCumulative


class WorkspaceRealTimeStatisticsResource(WorkspaceRealtime):
    account_sid: str
    workspace_sid: str
    url: str


class WorkspaceCumulativeStatisticsResource(WorkspaceCumulative):
    account_sid: str
    workspace_sid: str
    url: str


class TaskQueueStatisticsResource(BaseModel):
    account_sid: str
    workspace_sid: str
    task_queue_sid: str
    url: str
    realtime: QueueRealtime
    cumulative: QueueCumulative


class TaskQueuesStatisticsEntry(BaseModel):
    account_sid: str
    workspace_sid: str
    task_queue_sid: str
    realtime: QueueRealtime
    cumulative: QueueCumulative


class TaskQueueRealTimeStatisticsResource(QueueRealtime):
    account_sid: str
    workspace_sid: str
    task_queue_sid: str
    url: str


class TaskQueueCumulativeStatisticsResource(QueueCumulative):
    account_sid: str
    workspace_sid: str
    task_queue_sid: str
    url: str


class TaskQueueBulkRealTimeStatisticsResource(BaseModel):
    account_sid: str
    workspace_sid: str
    url: str
    task_queue_data: list[BulkQueueData]
    task_queue_response_count: int


class WorkflowStatisticsResource(BaseModel):
    account_sid: str
    workspace_sid: str
    workflow_sid: str
    url: str
    realtime: TaskRealtime
    cumulative: WorkflowCumulative


class WorkflowRealTimeStatisticsResource(TaskRealtime):
    account_sid: str
    workspace_sid: str
    workflow_sid: str
    url: str


class WorkflowCumulativeStatisticsResource(WorkflowCumulative):
    account_sid: str
    workspace_sid: str
    workflow_sid: str
    url: str


class WorkersStatisticsResource(BaseModel):
    account_sid: str
    workspace_sid: str
    url: str
    realtime: WorkersRealtime
    cumulative: WorkersCumulative


class WorkersRealTimeStatisticsResource(WorkersRealtime):
    account_sid: str
    workspace_sid: str
    url: str


class WorkersCumulativeStatisticsResource(WorkersCumulative):
    account_sid: str
    workspace_sid: str
    url: str


class WorkerInstanceStatisticsResource(BaseModel):
    account_sid: str
    workspace_sid: str
    worker_sid: str
    url: str
    cumulative: WorkersCumulative
