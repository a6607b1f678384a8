"""Workflow rules: CRUD with a strictly validated configuration and callback URLs."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from taskrouter_emulator import lookup, validation
from taskrouter_emulator.api.urls import child_path
from taskrouter_emulator.clock import Clock
from taskrouter_emulator.errors import InvalidParameter
from taskrouter_emulator.events import recorder
from taskrouter_emulator.models import Task, TaskQueue, Workflow, Workspace
from taskrouter_emulator.sids import Prefix, new_sid
from taskrouter_emulator.workflows.configuration import (
    ConfigurationError,
    RoutingConfiguration,
    parse_configuration,
)

DEFAULT_RESERVATION_TIMEOUT = 120
MAX_RESERVATION_TIMEOUT = 86400
MAX_WORKFLOWS = 1000
ACTIVE_TASK_STATUSES = ("pending", "reserved", "assigned", "wrapping")


def path(workflow: Workflow) -> str:
    """Return the path of a workflow."""
    return child_path(workflow.workspace_sid, "Workflows", workflow.sid)


def get(session: Session, *, workspace: Workspace, sid: str) -> Workflow:
    """Return a workflow of the workspace or raise 404."""
    return lookup.get_in_workspace(
        session,
        Workflow,
        workspace_sid=workspace.sid,
        sid=sid,
        prefix=Prefix.WORKFLOW,
        segment="Workflows",
    )


def list_query(*, workspace: Workspace, friendly_name: str | None) -> Select[Workflow]:
    """Return the ordered query behind the workflow list."""
    stmt = select(Workflow).where(Workflow.workspace_sid == workspace.sid)
    if friendly_name is not None:
        stmt = stmt.where(Workflow.friendly_name == friendly_name)
    return stmt.order_by(Workflow.id)


def validated_configuration(
    session: Session, *, workspace: Workspace, text: str
) -> RoutingConfiguration:
    """Parse a configuration and check that every queue it names belongs to the workspace."""
    try:
        configuration = parse_configuration(text)
    except ConfigurationError as exc:
        raise InvalidParameter(f"Invalid Configuration: {exc}") from None
    wanted = configuration.queue_sids()
    if wanted:
        found = set(
            session.scalars(
                select(TaskQueue.sid).where(
                    TaskQueue.workspace_sid == workspace.sid, TaskQueue.sid.in_(wanted)
                )
            )
        )
        missing = sorted(wanted - found)
        if missing:
            raise InvalidParameter(
                f"Invalid Configuration: TaskQueue {missing[0]} is not a TaskQueue of Workspace {workspace.sid}"
            )
    return configuration


def create(
    session: Session,
    *,
    clock: Clock,
    workspace: Workspace,
    friendly_name: str | None,
    configuration: str | None,
    assignment_callback_url: str | None = None,
    fallback_assignment_callback_url: str | None = None,
    task_reservation_timeout: int | None = None,
    sid: str | None = None,
) -> Workflow:
    """Create a workflow."""
    name = validation.friendly_name(friendly_name)
    if configuration is None:
        raise validation.missing("Configuration")
    validated_configuration(session, workspace=workspace, text=configuration)
    count = session.scalar(select(func.count()).where(Workflow.workspace_sid == workspace.sid)) or 0
    if count >= MAX_WORKFLOWS:
        raise InvalidParameter(f"A Workspace may have at most {MAX_WORKFLOWS} Workflows")
    now = clock.now()
    workflow = Workflow(
        sid=sid or new_sid(Prefix.WORKFLOW),
        account_sid=workspace.account_sid,
        workspace_sid=workspace.sid,
        friendly_name=name,
        configuration=configuration,
        assignment_callback_url=validation.callback_url(
            assignment_callback_url, name="AssignmentCallbackUrl"
        )
        or None,
        fallback_assignment_callback_url=validation.callback_url(
            fallback_assignment_callback_url, name="FallbackAssignmentCallbackUrl"
        )
        or None,
        task_reservation_timeout=_reservation_timeout(task_reservation_timeout)
        or DEFAULT_RESERVATION_TIMEOUT,
        date_created=now,
        date_updated=now,
    )
    session.add(workflow)
    session.flush()
    _record(session, clock, workspace, workflow, "workflow.created", f"Workflow {name} created")
    return workflow


def update(
    session: Session,
    *,
    clock: Clock,
    workspace: Workspace,
    workflow: Workflow,
    friendly_name: str | None = None,
    configuration: str | None = None,
    assignment_callback_url: str | None = None,
    fallback_assignment_callback_url: str | None = None,
    task_reservation_timeout: int | None = None,
) -> Workflow:
    """Apply the given changes; parameters left as None are unchanged."""
    if friendly_name is not None:
        workflow.friendly_name = validation.friendly_name(friendly_name) or workflow.friendly_name
    if configuration is not None:
        validated_configuration(session, workspace=workspace, text=configuration)
        workflow.configuration = configuration
    if assignment_callback_url is not None:
        workflow.assignment_callback_url = (
            validation.callback_url(assignment_callback_url, name="AssignmentCallbackUrl") or None
        )
    if fallback_assignment_callback_url is not None:
        workflow.fallback_assignment_callback_url = (
            validation.callback_url(
                fallback_assignment_callback_url, name="FallbackAssignmentCallbackUrl"
            )
            or None
        )
    if task_reservation_timeout is not None:
        workflow.task_reservation_timeout = (
            _reservation_timeout(task_reservation_timeout) or DEFAULT_RESERVATION_TIMEOUT
        )
    workflow.date_updated = clock.now()
    session.flush()
    _record(
        session,
        clock,
        workspace,
        workflow,
        "workflow.updated",
        f"Workflow {workflow.friendly_name} updated",
    )
    return workflow


def delete_workflow(
    session: Session, *, clock: Clock, workspace: Workspace, workflow: Workflow
) -> None:
    """Delete a workflow unless tasks it routes are still active."""
    active = session.scalar(
        select(func.count()).where(
            Task.workflow_sid == workflow.sid, Task.assignment_status.in_(ACTIVE_TASK_STATUSES)
        )
    )
    if active:
        raise InvalidParameter(
            f"Workflow {workflow.sid} has {active} active Task(s) and cannot be deleted"
        )
    _record(
        session,
        clock,
        workspace,
        workflow,
        "workflow.deleted",
        f"Workflow {workflow.friendly_name} deleted",
    )
    session.delete(workflow)
    session.flush()


def _reservation_timeout(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= MAX_RESERVATION_TIMEOUT:
        raise InvalidParameter(
            f"TaskReservationTimeout must be between 1 and {MAX_RESERVATION_TIMEOUT} seconds"
        )
    return value


def _record(
    session: Session,
    clock: Clock,
    workspace: Workspace,
    workflow: Workflow,
    event_type: str,
    description: str,
) -> None:
    recorder.record(
        session,
        clock=clock,
        workspace=workspace,
        event_type=event_type,
        resource_type="workflow",
        resource_sid=workflow.sid,
        resource_path=path(workflow),
        description=description,
        data=recorder.workflow_fields(workflow),
    )
