"""Routing applied: the engine's offers become reservations; a task it gives up on is canceled.

`cancel` lives here, next to `route`, because each can lead to the other: routing cancels a task
that reached the maximum assignment count, and a canceled task's workers are routed again.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from taskrouter_emulator import versions
from taskrouter_emulator.errors import InvalidParameter
from taskrouter_emulator.lifecycle import offers
from taskrouter_emulator.lifecycle.events import task_event
from taskrouter_emulator.models import Task, Worker
from taskrouter_emulator.routing import engine
from taskrouter_emulator.routing.context import RoutingContext
from taskrouter_emulator.routing.eligibility import Candidate


def route(
    ctx: RoutingContext,
    *,
    tasks: Collection[Task] | None = None,
    task_sids: Collection[str] | None = None,
    worker_sids: Collection[str] | None = None,
) -> None:
    """Offer waiting tasks to eligible workers (restricted to some tasks, given as objects or
    SIDs, or to some workers when given)."""
    for decision in engine.offers(
        ctx, tasks=tasks, task_sids=task_sids, worker_sids=worker_sids
    ):
        if isinstance(decision, engine.Offer):
            worker = _offered_worker(ctx, decision.worker)
            offers.create(ctx, task=decision.task, worker=worker, queue=decision.queue)
        else:
            cancel(ctx, decision.task, reason=decision.reason)


def cancel(ctx: RoutingContext, task: Task, *, reason: str | None) -> None:
    """Cancel a pending or reserved task; its pending reservations are canceled."""
    if task.assignment_status not in ("pending", "reserved"):
        raise InvalidParameter(
            f"Cannot cancel task {task.sid} in workspace {task.workspace_sid} for account {task.account_sid} "
            "because it is not pending or reserved."
        )
    freed = offers.withdraw(ctx, task)
    task.assignment_status = "canceled"
    task.reason = reason
    finish(ctx, task)
    task_event(
        ctx, task, "task.canceled", f"Task {task.sid} canceled" + (f": {reason}" if reason else "")
    )
    route(ctx, worker_sids=freed)


def finish(ctx: RoutingContext, task: Task) -> None:
    """Stop every timer of a task in a final state and schedule its clean-up."""
    task.expires_at = None
    task.step_timeout_at = None
    task.delete_at = ctx.now + ctx.config.task_retention
    versions.bump(ctx.session, task, ctx.now)
    task.date_updated = ctx.now
    ctx.session.flush()


def _offered_worker(ctx: RoutingContext, candidate: Candidate) -> Worker:
    """The offered worker as an ORM object, without reading it again.

    The session's own object if it holds the worker; else one built from the row the engine read
    in this transaction (`make_transient_to_detached` makes it look loaded: no SELECT, and the
    columns it was not given load on first access), so the reservation's changes to it (its idle
    time, an activity move) are flushed as an UPDATE like any loaded row's.
    """
    row = candidate.worker
    found = ctx.session.identity_map.get(identity_key(Worker, row.id))
    if isinstance(found, Worker):
        return found
    worker = Worker(
        id=row.id,
        sid=row.sid,
        account_sid=ctx.workspace.account_sid,
        workspace_sid=ctx.workspace.sid,
        friendly_name=row.friendly_name,
        attributes=row.attributes,
        activity_sid=candidate.activity.sid,
        idle_since=row.idle_since,
        version=row.version,
    )
    make_transient_to_detached(worker)
    ctx.session.add(worker)
    return worker
