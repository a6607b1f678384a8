"""Which workers can take which task right now, and in what order.

A worker can be reserved for a task when it matches the queue's `target_workers` and the step's
`expression` (and `known_worker_*`), its activity is available, it does not already hold a pending
reservation for the task, and it has room: in a multitasking workspace its WorkerChannel for the
task's channel is available with capacity left (pending, accepted and wrapping reservations all
count); in a single-tasking workspace it holds no other task at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskrouter_emulator.expressions import evaluate, sort_key_for
from taskrouter_emulator.models import Activity, Reservation, Task, TaskQueue, Worker, WorkerChannel
from taskrouter_emulator.routing.context import RoutingContext, cached_attributes
from taskrouter_emulator.workers.context import ChannelState, worker_variables

ACTIVE_RESERVATION_STATUSES = ("pending", "accepted", "wrapping")
ASSIGNED_RESERVATION_STATUSES = ("accepted", "wrapping")


@dataclass(frozen=True)
class ChannelUsage:
    """How much of a worker's channel is taken: assigned tasks, and everything that counts against capacity."""

    assigned: int = 0
    consumed: int = 0


def channel_usage(
    session: Session, *, workspace_sid: str, worker_sids: Collection[str] | None = None
) -> dict[tuple[str, str], ChannelUsage]:
    """Count each worker's active reservations per task channel in one grouped query."""
    stmt = (
        select(
            Reservation.worker_sid,
            Reservation.task_channel_sid,
            Reservation.reservation_status,
            func.count(),
        )
        .where(
            Reservation.workspace_sid == workspace_sid,
            Reservation.reservation_status.in_(ACTIVE_RESERVATION_STATUSES),
        )
        .group_by(
            Reservation.worker_sid, Reservation.task_channel_sid, Reservation.reservation_status
        )
    )
    if worker_sids is not None:
        stmt = stmt.where(Reservation.worker_sid.in_(list(worker_sids)))
    assigned: dict[tuple[str, str], int] = defaultdict(int)
    consumed: dict[tuple[str, str], int] = defaultdict(int)
    for worker_sid, channel_sid, status, count in session.execute(stmt):
        consumed[(worker_sid, channel_sid)] += count
        if status in ASSIGNED_RESERVATION_STATUSES:
            assigned[(worker_sid, channel_sid)] += count
    return {
        key: ChannelUsage(assigned=assigned[key], consumed=value) for key, value in consumed.items()
    }


