"""Which workers can take which task right now, and in what order.

A worker can be reserved for a task when it matches the queue's `target_workers` and the step's
`expression` (and `known_worker_*`), its activity is available, it does not already hold a pending
reservation for the task, and it has room: in a multitasking workspace its WorkerChannel for the
task's channel is available with capacity left (pending, accepted and wrapping reservations all
count); in a single-tasking workspace it holds no other task at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Integer,
    Row,
    Select,
    String,
    bindparam,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from taskrouter_emulator.expressions import evaluate, sort_key_for
from taskrouter_emulator.models import (
    Activity,
    Reservation,
    Task,
    TaskQueue,
    TaskQueueMember,
    Worker,
    WorkerChannel,
)
from taskrouter_emulator.routing.context import RoutingContext, cached_attributes
from taskrouter_emulator.task_queues.service import matches
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


@dataclass(frozen=True)
class WorkerRow:
    """The columns of a worker that routing reads (plain values: no ORM object per candidate)."""

    id: int
    sid: str
    friendly_name: str
    attributes: str
    idle_since: datetime
    version: int


@dataclass(frozen=True)
class ActivityRow:
    """A worker's current activity."""

    sid: str
    friendly_name: str
    available: bool


@dataclass(frozen=True)
class ChannelRow:
    """A worker's configured capacity and availability on one task channel."""

    configured_capacity: int
    available: bool


@dataclass
class Candidate:
    """A worker as the routing engine sees it during one pass (usage is updated as it reserves)."""

    worker: WorkerRow
    activity: ActivityRow
    channels: dict[str, ChannelRow]
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

    def has_any_room(self, *, multitasking: bool) -> bool:
        """Tell whether the worker can take one more task of any channel."""
        if not multitasking:
            return self.total_active == 0
        return any(self.has_room(sid, multitasking=True) for sid in self.channels)

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
    """Load every matching worker (by default those in an available activity), longest idle first."""
    return list(CandidatePool(session, ctx, worker_sids=worker_sids, available_only=available_only))


# One page of the longest-idle order, with the channels and active reservations of its workers, in
# one statement (built once per shape: statement construction costs as much as running it on
# SQLite). The page is a CTE; every row of the result has the same 15 columns: a worker of the page
# is (0, sid, idle_since, id, name, attributes, activity sid, name, available, version, NULL…), a
# channel (1, worker sid, NULL…, channel sid, capacity, available, NULL, NULL) and an active
# reservation (2, worker sid, NULL…, channel sid, NULL, NULL, status, task sid).
_PageQuery = CompoundSelect[*tuple[Any, ...]]
_AnySelect = Select[*tuple[Any, ...]]
_PageRow = Row[*tuple[Any, ...]]
_WORKER, _CHANNEL, _RESERVATION = 0, 1, 2
# The page's columns (labels of `_page_query`'s select), in result order after the kind.
_WORKER_COLUMNS = (
    "worker_sid",
    "idle_since",
    "id",
    "friendly_name",
    "attributes",
    "activity_sid",
    "activity_name",
    "activity_available",
    "version",
)


@lru_cache(maxsize=64)
def _page_query(
    *, available_only: bool, restricted: bool, member: bool, room: bool, multitasking: bool
) -> tuple[_PageQuery, _PageQuery]:
    """Build (once per shape) the page query of a pool: the first page, and the pages after a keyset."""
    stmt: _AnySelect = (
        select(
            Worker.sid.label("worker_sid"),
            Worker.idle_since,
            Worker.id,
            Worker.friendly_name,
            Worker.attributes,
            Activity.sid.label("activity_sid"),
            Activity.friendly_name.label("activity_name"),
            Activity.available.label("activity_available"),
            Worker.version,
        )
        .join(Activity, Activity.sid == Worker.activity_sid)
        .order_by(Worker.idle_since, Worker.id)
        .limit(bindparam("size"))
    )
    if not member:
        stmt = stmt.where(Worker.workspace_sid == bindparam("workspace_sid"))
    if available_only:
        stmt = stmt.where(Activity.available.is_(True))
    if restricted:
        stmt = stmt.where(Worker.sid.in_(bindparam("worker_sids", expanding=True)))
    if member:
        # A queue's members are in its workspace. Leaving the workspace condition out makes SQLite
        # read the members (an index lookup each) and sort them, instead of walking every worker of
        # the workspace in idle order until enough members turn up.
        stmt = stmt.where(
            Worker.sid.in_(
                select(TaskQueueMember.worker_sid).where(
                    TaskQueueMember.task_queue_sid == bindparam("queue_sid")
                )
            )
        )
    if room:
        stmt = _with_room(stmt, multitasking=multitasking)
    idle = bindparam("idle", type_=Worker.idle_since.type)
    worker_id = bindparam("worker_id", type_=Integer)
    after = stmt.where(
        (Worker.idle_since > idle) | ((Worker.idle_since == idle) & (Worker.id > worker_id))
    )
    return _with_details(stmt), _with_details(after)


