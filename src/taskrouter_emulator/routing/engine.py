"""The routing engine decides; it changes nothing (the lifecycle package applies its decisions).

`decide` picks a new task's workflow step (the first matching filter's first usable target);
`choose_target` and `next_target` pick the step a task moves on to; `offers` yields which waiting
task to offer to which eligible worker. The lifecycle routes after every change that can create a
match: a task created or updated, a worker becoming available or gaining capacity, a reservation
ending, a queue or workflow changing. Because every such change routes the affected tasks or workers
immediately, an available worker never sits next to a task it could take, so routing a single new
task (or a single freed worker) keeps the global order: higher priority first, then FIFO/LIFO by
`virtual_start_time`, queue kinds ordered by the workspace's `prioritize_queue_order`.

The engine reads rows through the context's session but never writes them (`_should_skip` sets a
task's step for the evaluation and restores it).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from taskrouter_emulator.errors import InvalidParameter
from taskrouter_emulator.expressions import evaluate
from taskrouter_emulator.models import Reservation, Task, TaskQueue
from taskrouter_emulator.routing.context import RoutingContext
from taskrouter_emulator.routing.eligibility import (
    Candidate,
    CandidatePool,
    eligible,
    load_candidates,
    queue_matches,
)
from taskrouter_emulator.sids import Prefix, is_sid
from taskrouter_emulator.task_queues import members
from taskrouter_emulator.workflows.configuration import Target

WAITING = ("pending", "reserved")
# Twilio cancels a task after this many pending -> reserved transitions.
MAX_ASSIGNMENT_COUNT = 1000
WORKFLOW_TIMEOUT_REASON = "Task canceled on Workflow timeout"
WORKFLOW_SKIPPED_REASON = "Task skipped out of the Workflow"


class NoMatchingFilter(InvalidParameter):
    """No workflow filter matched the task and there is no default_filter (400/20001)."""


@dataclass(frozen=True)
class Decision:
    """Where a task goes in its workflow: a filter (-1 = default_filter) and target, or out (all skipped)."""

    filter_index: int
    target_index: int
    target: Target | None

    @property
    def queue_sid(self) -> str | None:
        """The chosen queue, if any."""
        return self.target.queue if self.target is not None else None


def decide(ctx: RoutingContext, task: Task) -> Decision:
    """Choose the first matching filter's first usable target (else default_filter) without changing anything."""
    configuration = ctx.configuration(task.workflow_sid)
    if configuration is None:
        raise InvalidParameter(f"Workflow {task.workflow_sid} has no usable configuration")
    variables = ctx.task_variables(task)
    matched_any = False
    for index, task_filter in enumerate(configuration.filters):
        if not evaluate(task_filter.expression, variables, bare="task"):
            continue
        matched_any = True
        # A filter whose every step is skipped counts as not matching: try the next filters.
        target_index = choose_target(ctx, task, index, 0)
        if target_index is not None:
            return Decision(index, target_index, task_filter.targets[target_index])
    if configuration.default_filter is not None:
        return Decision(-1, 0, configuration.default_filter)
    if matched_any:
        return Decision(-1, 0, None)
    raise NoMatchingFilter(
        f"The Task attributes could not be matched a Workflow: no filter of Workflow {task.workflow_sid} "
        "matches and it has no default_filter"
    )


@dataclass(frozen=True)
class Offer:
    """Reserve a worker for a waiting task (`queue` is None for a task routed straight to the worker).

    `worker` is the candidate as read in this transaction (its row and activity).
    """

    task: Task
    worker: Candidate
    queue: TaskQueue | None

    @property
    def worker_sid(self) -> str:
        """The worker's SID."""
        return self.worker.worker.sid


@dataclass(frozen=True)
class Cancel:
    """Cancel a waiting task instead of offering it (it reached the maximum assignment count)."""

    task: Task
    reason: str


def next_target(ctx: RoutingContext, task: Task) -> int | None:
    """Return the step of its filter a task moves on to when its step ends (None: no further step)."""
    if task.filter_index is None or task.target_index is None or task.filter_index < 0:
        return None
    return choose_target(ctx, task, task.filter_index, task.target_index + 1)


