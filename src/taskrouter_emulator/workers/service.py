"""Worker rules: CRUD, case-insensitively unique names, activity changes, versions and the list filters.

Every expression evaluated on a worker (the list's `TargetWorkersExpression`, a queue's
`target_workers`) sees the document `worker_documents` builds from `workers.context`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taskrouter_emulator import validation, versions
from taskrouter_emulator.activities import service as activities
from taskrouter_emulator.api.forms import json_object_text
from taskrouter_emulator.api.pagination import RowFilter
from taskrouter_emulator.api.urls import child_path
from taskrouter_emulator.clock import Clock
from taskrouter_emulator.errors import InvalidParameter, PreconditionFailed, ResourceNotFound
from taskrouter_emulator.expressions import Expression, ExpressionError, evaluate, parse
from taskrouter_emulator.expressions.ast import iter_paths
from taskrouter_emulator.lifecycle import reservations as reservation_lifecycle
from taskrouter_emulator.lifecycle.dispatch import route
from taskrouter_emulator.lifecycle.workers import activity_of as activity_of
from taskrouter_emulator.lifecycle.workers import move, record, record_activity_change
from taskrouter_emulator.lifecycle.workflow import route_after_change
from taskrouter_emulator.models import Activity, Reservation, TaskQueue, Worker, Workspace
from taskrouter_emulator.routing.context import RoutingContext, cached_attributes
from taskrouter_emulator.sids import Prefix, new_sid
from taskrouter_emulator.task_queues import members
from taskrouter_emulator.workers import channels
from taskrouter_emulator.workers.context import ChannelState, parse_attributes, worker_variables

MAX_WORKERS = 15_000
MAX_ATTRIBUTES_LENGTH = 4096
# Reservation statuses that mean the worker holds the task ("assigned tasks").
ASSIGNED_STATUSES = channels.ASSIGNED_STATUSES

_ORDER_COLUMNS = {
    "datecreated": Worker.date_created,
    "datestatuschanged": Worker.date_status_changed,
}


def get(session: Session, *, workspace: Workspace, sid: str, for_update: bool = False) -> Worker:
    """Return a worker of the workspace or raise 404 (also for anything that is not a WK SID)."""
    where = child_path(workspace.sid, "Workers", sid)
    validation.path_sid(sid, Prefix.WORKER, where)
    stmt = select(Worker).where(Worker.sid == sid, Worker.workspace_sid == workspace.sid)
    if for_update:
        stmt = stmt.with_for_update()
    worker = session.scalars(stmt).one_or_none()
    if worker is None:
        raise ResourceNotFound(where)
    return worker


def check_if_match(worker: Worker, if_match: str | None) -> None:
    """Raise 412 if an `If-Match` header was sent and does not name the worker's current version."""
    if if_match is None:
        return
    expected = if_match.strip()
    if expected.startswith("W/"):
        expected = expected[2:]
    expected = expected.strip('"')
    if expected != str(worker.version):
        raise PreconditionFailed(
            f"Precondition failed: ETag {worker.version} does not match If-Match {expected}"
        )


def activities_by_sid(session: Session, *, sids: Collection[str]) -> dict[str, Activity]:
    """Load the given activities in one query, keyed by SID."""
    if not sids:
        return {}
    rows = session.scalars(select(Activity).where(Activity.sid.in_(set(sids))))
    return {activity.sid: activity for activity in rows}


def create(
    session: Session,
    *,
    clock: Clock,
    workspace: Workspace,
    friendly_name: str | None,
    attributes: str | None = None,
    activity_sid: str | None = None,
    sid: str | None = None,
) -> Worker:
    """Create a worker (in the workspace's default activity unless told otherwise) and its channels."""
    name = _friendly_name(friendly_name)
    text = "{}" if attributes is None else _attributes(attributes)
    if activity_sid is not None:
        activity = activities.find(
            session, workspace=workspace, sid=activity_sid, parameter="ActivitySid"
        )
    elif workspace.default_activity_sid is not None:
        activity = activities.find(
            session,
            workspace=workspace,
            sid=workspace.default_activity_sid,
            parameter="DefaultActivitySid",
        )
    else:
        raise InvalidParameter(
            f"ActivitySid is required because Workspace {workspace.sid} has no default Activity"
        )
    _check_name_free(session, workspace, name)
    count = session.scalar(select(func.count()).where(Worker.workspace_sid == workspace.sid)) or 0
    if count >= MAX_WORKERS:
        raise InvalidParameter(f"A Workspace may have at most {MAX_WORKERS} Workers")
    now = clock.now()
    worker = Worker(
        sid=sid or new_sid(Prefix.WORKER),
        account_sid=workspace.account_sid,
        workspace_sid=workspace.sid,
        friendly_name=name,
        friendly_name_key=name.lower(),
        attributes=text,
        activity_sid=activity.sid,
        date_status_changed=now,
        idle_since=now,
        version=0,
        date_created=now,
        date_updated=now,
    )
    session.add(worker)
    _flush(session, name)
    versions.created(session, worker)
    channels.add_worker_to_channels(session, clock=clock, worker=worker)
    members.refresh_worker(session, worker)
    record(session, clock, workspace, worker, activity, "worker.created", f"Worker {name} created")
    return worker