def _with_details(page_select: _AnySelect) -> _PageQuery:
    """Add the channels and active reservations of the page's workers to the page (see above)."""
    page = page_select.cte("page")
    members = select(page.c.worker_sid)

    def nothing(column: Any) -> Any:
        return cast(null(), column.type)

    workers = [page.c[name] for name in _WORKER_COLUMNS]
    details = (
        WorkerChannel.task_channel_sid,
        WorkerChannel.configured_capacity,
        WorkerChannel.available,
        Reservation.reservation_status,
        Reservation.task_sid,
    )
    return union_all(
        select(literal(_WORKER, Integer), *workers, *map(nothing, details)),
        select(
            literal(_CHANNEL, Integer),
            WorkerChannel.worker_sid,
            *map(nothing, workers[1:]),
            *details[:3],
            *map(nothing, details[3:]),
        ).where(WorkerChannel.worker_sid.in_(members)),
        select(
            literal(_RESERVATION, Integer),
            Reservation.worker_sid,
            *map(nothing, workers[1:]),
            Reservation.task_channel_sid,
            *map(nothing, details[1:3]),
            *details[3:],
        ).where(
            Reservation.worker_sid.in_(members),
            Reservation.reservation_status.in_(ACTIVE_RESERVATION_STATUSES),
        ),
    )


def _with_room(stmt: _AnySelect, *, multitasking: bool) -> _AnySelect:
    """Keep only workers with room for one more task of the channel (skips full workers in SQL)."""
    active = Reservation.reservation_status.in_(ACTIVE_RESERVATION_STATUSES)
    if not multitasking:
        busy = select(Reservation.id).where(Reservation.worker_sid == Worker.sid, active).exists()
        return stmt.where(~busy)
    channel_sid = bindparam("channel_sid", type_=String)
    used = (
        select(func.count(Reservation.id))
        .where(
            Reservation.worker_sid == Worker.sid,
            Reservation.task_channel_sid == channel_sid,
            active,
        )
        .scalar_subquery()
    )
    return stmt.join(
        WorkerChannel,
        (WorkerChannel.worker_sid == Worker.sid) & (WorkerChannel.task_channel_sid == channel_sid),
    ).where(WorkerChannel.available.is_(True), WorkerChannel.configured_capacity > used)