def offers(
    ctx: RoutingContext,
    *,
    tasks: Collection[Task] | None = None,
    task_sids: Collection[str] | None = None,
    worker_sids: Collection[str] | None = None,
) -> Iterator[Offer | Cancel]:
    """Yield which waiting tasks to offer to which eligible workers, best first (restricted to some
    tasks or some workers when given; `tasks` are task objects the caller holds, not read again).

    The caller applies each decision before asking for the next: the engine then sees the task's
    new status and counts the worker's new reservation, exactly as if it had made it itself.
    """
    if task_sids is not None and not task_sids:
        return
    if worker_sids is not None and not worker_sids:
        return
    if tasks is None and task_sids is None and worker_sids is not None:
        yield from _route_workers(ctx, worker_sids)
        return
    if tasks is not None:
        candidates = [t for t in tasks if t.assignment_status in WAITING]
    else:
        stmt = select(Task).where(
            Task.workspace_sid == ctx.workspace.sid, Task.assignment_status.in_(WAITING)
        )
        if task_sids is not None:
            stmt = stmt.where(Task.sid.in_(list(task_sids)))
        candidates = list(ctx.session.scalars(stmt))
    tasks = [
        t for t in candidates if t.task_queue_sid or (t.routing_target or "").startswith("WK")
    ]
    if not tasks:
        return
    outstanding = _PendingCounts(ctx)
    outstanding.prefetch(t for t in tasks if t.assignment_status == "reserved")
    ordered = sorted(tasks, key=lambda t: _task_order(ctx, t))
    yield from _offer(ctx, ordered, _Pools(ctx, tasks, worker_sids), outstanding)


class _Pools:
    """The candidate pools of one routing pass: one per indexed queue (its members only), one shared
    by the rest; all share one registry, so a worker's usage is counted once across them."""

    def __init__(
        self,
        ctx: RoutingContext,
        tasks: list[Task],
        worker_sids: Collection[str] | None,
        *,
        by_membership: bool = True,
    ) -> None:
        self._ctx = ctx
        self._worker_sids = worker_sids
        self._by_membership = by_membership
        self.registry: dict[str, Candidate] = {}
        self._pools: dict[str | None, CandidatePool] = {}
        channels = {t.task_channel_sid for t in tasks}
        # When every waiting task is on one channel, workers without room on it are left out in SQL.
        self._room_on_channel = next(iter(channels)) if len(channels) == 1 else None

    def for_queue(self, queue: TaskQueue | None) -> CandidatePool:
        """Return the pool of workers a task of this queue (None: direct to a worker) may go to."""
        indexed = self._by_membership and queue is not None and queue.members_indexed
        key = queue.sid if indexed and queue is not None else None
        if key not in self._pools:
            self._pools[key] = CandidatePool(
                self._ctx.session,
                self._ctx,
                worker_sids=self._worker_sids,
                room_on_channel=self._room_on_channel,
                member_of=key,
                registry=self.registry,
            )
        return self._pools[key]


def _offer(
    ctx: RoutingContext, tasks: Iterable[Task], pools: _Pools, outstanding: _PendingCounts
) -> Iterator[Offer | Cancel]:
    """Offer each task, in the given (routing) order, to the best eligible workers of its pool."""
    direct = _DirectCandidates(ctx)
    cache: dict[tuple[str, str], bool] = {}
    for task in tasks:
        if is_sid(task.routing_target or "", Prefix.WORKER):
            yield from _route_to_worker(ctx, task, pools.for_queue(None), direct, outstanding)
            continue
        queue = ctx.queues.get(task.task_queue_sid or "")
        if queue is None:
            continue
        wanted = queue.max_reserved_workers - outstanding.get(task)
        if wanted <= 0:
            continue
        pool = pools.for_queue(queue)
        for candidate in eligible(ctx, task, queue, pool, cache, limit=wanted)[:wanted]:
            yield from _reserve(task, candidate, queue, outstanding)