def update(
    session: Session,
    *,
    clock: Clock,
    workspace: Workspace,
    worker: Worker,
    activity_sid: str | None = None,
    attributes: str | None = None,
    friendly_name: str | None = None,
    reject_pending: bool | None = None,
    if_match: str | None = None,
) -> Worker:
    """Apply a Worker update, then offer it what it can now take; one request that changes
    anything bumps the version once."""
    check_if_match(worker, if_match)
    name = None if friendly_name is None else _friendly_name(friendly_name)
    text = None if attributes is None else _attributes(attributes)
    current = activity_of(session, worker)
    target = (
        current
        if activity_sid is None
        else activities.find(
            session, workspace=workspace, sid=activity_sid, parameter="ActivitySid"
        )
    )
    if reject_pending and target.available:
        raise InvalidParameter(
            "RejectPendingReservations can only be used when the Worker's new Activity is "
            f"unavailable, and Activity {target.sid} ({target.friendly_name}) is available"
        )
    if name is not None and name.lower() != worker.friendly_name_key:
        _check_name_free(session, workspace, name)

    renamed = name is not None and name != worker.friendly_name
    attributes_changed = text is not None and text != worker.attributes
    if renamed or attributes_changed or target.sid != current.sid:
        _apply_update(session, clock, workspace, worker, name, text, current, target)
    if reject_pending:
        # After the move (as reject with WorkerActivitySid and time-outs do): the re-routed
        # tasks must not come back to this worker, which is now unavailable.
        reject_pending_reservations(session, clock=clock, workspace=workspace, worker=worker)
    route_after_change(session, clock=clock, workspace=workspace, worker_sids=[worker.sid])
    return worker


def _apply_update(
    session: Session,
    clock: Clock,
    workspace: Workspace,
    worker: Worker,
    name: str | None,
    text: str | None,
    current: Activity,
    target: Activity,
) -> None:
    """Write a worker update that changes something: one version bump, then its events."""
    now = clock.now()
    previous_since = worker.date_status_changed
    attributes_changed = text is not None and text != worker.attributes
    renamed = name is not None and name != worker.friendly_name
    if name is not None and renamed:
        worker.friendly_name = name
        worker.friendly_name_key = name.lower()
    if text is not None and attributes_changed:
        worker.attributes = text
    moved = target.sid != current.sid
    if moved:
        move(worker, target, now)
    versions.bump(session, worker, now)
    worker.date_updated = now
    _flush(session, worker.friendly_name)
    if renamed or attributes_changed:
        members.refresh_worker(session, worker)
    if moved:
        record_activity_change(
            session, clock, workspace, worker, current, previous_since, target, now
        )
    if attributes_changed:
        record(
            session,
            clock,
            workspace,
            worker,
            target,
            "worker.attributes.update",
            f"Worker {worker.friendly_name} attributes updated",
        )


def reject_pending_reservations(
    session: Session, *, clock: Clock, workspace: Workspace, worker: Worker
) -> None:
    """Reject every pending reservation of the worker; their tasks are routed again."""
    ctx = RoutingContext.load(session, clock=clock, workspace=workspace)
    reservation_lifecycle.withdraw_from_worker(
        ctx, worker, status="rejected", event_type="reservation.rejected"
    )


def delete_worker(
    session: Session,
    *,
    clock: Clock,
    workspace: Workspace,
    worker: Worker,
    if_match: str | None = None,
) -> None:
    """Delete a worker unless it holds assigned tasks; its pending reservations and channels go too."""
    check_if_match(worker, if_match)
    assigned = (
        session.scalar(
            select(func.count()).where(
                Reservation.worker_sid == worker.sid,
                Reservation.reservation_status.in_(ASSIGNED_STATUSES),
            )
        )
        or 0
    )
    if assigned:
        raise InvalidParameter(
            f"Worker {worker.sid} cannot be deleted while it has {assigned} assigned Task(s)"
        )
    # Offers still out to this worker are canceled and their tasks routed to someone else.
    ctx = RoutingContext.load(session, clock=clock, workspace=workspace)
    tasks = reservation_lifecycle.withdraw_from_worker(
        ctx, worker, status="canceled", event_type="reservation.canceled", reroute=False
    )
    record(
        session,
        clock,
        workspace,
        worker,
        activity_of(session, worker),
        "worker.deleted",
        f"Worker {worker.friendly_name} deleted",
    )
    session.delete(worker)
    session.flush()
    route(ctx, task_sids=tasks)


