"""Cumulative statistics: figures over a time window, computed in SQL from the Event log.

Counters are one `GROUP BY event_type` over indexed columns (the workspace, queue, workflow or
worker composite indexes on `(…, event_type, event_date)`); the duration aggregates read the typed
columns the recorder copies out of `event_data` (`task_age`, `task_queue_entered_date`,
`worker_previous_activity_sid`, `worker_time_in_previous_activity_ms`) from the partial indexes
that hold them for the three event types concerned, so no JSON is parsed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, bindparam, case, func, literal, select
from sqlalchemy.orm import Session

from taskrouter_emulator.events import counts
from taskrouter_emulator.models import Event, Worker
from taskrouter_emulator.statistics.sql import (
    WorkerSet,
    epoch_ms,
    in_workers,
    inline,
    least,
    read_events_through,
)

RESERVATION_COUNTERS: dict[str, str] = {
    "reservations_created": "reservation.created",
    "reservations_accepted": "reservation.accepted",
    "reservations_rejected": "reservation.rejected",
    "reservations_timed_out": "reservation.timeout",
    "reservations_canceled": "reservation.canceled",
    "reservations_rescinded": "reservation.rescinded",
}
TASK_COUNTERS: dict[str, tuple[str, ...]] = {
    "tasks_created": ("task.created",),
    "tasks_canceled": ("task.canceled",),
    "tasks_completed": ("task.completed",),
    "tasks_deleted": ("task.deleted", "task.system-deleted"),
    "tasks_moved": ("task-queue.moved",),
    "tasks_timed_out_in_workflow": ("workflow.timeout",),
}
QUEUE_ENTERED = "task-queue.entered"
WORKFLOW_ENTERED = "workflow.entered"
ACCEPTED = "reservation.accepted"
CANCELED = "task.canceled"
ACTIVITY_UPDATE = "worker.activity.update"
# The partial indexes holding the aggregated values of each event type (models/event.py).
VALUE_INDEXES = {
    ACCEPTED: "ix_event_accepted_waits",
    CANCELED: "ix_event_canceled_waits",
    ACTIVITY_UPDATE: "ix_event_activity_stays",
}
# `(worker_sid, event_type, event_date, task_channel_sid)`: the events of a set of workers.
WORKER_INDEX = "ix_event_worker_type_date"


@dataclass(frozen=True)
class Window:
    """The (inclusive) time range a cumulative object covers."""

    start: datetime
    end: datetime

    @property
    def start_ms(self) -> int:
        return _ms(self.start)

    @property
    def end_ms(self) -> int:
        return _ms(self.end)


@dataclass(frozen=True)
class Scope:
    """Which events count: a workspace's, optionally only one queue's, workflow's or workers'.

    A queue, workflow or worker SID identifies its workspace by itself, so those scopes leave the
    workspace out of the WHERE clause and the planner uses their `(sid, event_type, event_date, …)`
    index. `worker_sids` (a filtered set of the workspace's workers) is rendered inline, so any
    number fits, or is a subquery (`sql.WorkerSet`).
    """

    workspace_sid: str
    task_queue_sid: str | None = None
    task_queue_sids: tuple[str, ...] | None = None
    workflow_sid: str | None = None
    worker_sid: str | None = None
    worker_sids: WorkerSet | None = None
    channel_sid: str | None = None

    @property
    def spans_workspace(self) -> bool:
        """Whether the scope draws on the whole workspace's events (not one queue's or worker's)."""
        return self.task_queue_sid is None and self.worker_sid is None

    def conditions(
        self, window: Window, event_types: Collection[str], *, by_workspace: bool = False
    ) -> list[ColumnElement[bool]]:
        """Return the WHERE conditions selecting this scope's events of the given types in the window.

        `by_workspace` names the workspace even when a narrower SID implies it, so the partial
        value indexes (which lead with `(workspace_sid, event_date)`) apply.
        """
        types = list(dict.fromkeys(event_types))
        where: list[ColumnElement[bool]] = []
        if by_workspace:
            where.append(Event.workspace_sid == self.workspace_sid)
        if self.task_queue_sid is not None:
            where.append(Event.task_queue_sid == self.task_queue_sid)
        elif self.task_queue_sids is not None:
            where.append(Event.task_queue_sid.in_(inline("task_queue_sids", self.task_queue_sids)))
        elif self.workflow_sid is not None:
            where.append(Event.workflow_sid == self.workflow_sid)
        elif self.worker_sid is not None:
            where.append(Event.worker_sid == self.worker_sid)
        elif self.worker_sids is not None:
            where.append(in_workers(Event.worker_sid, self.worker_sids))
        elif not by_workspace:
            where.append(Event.workspace_sid == self.workspace_sid)
        # Literal types: the partial value indexes apply only when the statement names the type
        # (a bound parameter hides it from SQLite's planner and from PostgreSQL's generic plans).
        where.append(
            Event.event_type == literal(types[0], literal_execute=True)
            if len(types) == 1
            else Event.event_type.in_(bindparam(None, types, expanding=True, literal_execute=True))
        )
        where.append(Event.event_date >= window.start)
        where.append(Event.event_date <= window.end)
        if self.channel_sid is not None:
            where.append(Event.task_channel_sid == self.channel_sid)
        return where


@dataclass
class Aggregate:
    """count/total/min/max of a set of values (mergeable, so partial results can be combined)."""

    count: int = 0
    total: int = 0
    minimum: int | None = None
    maximum: int | None = None

    def add(self, value: int) -> None:
        self.merge(Aggregate(count=1, total=value, minimum=value, maximum=value))

    def merge(self, other: Aggregate) -> None:
        if not other.count:
            return
        self.count += other.count
        self.total += other.total
        self.minimum = (
            other.minimum if self.minimum is None else min(self.minimum, other.minimum or 0)
        )
        self.maximum = (
            other.maximum if self.maximum is None else max(self.maximum, other.maximum or 0)
        )

    @property
    def average(self) -> int:
        return round_half_up(self.total, self.count)


@dataclass(frozen=True)
class Duration:
    """The `{avg, min, max, total}` object, whole seconds (zeros when nothing was measured)."""

    avg: int = 0
    min: int = 0
    max: int = 0
    total: int = 0

    @classmethod
    def of(cls, aggregate: Aggregate, *, divisor: int = 1) -> Duration:
        """Convert an aggregate (in units of `1/divisor` seconds) to whole seconds."""
        if not aggregate.count:
            return cls()
        return cls(
            avg=round_half_up(aggregate.total, aggregate.count * divisor),
            min=round_half_up(aggregate.minimum or 0, divisor),
            max=round_half_up(aggregate.maximum or 0, divisor),
            total=round_half_up(aggregate.total, divisor),
        )


@dataclass(frozen=True)
class Split:
    """Counts on each side of one `SplitByWaitTime` threshold (below means a wait <= threshold)."""

    above_canceled: int = 0
    above_accepted: int = 0
    below_canceled: int = 0
    below_accepted: int = 0


@dataclass(frozen=True)
class TaskCumulative:
    """The figures of a workspace, queue or workflow cumulative object."""

    window: Window
    counts: Mapping[str, int]
    until_accepted: Duration
    until_canceled: Duration
    in_queue_until_accepted: Duration
    avg_task_acceptance_time: int
    split: dict[str, Split] | None


@dataclass(frozen=True)
class WorkerCumulative:
    """The figures of a workers (or one worker's) cumulative object."""

    window: Window
    counts: Mapping[str, int]
    activity_durations: Mapping[str, Duration] = field(default_factory=dict)


def round_half_up(numerator: int, denominator: int) -> int:
    """Divide and round to the nearest integer, halves up (0 for an empty denominator)."""
    if denominator <= 0:
        return 0
    return (2 * numerator + denominator) // (2 * denominator)


def event_counts(
    session: Session, *, scope: Scope, window: Window, event_types: Iterable[str]
) -> dict[str, int]:
    """Count the scope's events of each type in the window (one grouped query)."""
    types = list(dict.fromkeys(event_types))
    grouped = _grouped_counts(session, scope=scope, window=window, event_types=types, group=None)
    return {t: grouped.get((None, t), 0) for t in types}


def _grouped_counts(
    session: Session,
    *,
    scope: Scope,
    window: Window,
    event_types: Sequence[str],
    group: ColumnElement[str | None] | None,
) -> dict[tuple[str | None, str], int]:
    """Count events per (group, type), group being the queue when `scope.task_queue_sids` is set.

    A workspace, queue or workflow scope adds up the `event_count` buckets that lie wholly inside
    the window and counts the events of the partial buckets at its two edges; worker scopes
    (not bucketed) count their events from the worker index.
    """
    if scope.worker_sid is not None or scope.worker_sids is not None:
        return _counted_events(
            session, scope=scope, window=window, event_types=event_types, group=group
        )
    first = counts.first_bucket_from(window.start)
    end = counts.bucket_of(window.end)  # the buckets before this one end inside the window
    if first >= end:
        return _counted_events(
            session, scope=scope, window=window, event_types=event_types, group=group
        )
    tiny = timedelta(microseconds=1)
    edges = (
        Window(start=window.start, end=counts.bucket_start(first) - tiny),
        Window(start=counts.bucket_start(end), end=window.end),
    )
    totals: dict[tuple[str | None, str], int] = {}
    for edge in edges:
        if edge.end < edge.start:  # the window starts on a bucket boundary
            continue
        for key, n in _counted_events(
            session, scope=scope, window=edge, event_types=event_types, group=group
        ).items():
            totals[key] = totals.get(key, 0) + n
    sids = scope.task_queue_sids or (
        scope.task_queue_sid or scope.workflow_sid or scope.workspace_sid,
    )
    summed = counts.bucket_counts(
        session,
        scope_sids=sids,
        first_bucket=first,
        end_bucket=end,
        event_types=event_types,
        channel_sid=scope.channel_sid,
    )
    for (scope_sid, event_type), n in summed.items():
        key = (scope_sid if group is not None else None, event_type)
        totals[key] = totals.get(key, 0) + n
    return totals


def _counted_events(
    session: Session,
    *,
    scope: Scope,
    window: Window,
    event_types: Sequence[str],
    group: ColumnElement[str | None] | None,
) -> dict[tuple[str | None, str], int]:
    """Count events per (group, type): `GROUP BY [task_queue_sid,] event_type` over an index."""
    columns: list[Any] = [Event.event_type, func.count()]
    if group is not None:
        columns.insert(0, group)
    stmt = select(*columns).where(*scope.conditions(window, event_types))
    stmt = stmt.group_by(*(c for c in (group, Event.event_type) if c is not None))
    if scope.worker_sids is not None:
        # SQLite otherwise walks every event of the types in the window (all workspaces, through
        # the workspace index with a skip-scan) and reads each row to test its worker; the worker
        # index answers from the index alone, a range per worker.
        stmt = read_events_through(stmt, WORKER_INDEX)
    counts: dict[tuple[str | None, str], int] = {}
    for row in session.execute(stmt):
        key = (row[0], row[1]) if group is not None else (None, row[0])
        counts[key] = int(row[-1])
    return counts


def task_cumulative(
    session: Session,
    *,
    scope: Scope,
    window: Window,
    entered_type: str | None,
    thresholds: Sequence[int] | None,
    in_queue: bool = False,
) -> TaskCumulative:
    """Compute a workspace, queue or workflow cumulative object."""
    return task_cumulatives(
        session,
        scope=scope,
        window=window,
        entered_type=entered_type,
        thresholds=thresholds,
        in_queue=in_queue,
    )[None]


def task_cumulatives(
    session: Session,
    *,
    scope: Scope,
    window: Window,
    entered_type: str | None,
    thresholds: Sequence[int] | None,
    in_queue: bool = False,
) -> dict[str | None, TaskCumulative]:
    """Compute cumulative objects: of the scope (key None), or of each of `scope.task_queue_sids`.

    Three queries whatever the number of queues: the counters, then the waits of
    `reservation.accepted` and `task.canceled` events (each extracted once per event).
    """
    group = Event.task_queue_sid.expression if scope.task_queue_sids is not None else None
    keys: list[str | None] = (
        list(scope.task_queue_sids) if scope.task_queue_sids is not None else [None]
    )
    types = [*RESERVATION_COUNTERS.values(), *(t for ts in TASK_COUNTERS.values() for t in ts)]
    if entered_type is not None:
        types.append(entered_type)
    counted = _grouped_counts(session, scope=scope, window=window, event_types=types, group=group)

    age: ColumnElement[Any] = Event.task_age.expression
    accepted_values: dict[str, ColumnElement[Any]] = {"age": age}
    if in_queue:
        # event_date (ms) minus the epoch second the task entered its queue, in whole seconds.
        entered = Event.task_queue_entered_date
        accepted_values["queue"] = (Event.event_date_ms - entered * 1000) // 1000
    any_accepted = any(counted.get((k, ACCEPTED), 0) for k in keys)
    any_canceled = any(counted.get((k, CANCELED), 0) for k in keys)
    accepted = _wait_aggregates(
        session,
        scope=scope,
        window=window,
        event_type=ACCEPTED,
        values=accepted_values,
        thresholds=thresholds,
        group=group,
        skip=not any_accepted,
    )
    canceled = _wait_aggregates(
        session,
        scope=scope,
        window=window,
        event_type=CANCELED,
        values={"age": age},
        thresholds=thresholds,
        group=group,
        skip=not any_canceled,
    )
    results: dict[str | None, TaskCumulative] = {}
    empty = _Waits(values={}, below=[0] * len(thresholds or ()))
    for key in keys:
        by_type = {t: counted.get((key, t), 0) for t in types}
        counts = {name: by_type[event_type] for name, event_type in RESERVATION_COUNTERS.items()}
        counts.update({name: sum(by_type[t] for t in ts) for name, ts in TASK_COUNTERS.items()})
        if entered_type is not None:
            counts["tasks_entered"] = by_type[entered_type]
        acc, can = accepted.get(key, empty), canceled.get(key, empty)
        accepted_age, canceled_age = acc.get("age"), can.get("age")
        split = None
        if thresholds is not None:
            split = {
                str(t): Split(
                    above_canceled=canceled_age.count - can.below[i],
                    above_accepted=accepted_age.count - acc.below[i],
                    below_canceled=can.below[i],
                    below_accepted=acc.below[i],
                )
                for i, t in enumerate(thresholds)
            }
        results[key] = TaskCumulative(
            window=window,
            counts=counts,
            until_accepted=Duration.of(accepted_age),
            until_canceled=Duration.of(canceled_age),
            in_queue_until_accepted=Duration.of(acc.get("queue")),
            avg_task_acceptance_time=accepted_age.average,
            split=split,
        )
    return results


@dataclass(frozen=True)
class _Waits:
    """Aggregates of the waits of one group, and how many `age` waits are <= each threshold."""

    values: dict[str, Aggregate]
    below: list[int]

    def get(self, name: str) -> Aggregate:
        return self.values.get(name, Aggregate())


def _wait_aggregates(
    session: Session,
    *,
    scope: Scope,
    window: Window,
    event_type: str,
    values: Mapping[str, ColumnElement[Any]],
    thresholds: Sequence[int] | None,
    group: ColumnElement[str | None] | None,
    skip: bool,
) -> dict[str | None, _Waits]:
    """Aggregate per-event waits of one event type (per group); thresholds apply to `age`."""
    if skip:
        return {}
    columns = [v.label(name) for name, v in values.items()]
    if group is not None:
        columns.append(group.label("grp"))
    waits = (
        select(*columns)
        .where(*scope.conditions(window, [event_type], by_workspace=True))
        .subquery("waits")
    )
    selected: list[Any] = []
    for name in values:
        c = waits.c[name]
        selected += [func.count(c), func.sum(c), func.min(c), func.max(c)]
    age = waits.c["age"]
    selected += [func.sum(case((age <= t, 1), else_=0)) for t in thresholds or ()]
    stmt = select(*selected)
    if group is not None:
        stmt = select(waits.c.grp, *selected).group_by(waits.c.grp)
    if scope.spans_workspace:
        stmt = read_events_through(stmt, VALUE_INDEXES[event_type])
    results: dict[str | None, _Waits] = {}
    for row in session.execute(stmt):
        key, figures = (row[0], row[1:]) if group is not None else (None, row)
        aggregates = {}
        for i, name in enumerate(values):
            count, total, minimum, maximum = figures[4 * i : 4 * i + 4]
            if count:
                aggregates[name] = Aggregate(
                    count=int(count), total=int(total), minimum=int(minimum), maximum=int(maximum)
                )
        results[key] = _Waits(
            values=aggregates, below=[int(v or 0) for v in figures[4 * len(values) :]]
        )
    return results


def worker_cumulative(
    session: Session,
    *,
    scope: Scope,
    window: Window,
    now: datetime,
    activity_sids: Sequence[str],
) -> WorkerCumulative:
    """Compute a workers cumulative object: reservation counters and time spent per activity."""
    by_type = event_counts(
        session, scope=scope, window=window, event_types=RESERVATION_COUNTERS.values()
    )
    counts = {name: by_type[event_type] for name, event_type in RESERVATION_COUNTERS.items()}
    durations = activity_durations(session, scope=scope, window=window, now=now)
    return WorkerCumulative(
        window=window,
        counts=counts,
        activity_durations={
            sid: Duration.of(durations.get(sid, Aggregate()), divisor=1000) for sid in activity_sids
        },
    )


def activity_durations(
    session: Session, *, scope: Scope, window: Window, now: datetime
) -> dict[str, Aggregate]:
    """Aggregate, per activity, the stays (in ms) of the scope's workers clipped to the window.

    A stay is a continuous period in one activity. Stays that ended inside the window are read from
    the `worker.activity.update` events of the window (their previous activity and the time spent
    in it), summed in SQL. The stay still running at the window's end is the worker's current one
    (counted up to the end, or to now if the end lies in the future) unless the worker changed
    activity after the end; then it is the stay the first later change closed.
    """
    # Only the worker filter and the window apply: channels do not partition a worker's time.
    scope = Scope(
        workspace_sid=scope.workspace_sid,
        worker_sid=scope.worker_sid,
        worker_sids=scope.worker_sids,
    )
    start_ms, end_ms = window.start_ms, min(window.end_ms, _ms(now))
    results: dict[str, Aggregate] = {}
    if end_ms <= start_ms:
        return results

    # Stays that ended inside the window: one row per activity change, clipped at the window start.
    spent = Event.worker_time_in_previous_activity_ms.expression
    stays = (
        select(
            Event.worker_previous_activity_sid.label("activity_sid"),
            least(session, spent, Event.event_date_ms - start_ms).label("ms"),
        )
        .where(*scope.conditions(window, [ACTIVITY_UPDATE], by_workspace=True))
        .subquery("stays")
    )
    closed = (
        select(
            stays.c.activity_sid,
            func.count(),
            func.sum(stays.c.ms),
            func.min(stays.c.ms),
            func.max(stays.c.ms),
        )
        .where(stays.c.ms > 0, stays.c.activity_sid.is_not(None))
        .group_by(stays.c.activity_sid)
    )
    if scope.spans_workspace:
        closed = read_events_through(closed, VALUE_INDEXES[ACTIVITY_UPDATE])
    for activity_sid, count, total, minimum, maximum in session.execute(closed):
        results.setdefault(activity_sid, Aggregate()).merge(
            Aggregate(
                count=int(count), total=int(total), minimum=int(minimum), maximum=int(maximum)
            )
        )

    # Stays running at the window's end. Workers whose last change precedes the window all spent
    # the whole window in their current activity: counted per activity in SQL.
    def workers(*columns: Any) -> Any:
        stmt = select(*columns).where(Worker.workspace_sid == scope.workspace_sid)
        if scope.worker_sid is not None:
            stmt = stmt.where(Worker.sid == scope.worker_sid)
        if scope.worker_sids is not None:
            stmt = stmt.where(in_workers(Worker.sid, scope.worker_sids))
        return stmt

    whole = end_ms - start_ms
    unchanged = workers(Worker.activity_sid, func.count()).where(
        Worker.date_status_changed <= window.start
    )
    for activity_sid, count in session.execute(unchanged.group_by(Worker.activity_sid)):
        results.setdefault(activity_sid, Aggregate()).merge(
            Aggregate(count=int(count), total=int(count) * whole, minimum=whole, maximum=whole)
        )
    # Workers whose current stay began inside the window: summed in SQL too.
    stay = end_ms - epoch_ms(session, Worker.date_status_changed)
    changed_within = workers(
        Worker.activity_sid, func.count(), func.sum(stay), func.min(stay), func.max(stay)
    ).where(
        Worker.date_status_changed > window.start,
        Worker.date_status_changed < min(window.end, now),
    )
    for activity_sid, count, total, minimum, maximum in session.execute(
        changed_within.group_by(Worker.activity_sid)
    ):
        results.setdefault(activity_sid, Aggregate()).merge(
            Aggregate(
                count=int(count), total=int(total), minimum=int(minimum), maximum=int(maximum)
            )
        )
    changed_later = list(
        session.scalars(
            workers(Worker.sid).where(
                Worker.date_status_changed > window.end, Worker.date_created <= window.end
            )
        )
    )
    if changed_later:
        for activity_sid, stay_start, stay_end in _stays_running_at(
            session, scope, window, changed_later
        ):
            _add_stay(results, activity_sid, max(stay_start, start_ms), min(stay_end, end_ms))
    return results


def _stays_running_at(
    session: Session, scope: Scope, window: Window, worker_sids: Sequence[str]
) -> list[tuple[str, int, int]]:
    """For workers that changed activity after the window, the stay each was in at the window's end."""
    first_after = (
        select(func.min(Event.id))
        .where(
            Event.workspace_sid == scope.workspace_sid,
            Event.event_type == ACTIVITY_UPDATE,
            Event.event_date > window.end,
            Event.worker_sid.in_(inline("late_workers", worker_sids)),
        )
        .group_by(Event.worker_sid)
    )
    rows = session.execute(
        select(
            Event.worker_previous_activity_sid,
            Event.event_date_ms,
            Event.worker_time_in_previous_activity_ms,
        ).where(Event.id.in_(first_after.scalar_subquery()))
    )
    return [(sid, int(at) - int(spent or 0), int(at)) for sid, at, spent in rows if sid is not None]


def _add_stay(results: dict[str, Aggregate], activity_sid: str, start_ms: int, end_ms: int) -> None:
    if end_ms > start_ms:
        results.setdefault(activity_sid, Aggregate()).add(end_ms - start_ms)


def _ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