def _route_workers(ctx: RoutingContext, worker_sids: Collection[str]) -> Iterator[Offer | Cancel]:
    """Offer these workers the waiting tasks they can take, best task first.

    Reads only the tasks of the queues the workers are members of (plus queues evaluated per
    candidate and tasks addressed to them), in routing order, a page at a time, and stops once none
    of the workers has room left.
    """
    session = ctx.session
    # One pool of just these workers serves every queue (eligible() checks each queue's expression).
    pools = _Pools(ctx, [], worker_sids, by_membership=False)
    workers = pools.for_queue(None)
    candidates = list(workers)
    multitasking = ctx.workspace.multi_task_enabled
    direct_tasks = sorted(
        session.scalars(
            # Worker SIDs are unique, so no workspace condition: with one, SQLite's planner picks
            # the (workspace_sid, assignment_status) index and reads every waiting task.
            select(Task).where(
                Task.routing_target.in_(list(worker_sids)),
                Task.assignment_status.in_(WAITING),
            )
        ),
        key=lambda t: _task_order(ctx, t),
    )
    if not candidates and not any(t.ignore_capacity for t in direct_tasks):
        return
    queue_sids = members.queues_of(session, worker_sids) | set(ctx.unindexed_queues())
    rooms = _channels_with_room(candidates, ctx)
    outstanding = _PendingCounts(ctx)
    outstanding.prefetch(t for t in direct_tasks if t.assignment_status == "reserved")
    streams: list[Iterable[Task]] = [direct_tasks]
    if queue_sids and rooms:
        for order in ("FIFO", "LIFO"):
            streams.append(_waiting_in_queues(ctx, queue_sids, order, rooms, outstanding))
    remaining_direct = len(direct_tasks)

    def until_full() -> Iterator[Task]:
        nonlocal remaining_direct
        for task in heapq.merge(*streams, key=lambda t: _task_order(ctx, t)):
            if task.routing_target in worker_sids:
                remaining_direct -= 1
            yield task
            if not remaining_direct and not any(
                c.has_any_room(multitasking=multitasking) for c in candidates
            ):
                return

    yield from _offer(ctx, until_full(), pools, outstanding)


def _channels_with_room(candidates: list[Candidate], ctx: RoutingContext) -> set[str]:
    multitasking = ctx.workspace.multi_task_enabled
    return {
        channel_sid
        for candidate in candidates
        for channel_sid in (candidate.channels if multitasking else ctx.channels)
        if candidate.has_room(channel_sid, multitasking=multitasking)
    }


def _waiting_in_queues(
    ctx: RoutingContext,
    queue_sids: set[str],
    order: str,
    channel_sids: set[str],
    outstanding: _PendingCounts,
) -> Iterator[Task]:
    """Yield the waiting tasks of the queues with this task order, in routing order, page by page."""
    session = ctx.session
    queues = ctx.queues.get_many(queue_sids)
    sids = sorted(sid for sid, queue in queues.items() if queue.task_order == order)
    if not sids:
        return
    moment = Task.virtual_start_time
    stmt = (
        select(Task)
        .where(
            Task.task_queue_sid.in_(sids),
            Task.assignment_status.in_(WAITING),
            Task.task_channel_sid.in_(list(channel_sids)),
        )
        .order_by(Task.priority.desc(), moment.desc() if order == "LIFO" else moment.asc(), Task.id)
    )
    after: tuple[int, datetime, int] | None = None
    size = 32
    while True:
        page_stmt = stmt.limit(size)
        if after is not None:
            priority, start, task_id = after
            later = moment < start if order == "LIFO" else moment > start
            page_stmt = page_stmt.where(
                (Task.priority < priority)
                | (
                    (Task.priority == priority)
                    & (later | ((moment == start) & (Task.id > task_id)))
                )
            )
        page = list(session.scalars(page_stmt))
        if not page:
            return
        last = page[-1]
        after = (last.priority, last.virtual_start_time, last.id)
        outstanding.prefetch(t for t in page if t.assignment_status == "reserved")
        yield from page
        if len(page) < size:
            return
        size = min(size * 2, 512)


def choose_target(ctx: RoutingContext, task: Task, filter_index: int, start: int) -> int | None:
    """Return the first usable target from `start` on; None if every one is skipped or already past."""
    configuration = ctx.configuration(task.workflow_sid)
    assert configuration is not None
    targets = configuration.filters[filter_index].targets
    for index in range(start, len(targets)):
        target = targets[index]
        deadline = step_deadline(task, targets, index)
        if deadline is not None and deadline <= ctx.now:
            continue  # this step's cumulative deadline has already passed (task age based)
        if target.skip_if is not None and _should_skip(ctx, task, filter_index, index, target):
            continue
        return index
    return None


def step_deadline(task: Task, targets: tuple[Target, ...], index: int) -> datetime | None:
    """Cumulative step deadline: task creation plus every timeout up to and including this step."""
    if targets[index].timeout is None:
        return None
    total = sum(t.timeout or 0 for t in targets[: index + 1])
    return task.date_created + timedelta(seconds=total)


