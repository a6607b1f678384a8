"""Real-time statistics: figures computed from the current state of tasks and workers.

Task figures are grouped SQL counts (`GROUP BY assignment_status, priority`) plus one ordered
lookup for the longest-waiting task. Worker figures count workers per activity; for queues they
count the workers the queue's `target_workers` selects: from the queue's `task_queue_member` rows
(one grouped join for all the queues asked about) when its membership is indexed, otherwise
evaluated once per distinct expression over documents loaded once per request (`WorkerPool`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from taskrouter_emulator.expressions import (
    Expression,
    ExpressionError,
    evaluate,
    parse,
    referenced_roots,
)
from taskrouter_emulator.expressions.ast import iter_paths
from taskrouter_emulator.models import (
    Activity,
    Task,
    TaskQueue,
    TaskQueueMember,
    Worker,
    Workspace,
)
from taskrouter_emulator.routing.context import cached_attributes
from taskrouter_emulator.statistics.sql import WorkerSet, in_workers
from taskrouter_emulator.task_queues import members as members_index
from taskrouter_emulator.workers import service as workers_service
from taskrouter_emulator.workers.context import worker_variables

TASK_STATUSES = ("pending", "reserved", "assigned", "wrapping", "completed", "canceled")
ACTIVE_STATUSES = ("pending", "reserved", "assigned", "wrapping")
WAITING_STATUSES = ("pending", "reserved")


@dataclass(frozen=True)
class TaskFigures:
    """Counts by status and priority, and the longest-waiting task (overall and in its queue)."""

    by_status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TASK_STATUSES, 0))
    by_priority: dict[str, int] = field(default_factory=dict)
    total: int = 0
    longest_age: int = 0
    longest_sid: str | None = None
    relative_age: int = 0
    relative_sid: str | None = None


@dataclass(frozen=True)
class WorkerFigures:
    """Workers per activity (every activity of the workspace, zeros included) and their totals."""

    by_activity: dict[str, int]
    total: int
    available: int = 0


def activities(session: Session, *, workspace: Workspace) -> list[Activity]:
    """Return the workspace's activities in creation order."""
    return list(
        session.scalars(
            select(Activity).where(Activity.workspace_sid == workspace.sid).order_by(Activity.id)
        )
    )


def _task_conditions(
    *, workspace_sid: str, workflow_sid: str | None, channel_sid: str | None
) -> list[ColumnElement[bool]]:
    where = [Task.workspace_sid == workspace_sid]
    if workflow_sid is not None:
        where.append(Task.workflow_sid == workflow_sid)
    if channel_sid is not None:
        where.append(Task.task_channel_sid == channel_sid)
    return where


def task_figures(
    session: Session,
    *,
    workspace: Workspace,
    now: datetime,
    workflow_sid: str | None = None,
    channel_sid: str | None = None,
) -> TaskFigures:
    """Task figures of a workspace, or of one workflow's tasks."""
    where = _task_conditions(
        workspace_sid=workspace.sid, workflow_sid=workflow_sid, channel_sid=channel_sid
    )
    counts = session.execute(
        select(Task.assignment_status, Task.priority, func.count())
        .where(*where)
        .group_by(Task.assignment_status, Task.priority)
    ).all()
    oldest = session.execute(
        select(Task.sid, Task.date_created)
        .where(*where, Task.assignment_status.in_(WAITING_STATUSES))
        .order_by(Task.date_created, Task.id)
        .limit(1)
    ).first()
    return _figures(
        [(status, priority, count) for status, priority, count in counts], oldest, None, now
    )


def queue_task_figures(
    session: Session,
    *,
    queue_sids: Sequence[str],
    now: datetime,
    channel_sid: str | None = None,
) -> dict[str, TaskFigures]:
    """Task figures of several queues: one grouped count and two window-function lookups."""
    if not queue_sids:
        return {}
    in_queues = Task.task_queue_sid.in_(list(queue_sids))
    extra: list[ColumnElement[bool]] = (
        [] if channel_sid is None else [Task.task_channel_sid == channel_sid]
    )
    counts: dict[str, list[tuple[str, int, int]]] = {sid: [] for sid in queue_sids}
    rows = session.execute(
        select(Task.task_queue_sid, Task.assignment_status, Task.priority, func.count())
        .where(in_queues, *extra)
        .group_by(Task.task_queue_sid, Task.assignment_status, Task.priority)
    )
    for queue_sid, status, priority, count in rows:
        counts[str(queue_sid)].append((status, priority, count))
    oldest = _first_per_queue(session, in_queues, extra, Task.date_created)
    relative = _first_per_queue(session, in_queues, extra, Task.task_queue_entered_at)
    return {
        sid: _figures(counts[sid], oldest.get(sid), relative.get(sid), now) for sid in queue_sids
    }