def capacity_percentage(*, capacity: int, consumed: int, available: bool) -> int:
    """Return `available_capacity_percentage`: 0 when the channel is off or has no capacity."""
    if capacity <= 0 or not available:
        return 0
    return max(0, (100 * (capacity - consumed)) // capacity)


@dataclass
class Candidate:
    """A worker as the routing engine sees it during one pass (usage is updated as it reserves)."""

    worker: Worker
    activity: Activity
    channels: dict[str, WorkerChannel]
    usage: dict[str, int]
    pending_tasks: set[str] = field(default_factory=set)
    _document: dict[str, Any] | None = None

    @property
    def total_active(self) -> int:
        """Every pending, accepted or wrapping reservation the worker holds, on any channel."""
        return sum(self.usage.values())

    def document(self, ctx: RoutingContext) -> dict[str, Any]:
        """Return the worker's expression document, including `channel.<name>.*` figures."""
        if self._document is None:
            states = {}
            for channel_sid, wc in self.channels.items():
                name = ctx.channel_name(channel_sid)
                if name is None:
                    continue
                consumed = self.usage.get(channel_sid, 0)
                states[name] = ChannelState(
                    configured_capacity=wc.configured_capacity,
                    assigned_tasks=consumed,
                    available=wc.available,
                    available_capacity_percentage=capacity_percentage(
                        capacity=wc.configured_capacity, consumed=consumed, available=wc.available
                    ),
                )
            self._document = worker_variables(
                sid=self.worker.sid,
                friendly_name=self.worker.friendly_name,
                attributes=cached_attributes(self.worker.attributes),
                activity_sid=self.activity.sid,
                activity_name=self.activity.friendly_name,
                channels=states,
            )
        return self._document

    def has_room(self, channel_sid: str, *, multitasking: bool) -> bool:
        """Tell whether the worker can take one more task of this channel."""
        if not multitasking:
            return self.total_active == 0
        wc = self.channels.get(channel_sid)
        if wc is None or not wc.available:
            return False
        return self.usage.get(channel_sid, 0) < wc.configured_capacity

    def take(self, task: Task) -> None:
        """Account for a reservation just created for this worker."""
        self.usage[task.task_channel_sid] = self.usage.get(task.task_channel_sid, 0) + 1
        self.pending_tasks.add(task.sid)
        self._document = None


def load_candidates(
    session: Session,
    ctx: RoutingContext,
    *,
    worker_sids: Collection[str] | None = None,
    available_only: bool = True,
) -> list[Candidate]:
    """Load workers (by default those in an available activity) with their channels and usage."""
    stmt = (
        select(Worker, Activity)
        .join(Activity, Activity.sid == Worker.activity_sid)
        .where(Worker.workspace_sid == ctx.workspace.sid)
        .order_by(Worker.idle_since, Worker.id)
    )
    if available_only:
        stmt = stmt.where(Activity.available.is_(True))
    if worker_sids is not None:
        stmt = stmt.where(Worker.sid.in_(list(worker_sids)))
    rows = session.execute(stmt).all()
    if not rows:
        return []
    sids = [worker.sid for worker, _ in rows]
    restrict = sids if worker_sids is not None or len(sids) < 500 else None
    channel_stmt = select(WorkerChannel).where(WorkerChannel.workspace_sid == ctx.workspace.sid)
    if restrict is not None:
        channel_stmt = channel_stmt.where(WorkerChannel.worker_sid.in_(restrict))
    channels: dict[str, dict[str, WorkerChannel]] = defaultdict(dict)
    for wc in session.scalars(channel_stmt):
        channels[wc.worker_sid][wc.task_channel_sid] = wc
    usage = channel_usage(session, workspace_sid=ctx.workspace.sid, worker_sids=restrict)
    per_worker: dict[str, dict[str, int]] = defaultdict(dict)
    for (worker_sid, channel_sid), figures in usage.items():
        per_worker[worker_sid][channel_sid] = figures.consumed
    pending_stmt = select(Reservation.worker_sid, Reservation.task_sid).where(
        Reservation.workspace_sid == ctx.workspace.sid, Reservation.reservation_status == "pending"
    )
    if restrict is not None:
        pending_stmt = pending_stmt.where(Reservation.worker_sid.in_(restrict))
    pending: dict[str, set[str]] = defaultdict(set)
    for worker_sid, task_sid in session.execute(pending_stmt):
        pending[worker_sid].add(task_sid)
    return [
        Candidate(
            worker=worker,
            activity=activity,
            channels=channels.get(worker.sid, {}),
            usage=per_worker.get(worker.sid, {}),
            pending_tasks=pending.get(worker.sid, set()),
        )
        for worker, activity in rows
    ]


def queue_matches(
    ctx: RoutingContext, queue: TaskQueue, candidate: Candidate, cache: dict[tuple[str, str], bool]
) -> bool:
    """Tell whether the worker satisfies the queue's `target_workers` (cached for the pass)."""
    key = (queue.sid, candidate.worker.sid)
    if key not in cache:
        from taskrouter_emulator.task_queues.service import matches

        cache[key] = matches(queue, candidate.document(ctx))
    return cache[key]


def _known_worker(task_variables: dict[str, Any], path: str) -> object:
    value: object = task_variables
    for part in path.replace("[", ".").replace("]", "").split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def eligible(
    ctx: RoutingContext,
    task: Task,
    queue: TaskQueue | None,
    candidates: Iterable[Candidate],
    cache: dict[tuple[str, str], bool],
    *,
    check_room: bool = True,
) -> list[Candidate]:
    """Return the candidates that may be reserved for the task now, best first."""
    target = ctx.target_of(task)
    variables = ctx.task_variables(task)
    multitasking = ctx.workspace.multi_task_enabled
    known_sid = known_name = None
    if target is not None and target.known_worker_sid:
        known_sid = _known_worker(variables, target.known_worker_sid)
    if target is not None and target.known_worker_friendly_name:
        known_name = _known_worker(variables, target.known_worker_friendly_name)
    chosen = []
    for candidate in candidates:
        if task.sid in candidate.pending_tasks:
            continue
        if check_room and not candidate.has_room(task.task_channel_sid, multitasking=multitasking):
            continue
        if target is not None and target.known_worker_sid and candidate.worker.sid != known_sid:
            continue
        if (
            target is not None
            and target.known_worker_friendly_name
            and candidate.worker.friendly_name != known_name
        ):
            continue
        if queue is not None and not queue_matches(ctx, queue, candidate, cache):
            continue
        if target is not None and target.expression is not None:
            scope = {**variables, "worker": candidate.document(ctx)}
            if not evaluate(target.expression, scope):
                continue
        chosen.append(candidate)
    if target is not None and target.order_by:
        clauses = target.order_by
        chosen.sort(
            key=lambda c: (
                sort_key_for(clauses, c.document(ctx)),
                _idle_key(c.worker.idle_since),
                c.worker.id,
            )
        )
    else:
        # Longest idle first: the worker whose last reservation or activity change is oldest.
        chosen.sort(key=lambda c: (_idle_key(c.worker.idle_since), c.worker.id))
    return chosen


def _idle_key(moment: datetime) -> float:
    return moment.timestamp()
