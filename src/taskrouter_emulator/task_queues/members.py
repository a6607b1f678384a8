"""Which workers each queue selects, kept as rows (`task_queue_member`) instead of evaluated per task.

A queue's `target_workers` is "indexable" when it reads only what a worker's attributes, SID and
friendly name decide: then membership changes only when a worker is created or its attributes/name
change, or when the queue's expression changes, and those writes recompute it in the same
transaction. Expressions that read `activity_name`, `activity_sid` or `channel.*` change with every
activity move or reservation, so such queues keep `members_indexed = False` and the routing engine
evaluates them per candidate, as before. The rows live in the database, so every server process
sees the same membership under the workspace's write lock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from taskrouter_emulator.expressions import Expression, ExpressionError, evaluate, parse
from taskrouter_emulator.expressions.ast import iter_paths
from taskrouter_emulator.models import TaskQueue, TaskQueueMember, Worker
from taskrouter_emulator.routing.context import cached_attributes
from taskrouter_emulator.workers.context import worker_variables

# Built-in worker fields that change without the worker's attributes changing.
_LIVE_FIELDS = frozenset({"activity_sid", "activity_name", "channel"})
# Rows per INSERT ... VALUES batch.
_BATCH = 2000


@lru_cache(maxsize=8192)
def indexable(target_workers: str | None) -> Expression | None:
    """Return the parsed expression when membership can be kept as rows, else None."""
    if not target_workers or not target_workers.strip():
        return None
    try:
        expression = parse(target_workers)
    except ExpressionError:
        return None
    for path in iter_paths(expression):
        segments = path.segments
        # `worker.x` and bare `x` name the same field (target_workers is evaluated with bare="worker").
        field = segments[1] if segments[0] == "worker" and len(segments) > 1 else segments[0]
        if field in _LIVE_FIELDS or segments == ("worker",):
            return None
    return expression


def static_document(*, sid: str, friendly_name: str, attributes: str) -> dict[str, Any]:
    """Return the part of a worker's expression document that indexable expressions may read."""
    return worker_variables(
        sid=sid,
        friendly_name=friendly_name,
        attributes=cached_attributes(attributes),
        activity_sid="",
        activity_name="",
    )


def _selects(expression: Expression, document: dict[str, Any]) -> bool:
    return evaluate(expression, {"worker": document}, bare="worker")


def _insert(session: Session, rows: list[dict[str, str]]) -> None:
    for start in range(0, len(rows), _BATCH):
        session.execute(insert(TaskQueueMember), rows[start : start + _BATCH])


def refresh_worker(session: Session, worker: Worker) -> None:
    """Recompute which indexed queues select this worker (after it is created or its attributes/name change)."""
    session.flush()
    session.execute(delete(TaskQueueMember).where(TaskQueueMember.worker_sid == worker.sid))
    queues_by_expression: dict[str | None, list[str]] = defaultdict(list)
    for sid, text in session.execute(
        select(TaskQueue.sid, TaskQueue.target_workers).where(
            TaskQueue.workspace_sid == worker.workspace_sid, TaskQueue.members_indexed.is_(True)
        )
    ):
        queues_by_expression[text].append(sid)
    document = static_document(
        sid=worker.sid, friendly_name=worker.friendly_name, attributes=worker.attributes
    )
    rows: list[dict[str, str]] = []
    # Queues sharing one expression are evaluated once.
    for text, queue_sids in queues_by_expression.items():
        expression = indexable(text)
        if expression is not None and _selects(expression, document):
            rows.extend(
                {
                    "task_queue_sid": q,
                    "worker_sid": worker.sid,
                    "workspace_sid": worker.workspace_sid,
                }
                for q in queue_sids
            )
    _insert(session, rows)


def refresh_queue(session: Session, queue: TaskQueue) -> None:
    """Recompute a queue's members from every worker of its workspace (after its expression changes)."""
    session.flush()
    session.execute(delete(TaskQueueMember).where(TaskQueueMember.task_queue_sid == queue.sid))
    expression = indexable(queue.target_workers)
    queue.members_indexed = expression is not None
    if expression is None:
        return
    workers = session.execute(
        select(Worker.sid, Worker.friendly_name, Worker.attributes).where(
            Worker.workspace_sid == queue.workspace_sid
        )
    )
    _insert(
        session,
        [
            {"task_queue_sid": queue.sid, "worker_sid": sid, "workspace_sid": queue.workspace_sid}
            for sid in _selected(expression, workers)
        ],
    )


def _selected(expression: Expression, workers: Iterable[Any]) -> list[str]:
    return [
        sid
        for sid, name, attributes in workers
        if _selects(expression, static_document(sid=sid, friendly_name=name, attributes=attributes))
    ]


def queues_of(session: Session, worker_sids: Iterable[str]) -> set[str]:
    """Return the indexed queues that select any of these workers."""
    return set(
        session.scalars(
            select(TaskQueueMember.task_queue_sid).where(
                TaskQueueMember.worker_sid.in_(list(worker_sids))
            )
        )
    )