def _first_per_queue(
    session: Session,
    in_queues: ColumnElement[bool],
    extra: list[ColumnElement[bool]],
    order: Any,
) -> dict[str, tuple[str, datetime | None]]:
    """The first waiting task of each queue by `order` (ROW_NUMBER over a per-queue window)."""
    ranked = (
        select(
            Task.task_queue_sid.label("queue_sid"),
            Task.sid.label("sid"),
            order.label("moment"),
            func.row_number()
            .over(partition_by=Task.task_queue_sid, order_by=(order, Task.id))
            .label("rank"),
        )
        .where(in_queues, Task.assignment_status.in_(WAITING_STATUSES), *extra)
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.queue_sid, ranked.c.sid, ranked.c.moment).where(ranked.c.rank == 1)
    )
    return {queue_sid: (sid, moment) for queue_sid, sid, moment in rows}


def _figures(
    counts: Sequence[tuple[str, int, int]],
    oldest: Any,
    relative: Any,
    now: datetime,
) -> TaskFigures:
    by_status = dict.fromkeys(TASK_STATUSES, 0)
    by_priority: Counter[int] = Counter()
    for status, priority, count in counts:
        by_status[status] = by_status.get(status, 0) + int(count)
        if status in ACTIVE_STATUSES:
            by_priority[priority] += int(count)
    return TaskFigures(
        by_status=by_status,
        by_priority={
            str(priority): by_priority[priority] for priority in sorted(by_priority, reverse=True)
        },
        total=sum(by_status[s] for s in ACTIVE_STATUSES),
        longest_age=_age(oldest, now),
        longest_sid=oldest[0] if oldest else None,
        relative_age=_age(relative, now),
        relative_sid=relative[0] if relative else None,
    )


def _age(row: Any, now: datetime) -> int:
    if not row or row[1] is None:
        return 0
    moment: datetime = row[1]
    return max(0, int((now - moment).total_seconds()))


def worker_figures(
    session: Session,
    *,
    workspace: Workspace,
    activity_list: Sequence[Activity],
    worker_sids: WorkerSet | None = None,
) -> WorkerFigures:
    """Workers per activity: all of the workspace's, or the given ones."""
    by_activity = dict.fromkeys((a.sid for a in activity_list), 0)
    if isinstance(worker_sids, tuple) and not worker_sids:
        return WorkerFigures(by_activity=by_activity, total=0)
    stmt = select(Worker.activity_sid, func.count()).where(Worker.workspace_sid == workspace.sid)
    if worker_sids is not None:
        stmt = stmt.where(in_workers(Worker.sid, worker_sids))
    total = 0
    for activity_sid, count in session.execute(stmt.group_by(Worker.activity_sid)):
        total += int(count)
        if activity_sid in by_activity:
            by_activity[activity_sid] += int(count)
    return WorkerFigures(by_activity=by_activity, total=total)


def members_of(queue_sid: str) -> Select[Any]:
    """The SIDs of an indexed queue's members (its `task_queue_member` rows)."""
    return select(TaskQueueMember.worker_sid).where(TaskQueueMember.task_queue_sid == queue_sid)


@dataclass(frozen=True)
class WorkerRow:
    sid: str
    friendly_name: str
    attributes: str
    activity_sid: str


# Relative cost of evaluating one expression against one document, the unit being counting one
# member row in the join (measured ~1.5-2 us against ~3-4 us on SQLite and PostgreSQL).
EVALUATION_COST = 2
# Below this many member rows the join is always used (cheaper than reading the documents).
JOIN_ALWAYS = 20_000

# Built-in worker fields an expression can reference besides the attributes.
_PER_WORKER = frozenset({"sid", "friendly_name", "channel"})
_PER_ACTIVITY = frozenset({"activity_sid", "activity_name"})


def _dependence(expression: Expression) -> str:
    """What a `target_workers` result depends on: `attributes`, `activity` (too) or the whole `worker`."""
    names: set[str | int] = set()
    for path in iter_paths(expression):
        segments = path.segments
        if segments[0] == "worker":
            if len(segments) == 1:
                return "worker"
            names.add(segments[1])
        else:
            names.add(segments[0])
    if names & _PER_WORKER:
        return "worker"
    return "activity" if names & _PER_ACTIVITY else "attributes"