def list_query(
    *,
    workspace: Workspace,
    activity_name: str | None = None,
    activity_sid: str | None = None,
    available: bool | None = None,
    friendly_name: str | None = None,
    ordering: str | None = None,
) -> Select[Worker]:
    """Return the ordered query behind the worker list, with the filters SQL can apply."""
    stmt = select(Worker).where(Worker.workspace_sid == workspace.sid)
    if activity_sid is not None:
        stmt = stmt.where(Worker.activity_sid == activity_sid)
    if friendly_name is not None:
        stmt = stmt.where(Worker.friendly_name == friendly_name)
    if activity_name is not None or available is not None:
        stmt = stmt.join(Activity, Activity.sid == Worker.activity_sid)
        if activity_name is not None:
            stmt = stmt.where(Activity.friendly_name == activity_name)
        if available is not None:
            stmt = stmt.where(Activity.available.is_(available))
    return stmt.order_by(*_order_by(ordering))


def expression_filter(
    session: Session,
    *,
    workspace: Workspace,
    target_workers_expression: str | None = None,
    task_queue_sid: str | None = None,
    task_queue_name: str | None = None,
) -> RowFilter | None:
    """Return the list's expression filters as one row filter; None if there are none.

    `TaskQueueSid`/`TaskQueueName` keep the workers matching that queue's `target_workers`: an
    unknown queue, or one without target workers, matches nobody.
    """
    groups: list[list[Expression]] = []
    if target_workers_expression is not None:
        validation.expression(target_workers_expression, name="TargetWorkersExpression")
        groups.append([parse(target_workers_expression)])
    for column, value in (
        (TaskQueue.sid, task_queue_sid),
        (TaskQueue.friendly_name, task_queue_name),
    ):
        if value is None:
            continue
        targets = session.scalars(
            select(TaskQueue.target_workers)
            .where(TaskQueue.workspace_sid == workspace.sid, column == value)
            .order_by(TaskQueue.id)
        )
        groups.append([e for e in map(_queue_expression, targets) if e is not None])
    if not groups:
        return None
    expressions = [e for group in groups for e in group]
    activity_rows = session.execute(
        select(Activity.sid, Activity.friendly_name).where(Activity.workspace_sid == workspace.sid)
    )
    names: dict[str, str] = {row.sid: row.friendly_name for row in activity_rows}
    reads_channels = any(_reads(e, _CHANNEL_FIELDS) for e in expressions)
    # Most expressions read only attributes and the activity: decide once per distinct pair.
    per_worker = reads_channels or any(_reads(e, _IDENTITY_FIELDS) for e in expressions)
    # Many read only attributes: then the (shared, read-only) decoded attributes are the document.
    attributes_only = not any(_reads(e, _BUILT_IN_FIELDS) for e in expressions)
    decided: dict[tuple[str, str], bool] = {}

    def selects(document: Mapping[str, Any]) -> bool:
        return all(
            any(evaluate(e, {"worker": document}, bare="worker") for e in group) for group in groups
        )

    def verdicts(rows: Sequence[Any]) -> list[bool]:
        if any(not group for group in groups):
            return [False] * len(rows)
        if attributes_only:
            return [selects(cached_attributes(attributes)) for _, _, attributes, _ in rows]
        states = (
            _channel_documents(session, workspace, [r[0] for r in rows]) if reads_channels else {}
        )
        found = []
        for sid, friendly_name, attributes, activity_sid in rows:
            pair = (attributes, activity_sid)
            if not per_worker and pair in decided:
                found.append(decided[pair])
                continue
            document = worker_variables(
                sid=sid,
                friendly_name=friendly_name,
                attributes=cached_attributes(attributes),
                activity_sid=activity_sid,
                activity_name=names.get(activity_sid, ""),
                channels=states.get(sid, {}) if reads_channels else None,
            )
            found.append(
                selects(document) if per_worker else decided.setdefault(pair, selects(document))
            )
        return found

    return RowFilter(
        key=Worker.sid,
        columns=(Worker.friendly_name, Worker.attributes, Worker.activity_sid),
        verdicts=verdicts,
    )