def _should_skip(
    ctx: RoutingContext, task: Task, filter_index: int, index: int, target: Target
) -> bool:
    """Evaluate `skip_if`, which only applies when no worker can take the task right away."""
    queue = ctx.queues.get(target.queue)
    if queue is None:
        return True
    saved = (task.filter_index, task.target_index)
    task.filter_index, task.target_index = filter_index, index
    try:
        if eligible(ctx, task, queue, CandidatePool(ctx.session, ctx), {}, limit=1):
            return False
        everyone = load_candidates(ctx.session, ctx, available_only=False)
        cache: dict[tuple[str, str], bool] = {}
        in_queue = [c for c in everyone if queue_matches(ctx, queue, c, cache)]
        counts: dict[str, object] = defaultdict(int)
        counts["available"] = sum(1 for c in in_queue if c.activity.available)
        counts["unavailable"] = sum(1 for c in in_queue if not c.activity.available)
        for activity_sid in ctx.activities:
            counts[activity_sid] = sum(1 for c in in_queue if c.activity.sid == activity_sid)
        assert target.skip_if is not None
        return evaluate(
            target.skip_if, {"workers": dict(counts), "task": ctx.task_variables(task)["task"]}
        )
    finally:
        task.filter_index, task.target_index = saved


def _task_order(ctx: RoutingContext, task: Task) -> tuple[int, int, float]:
    queue = ctx.queues.get(task.task_queue_sid or "")
    order = queue.task_order if queue else "FIFO"
    kind = 0 if order == ctx.workspace.prioritize_queue_order else 1
    moment = task.virtual_start_time.timestamp()
    return (-task.priority, kind, -moment if order == "LIFO" else moment)


class _PendingCounts:
    """How many pending reservations each task of the pass holds (read once per task, then kept)."""

    def __init__(self, ctx: RoutingContext) -> None:
        self._ctx = ctx
        self._counts: dict[str, int] = {}

    def get(self, task: Task) -> int:
        """Return the task's pending reservations."""
        if task.sid not in self._counts:
            self._counts[task.sid] = (
                self._ctx.session.scalar(
                    select(func.count()).where(
                        Reservation.task_sid == task.sid,
                        Reservation.reservation_status == "pending",
                    )
                )
                or 0
                if task.assignment_status == "reserved"
                else 0
            )
        return self._counts[task.sid]

    def prefetch(self, tasks: Iterable[Task]) -> None:
        """Read the counts of many tasks in one grouped query."""
        reserved = [t.sid for t in tasks if t.sid not in self._counts]
        if not reserved:
            return
        self._counts.update(dict.fromkeys(reserved, 0))
        rows = self._ctx.session.execute(
            select(Reservation.task_sid, func.count())
            .where(Reservation.task_sid.in_(reserved), Reservation.reservation_status == "pending")
            .group_by(Reservation.task_sid)
        )
        self._counts.update({row[0]: row[1] for row in rows})

    def add(self, task: Task) -> None:
        """Count a reservation just made for the task."""
        self._counts[task.sid] = self.get(task) + 1


class _DirectCandidates:
    """Workers named by IgnoreCapacity tasks, whatever their activity (loaded when first needed)."""

    def __init__(self, ctx: RoutingContext) -> None:
        self._ctx = ctx
        self._found: dict[str, Candidate | None] = {}

    def get(self, worker_sid: str) -> Candidate | None:
        """Return the named worker as a candidate, or None if it does not exist."""
        if worker_sid not in self._found:
            found = load_candidates(
                self._ctx.session, self._ctx, worker_sids=[worker_sid], available_only=False
            )
            self._found[worker_sid] = found[0] if found else None
        return self._found[worker_sid]


def _route_to_worker(
    ctx: RoutingContext,
    task: Task,
    candidates: CandidatePool,
    direct: _DirectCandidates,
    outstanding: _PendingCounts,
) -> Iterator[Offer | Cancel]:
    """Direct routing: the named worker only; with IgnoreCapacity it gets the task even when busy or away."""
    if outstanding.get(task):
        return
    if task.ignore_capacity:
        candidate = direct.get(task.routing_target or "")
        if candidate is not None and task.sid not in candidate.pending_tasks:
            yield from _reserve(task, candidate, None, outstanding)
        return
    pool = [c for c in candidates if c.worker.sid == task.routing_target]
    for candidate in eligible(ctx, task, None, pool, {})[:1]:
        yield from _reserve(task, candidate, None, outstanding)


def _reserve(
    task: Task,
    candidate: Candidate,
    queue: TaskQueue | None,
    outstanding: _PendingCounts,
) -> Iterator[Offer | Cancel]:
    if task.assignment_status == "pending" and task.assignment_count >= MAX_ASSIGNMENT_COUNT:
        yield Cancel(task, "Task TTL Exceeded or Max assignment count exceeded")
        return
    if task.assignment_status not in WAITING:
        return
    yield Offer(task, candidate, queue)
    candidate.take(task)
    outstanding.add(task)