@dataclass(frozen=True)
class _Group:
    """Workers sharing one attributes document and activity: they match the same expressions
    unless an expression names per-worker fields."""

    attributes: str
    activity_sid: str
    count: int


class WorkerPool:
    """The workspace's workers as queue expressions see them, loaded at most once per request.

    A queue whose membership is indexed (`members_indexed`) is counted from its `task_queue_member`
    rows joined to the workers' current activity, in SQL, unless evaluating it is cheaper (few
    distinct documents, many member rows: `queue_figures`). For the others, workers are counted per (attributes, activity) in SQL and an expression is evaluated
    once per distinct attributes document (once per group if it refers to the activity) unless it
    names per-worker fields (`sid`, `friendly_name`, `channel.*`); only then, or when SIDs are asked
    for, are the individual workers loaded. The cost of those grows with the number of distinct
    worker profiles times the number of distinct expressions, not with the number of workers.
    """

    def __init__(
        self, session: Session, *, workspace: Workspace, activity_list: Sequence[Activity]
    ) -> None:
        self._session = session
        self._workspace = workspace
        self._order = [a.sid for a in activity_list]
        self._names = {a.sid: a.friendly_name for a in activity_list}
        self._available = {a.sid for a in activity_list if a.available}
        self._rows: list[WorkerRow] | None = None
        self._groups: list[_Group] | None = None
        self._documents: dict[tuple[str, str], dict[str, Any]] = {}
        self._channel_documents: dict[str, dict[str, Any]] | None = None
        self._matches: dict[str, tuple[list[_Group], list[WorkerRow] | None]] = {}

    def rows(self) -> list[WorkerRow]:
        """Every worker of the workspace, in creation order."""
        if self._rows is None:
            self._rows = [
                WorkerRow(*row)
                for row in self._session.execute(
                    select(Worker.sid, Worker.friendly_name, Worker.attributes, Worker.activity_sid)
                    .where(Worker.workspace_sid == self._workspace.sid)
                    .order_by(Worker.id)
                )
            ]
        return self._rows

    def _all_groups(self) -> list[_Group]:
        if self._groups is None:
            self._groups = [
                _Group(attributes, activity_sid, int(count))
                for attributes, activity_sid, count in self._session.execute(
                    select(Worker.attributes, Worker.activity_sid, func.count())
                    .where(Worker.workspace_sid == self._workspace.sid)
                    .group_by(Worker.attributes, Worker.activity_sid)
                )
            ]
        return self._groups

    def _document(
        self, attributes_text: str, activity_sid: str, sid: str = "", name: str = ""
    ) -> dict[str, Any]:
        # Shared, read-only parse cache (worker_variables copies it before adding fields).
        attributes = cached_attributes(attributes_text)
        return worker_variables(
            sid=sid,
            friendly_name=name,
            attributes=attributes,
            activity_sid=activity_sid,
            activity_name=self._names.get(activity_sid, ""),
        )

    def _shared(self, group: _Group) -> dict[str, Any]:
        """One document per group, reused by every expression that ignores per-worker fields."""
        key = (group.attributes, group.activity_sid)
        document = self._documents.get(key)
        if document is None:
            document = self._documents[key] = self._document(group.attributes, group.activity_sid)
        return document

    def _with_channels(self) -> dict[str, dict[str, Any]]:
        if self._channel_documents is None:
            workers = list(
                self._session.scalars(
                    select(Worker).where(Worker.workspace_sid == self._workspace.sid)
                )
            )
            self._channel_documents = workers_service.worker_documents(
                self._session, workspace=self._workspace, workers=workers
            )
        return self._channel_documents

    def eligible(self, target_workers: str | None) -> list[WorkerRow]:
        """Return the workers a queue's `target_workers` selects (whatever their activity)."""
        groups, rows = self._matching(target_workers)
        if rows is not None:
            return rows
        keys = {(g.attributes, g.activity_sid) for g in groups}
        return [row for row in self.rows() if (row.attributes, row.activity_sid) in keys]

    def _matching(self, target_workers: str | None) -> tuple[list[_Group], list[WorkerRow] | None]:
        """The matching groups, and the matching workers when they had to be evaluated one by one."""
        text = (target_workers or "").strip()
        if text not in self._matches:
            self._matches[text] = self._evaluate(text)
        return self._matches[text]

    def _evaluate(self, text: str) -> tuple[list[_Group], list[WorkerRow] | None]:
        if not text:
            return [], []
        try:
            expression = parse(text)
        except ExpressionError:
            return [], []
        if not referenced_roots(expression):
            # A constant such as `1==1`: every worker or nobody, without building documents.
            constant = evaluate(expression, {"worker": {}}, bare="worker")
            return (list(self._all_groups()), None) if constant else ([], [])
        dependence = _dependence(expression)
        if dependence == "worker":
            documents = self._with_channels() if "channel" in text else None
            rows = [
                row
                for row in self.rows()
                if evaluate(
                    expression,
                    {
                        "worker": documents[row.sid]
                        if documents is not None
                        else self._document(
                            row.attributes, row.activity_sid, row.sid, row.friendly_name
                        )
                    },
                    bare="worker",
                )
            ]
            counts = Counter((row.attributes, row.activity_sid) for row in rows)
            return [_Group(a, s, n) for (a, s), n in counts.items()], rows
        results: dict[tuple[str, str], bool] = {}
        chosen = []
        for group in self._all_groups():
            key = (group.attributes, group.activity_sid if dependence == "activity" else "")
            matched = results.get(key)
            if matched is None:
                matched = results[key] = evaluate(
                    expression, {"worker": self._shared(group)}, bare="worker"
                )
            if matched:
                chosen.append(group)
        return chosen, None

    def figures(self, target_workers: str | None) -> WorkerFigures:
        """Eligible workers per activity, their number and how many are in an available activity."""
        return self._tally(
            (group.activity_sid, group.count) for group in self._matching(target_workers)[0]
        )

    def _tally(self, counts: Iterable[tuple[str, int]]) -> WorkerFigures:
        by_activity = dict.fromkeys(self._order, 0)
        total = available = 0
        for activity_sid, count in counts:
            total += count
            if activity_sid in by_activity:
                by_activity[activity_sid] += count
            if activity_sid in self._available:
                available += count
        return WorkerFigures(by_activity=by_activity, total=total, available=available)

    def queue_figures(self, queues: Sequence[TaskQueue]) -> dict[str, WorkerFigures]:
        """Eligible-worker figures of each queue, keyed by SID.

        Queues whose membership is not indexed are evaluated (`figures`). The indexed ones are
        counted from their members (one `GROUP BY queue, activity` over the members joined to the
        workers) unless evaluating them is cheaper (`_join_is_cheaper`); both give the same figures.
        """
        indexed = [q for q in queues if q.members_indexed]
        counts: dict[str, list[tuple[str, int]]] = {}
        if indexed and self._join_is_cheaper(indexed):
            counts = {q.sid: [] for q in indexed}
            rows = self._session.execute(
                select(TaskQueueMember.task_queue_sid, Worker.activity_sid, func.count())
                .join(Worker, Worker.sid == TaskQueueMember.worker_sid)
                .where(TaskQueueMember.task_queue_sid.in_(list(counts)))
                .group_by(TaskQueueMember.task_queue_sid, Worker.activity_sid)
            )
            for queue_sid, activity_sid, count in rows:
                counts[queue_sid].append((activity_sid, int(count)))
        return {
            q.sid: self._tally(counts[q.sid]) if q.sid in counts else self.figures(q.target_workers)
            for q in queues
        }

    def _join_is_cheaper(self, queues: Sequence[TaskQueue]) -> bool:
        """Whether joining the queues' members costs less than evaluating their expressions.

        The join costs about one unit per member row; evaluating costs about
        `EVALUATION_COST` units per distinct expression and attributes document (per worker for
        expressions naming `sid`/`friendly_name`), plus reading the documents. With few distinct
        documents (teams sharing profiles) evaluating wins for pages of many large queues; with
        per-agent attributes the join wins by orders of magnitude. One expression always joins:
        its members are at most the workers, which is what reading the documents costs.
        """
        expressions = {(q.target_workers or "").strip() for q in queues}
        if len(expressions) == 1:
            return True
        members = self._session.scalar(
            select(func.count())
            .select_from(TaskQueueMember)
            .where(TaskQueueMember.task_queue_sid.in_([q.sid for q in queues]))
        )
        if not members or members <= JOIN_ALWAYS:
            return True
        groups = self._all_groups()
        documents = len({g.attributes for g in groups})
        workers = sum(g.count for g in groups)
        evaluations = 0
        for text in expressions:
            expression = members_index.indexable(text)
            if expression is not None and referenced_roots(expression):
                evaluations += workers if _dependence(expression) == "worker" else documents
        return int(members) < EVALUATION_COST * evaluations

    def eligible_sids(self, queue: TaskQueue) -> set[str]:
        """Return the SIDs of the workers a queue selects (its member rows when indexed)."""
        if queue.members_indexed:
            return set(self._session.scalars(members_of(queue.sid)))
        return {row.sid for row in self.eligible(queue.target_workers)}