class CandidatePool:
    """Workers in longest-idle order, read a page at a time and cached for the rest of the pass.

    Pages are read with a keyset on the `(workspace_sid, idle_since, id)` index, so a pass reads only
    as many workers as it needs; a queue whose members are indexed (`task_queue_member`) reads only
    its members. Pools of one pass share a registry, so a worker appears as one `Candidate` object
    whose usage every pool sees (no double booking across queues in one pass).
    """

    def __init__(
        self,
        session: Session,
        ctx: RoutingContext,
        *,
        worker_sids: Collection[str] | None = None,
        available_only: bool = True,
        room_on_channel: str | None = None,
        member_of: str | None = None,
        registry: dict[str, Candidate] | None = None,
        chunk: int = 64,
    ) -> None:
        self._session = session
        self._ctx = ctx
        self._chunk = chunk
        self._registry: dict[str, Candidate] = {} if registry is None else registry
        self._stmt = _page_query(
            available_only=available_only,
            restricted=worker_sids is not None,
            member=member_of is not None,
            room=room_on_channel is not None,
            multitasking=ctx.workspace.multi_task_enabled,
        )
        self._params: dict[str, object] = {
            "workspace_sid": ctx.workspace.sid,
            "worker_sids": list(worker_sids or ()),
            "queue_sid": member_of,
            "channel_sid": room_on_channel,
        }
        self._after: tuple[datetime, int] | None = None
        self._exhausted = False
        self._seen: set[str] = set()
        self._loaded: list[Candidate] = []

    def __bool__(self) -> bool:
        if not self._loaded and not self._exhausted:
            self._load_next()
        return bool(self._loaded)

    def __iter__(self) -> Iterator[Candidate]:
        index = 0
        while True:
            if index >= len(self._loaded):
                if self._exhausted:
                    return
                self._load_next()
                continue
            yield self._loaded[index]
            index += 1

    def loaded(self) -> list[Candidate]:
        """Return every candidate read so far (all of them once iterated to the end)."""
        return self._loaded

    def _next_page(self) -> tuple[list[_PageRow], list[_PageRow]]:
        """Read the next page of the order (skipping workers already seen: a reservation made
        during the pass moves a worker's idle_since to now, so it can come round again), with the
        channel and reservation rows of its workers."""
        page: list[_PageRow] = []
        details: list[_PageRow] = []
        while not page and not self._exhausted:
            stmt = self._stmt[self._after is not None]
            after = self._after or (None, None)
            params = {**self._params, "size": self._chunk, "idle": after[0], "worker_id": after[1]}
            rows: list[_PageRow] = []
            result: _PageRow
            for result in self._session.execute(stmt, params):
                (rows if result[0] == _WORKER else details).append(result)
            rows.sort(key=lambda row: (row[2], row[3]))  # (idle_since, id): the page's order
            if len(rows) < self._chunk:
                self._exhausted = True
            if rows:
                self._after = (rows[-1][2], rows[-1][3])
            self._chunk = min(self._chunk * 2, 1024)
            for row in rows:
                if row[1] not in self._seen:
                    self._seen.add(row[1])
                    page.append(row)
        return page, details

    def _load_next(self) -> None:
        page, details = self._next_page()
        new = {row[1]: row for row in page if row[1] not in self._registry}
        if new:
            self._register(new, details)
        self._loaded.extend(self._registry[row[1]] for row in page if row[1] in self._registry)

    def _register(self, rows: dict[str, _PageRow], details: list[_PageRow]) -> None:
        """Build the candidates of new workers from their page rows and detail rows."""
        channels: dict[str, dict[str, ChannelRow]] = defaultdict(dict)
        per_worker: dict[str, dict[str, int]] = defaultdict(dict)
        pending: dict[str, set[str]] = defaultdict(set)
        for detail in details:
            kind, worker_sid, channel_sid = detail[0], detail[1], detail[10]
            if worker_sid not in rows:
                continue
            if kind == _CHANNEL:
                channels[worker_sid][channel_sid] = ChannelRow(detail[11], bool(detail[12]))
                continue
            usage = per_worker[worker_sid]
            usage[channel_sid] = usage.get(channel_sid, 0) + 1
            if detail[13] == "pending":
                pending[worker_sid].add(detail[14])
        for sid, row in rows.items():
            self._registry[sid] = Candidate(
                worker=WorkerRow(
                    id=row[3],
                    sid=sid,
                    friendly_name=row[4],
                    attributes=row[5],
                    idle_since=row[2],
                    version=row[9],
                ),
                activity=ActivityRow(sid=row[6], friendly_name=row[7], available=row[8]),
                channels=channels.get(sid, {}),
                usage=per_worker.get(sid, {}),
                pending_tasks=pending.get(sid, set()),
            )


def queue_matches(
    ctx: RoutingContext, queue: TaskQueue, candidate: Candidate, cache: dict[tuple[str, str], bool]
) -> bool:
    """Tell whether the worker satisfies the queue's `target_workers` (cached for the pass)."""
    key = (queue.sid, candidate.worker.sid)
    if key not in cache:
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
    limit: int | None = None,
) -> list[Candidate]:
    """Return the candidates that may be reserved for the task now, best first (at most `limit`)."""
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
        if (
            limit is not None
            and len(chosen) >= limit
            and not (target is not None and target.order_by)
        ):
            # Candidates arrive longest idle first, so without order_by the first matches are the best.
            break
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