# Worker fields an expression may read besides its attributes and activity.
_CHANNEL_FIELDS = frozenset({"channel"})
_IDENTITY_FIELDS = frozenset({"sid", "friendly_name"})
# Every field `worker_variables` sets besides the attributes (it overrides attributes of the name).
_BUILT_IN_FIELDS = _CHANNEL_FIELDS | _IDENTITY_FIELDS | {"activity_sid", "activity_name"}


def _reads(expression: Expression, fields: frozenset[str]) -> bool:
    """Tell whether an expression (evaluated with bare="worker") reads one of these worker fields."""
    for path in iter_paths(expression):
        segments = path.segments
        if segments == ("worker",):
            return True  # the whole document
        field = segments[1] if segments[0] == "worker" and len(segments) > 1 else segments[0]
        if field in fields:
            return True
    return False


def _channel_documents(
    session: Session, workspace: Workspace, worker_sids: list[str]
) -> dict[str, dict[str, ChannelState]]:
    """Each worker's channel states by channel unique name."""
    names = channels.unique_names(session, workspace_sid=workspace.sid)
    per_worker: defaultdict[str, dict[str, ChannelState]] = defaultdict(dict)
    for (worker_sid, channel_sid), state in channels.channel_states(
        session, worker_sids=worker_sids
    ).items():
        unique_name = names.get(channel_sid)
        if unique_name is not None:
            per_worker[worker_sid][unique_name] = state
    return per_worker


def worker_documents(
    session: Session, *, workspace: Workspace, workers: Sequence[Worker]
) -> dict[str, dict[str, Any]]:
    """Return each worker's expression document (attributes, built-in fields, channels), by SID."""
    if not workers:
        return {}
    activity_names = {
        sid: activity.friendly_name
        for sid, activity in activities_by_sid(
            session, sids={w.activity_sid for w in workers}
        ).items()
    }
    per_worker = _channel_documents(session, workspace, [w.sid for w in workers])
    return {
        worker.sid: worker_variables(
            sid=worker.sid,
            friendly_name=worker.friendly_name,
            attributes=parse_attributes(worker.attributes),
            activity_sid=worker.activity_sid,
            activity_name=activity_names.get(worker.activity_sid, ""),
            channels=per_worker.get(worker.sid, {}),
        )
        for worker in workers
    }


def _queue_expression(text: str | None) -> Expression | None:
    if text is None or not text.strip():
        return None
    try:
        return parse(text)
    except ExpressionError:
        return None


def _order_by(ordering: str | None) -> list[ColumnElement[Any]]:
    if ordering is None or not ordering.strip():
        return [Worker.id.asc()]
    clauses: list[ColumnElement[Any]] = []
    first_descending: bool | None = None
    for part in ordering.split(","):
        field, separator, direction = part.strip().partition(":")
        column = _ORDER_COLUMNS.get(field.strip().lower())
        direction = direction.strip().lower()
        if column is None or not separator or direction not in ("asc", "desc"):
            raise InvalidParameter(
                f"Invalid Ordering '{ordering}': expected DateCreated or DateStatusChanged "
                "followed by :asc or :desc, comma-separated"
            )
        descending = direction == "desc"
        if first_descending is None:
            first_descending = descending
        clauses.append(column.desc() if descending else column.asc())
    # Equal timestamps (a frozen clock) fall back to creation order, in the first clause's direction.
    clauses.append(Worker.id.desc() if first_descending else Worker.id.asc())
    return clauses


def _friendly_name(value: str | None) -> str:
    name = validation.friendly_name(value)
    if name is None:  # pragma: no cover - friendly_name() raises for a missing required name
        raise validation.missing("FriendlyName")
    return name


def _attributes(value: str) -> str:
    return json_object_text(value, name="Attributes", max_length=MAX_ATTRIBUTES_LENGTH)


def _duplicate(name: str) -> InvalidParameter:
    return InvalidParameter(
        f"A Worker with FriendlyName '{name}' already exists in this Workspace "
        "(friendly names are case-insensitively unique)"
    )


def _check_name_free(session: Session, workspace: Workspace, name: str) -> None:
    taken = session.scalar(
        select(func.count()).where(
            Worker.workspace_sid == workspace.sid, Worker.friendly_name_key == name.lower()
        )
    )
    if taken:
        raise _duplicate(name)


def _flush(session: Session, name: str) -> None:
    """Flush; a concurrent insert of the same name surfaces as the usual 400, not a 500."""
    try:
        session.flush()
    except IntegrityError:
        raise _duplicate(name) from None
