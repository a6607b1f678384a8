"""Apply a seed file: create what is missing through the resource services, leave what exists.

Resources are matched by SID when the file gives one, else by name (workspace and activity friendly
name, channel unique name, queue and workflow friendly name, worker name case-insensitively). A
match is left as it is, so loading a file twice changes nothing. Everything is created through the
same service functions as the REST API, so every rule and every event applies; a service's refusal is
re-raised with the file location prefixed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taskrouter_emulator.activities import service as activity_service
from taskrouter_emulator.clock import Clock
from taskrouter_emulator.db.locks import workspace_lock
from taskrouter_emulator.emulator_tools.seeding.document import Location, SeedFile
from taskrouter_emulator.emulator_tools.seeding.schemas import WorkspaceSeed
from taskrouter_emulator.emulator_tools.state import lock_account
from taskrouter_emulator.errors import Conflict, InvalidParameter, TwilioError
from taskrouter_emulator.models import (
    Activity,
    TaskChannel,
    TaskQueue,
    Worker,
    Workflow,
    Workspace,
)
from taskrouter_emulator.sids import Prefix, is_sid
from taskrouter_emulator.task_channels import service as channel_service
from taskrouter_emulator.task_queues import service as queue_service
from taskrouter_emulator.workers import channels as worker_channels
from taskrouter_emulator.workers import service as worker_service
from taskrouter_emulator.workflows import service as workflow_service
from taskrouter_emulator.workspaces import service as workspace_service

Row = TypeVar("Row", Activity, TaskChannel, TaskQueue, Workflow, Worker)


@dataclass(frozen=True)
class _Kind:
    """How the loader finds one kind of resource: model, SID prefix, the name it is matched by."""

    key: str
    label: str
    model: Any
    prefix: Prefix
    name_column: Any
    display_attribute: str


ACTIVITIES = _Kind(
    "activities", "Activity", Activity, Prefix.ACTIVITY, Activity.friendly_name, "friendly_name"
)
TASK_CHANNELS = _Kind(
    "task_channels", "TaskChannel", TaskChannel, Prefix.TASK_CHANNEL, TaskChannel.unique_name,
    "unique_name",
)
TASK_QUEUES = _Kind(
    "task_queues", "TaskQueue", TaskQueue, Prefix.TASK_QUEUE, TaskQueue.friendly_name,
    "friendly_name",
)
WORKFLOWS = _Kind(
    "workflows", "Workflow", Workflow, Prefix.WORKFLOW, Workflow.friendly_name, "friendly_name"
)
# Worker names are unique case-insensitively: match on the lower-cased key.
WORKERS = _Kind(
    "workers", "Worker", Worker, Prefix.WORKER, Worker.friendly_name_key, "friendly_name"
)


@dataclass
class SeededWorkspace:
    """A workspace of the seed file: its SID, whether it was created, and its resources by name."""

    sid: str
    friendly_name: str
    created: bool
    activities: dict[str, str] = field(default_factory=dict)
    task_channels: dict[str, str] = field(default_factory=dict)
    task_queues: dict[str, str] = field(default_factory=dict)
    workflows: dict[str, str] = field(default_factory=dict)
    workers: dict[str, str] = field(default_factory=dict)


@dataclass
class SeedOutcome:
    """What a seed load found and created."""

    account_sid: str
    workspaces: list[SeededWorkspace] = field(default_factory=list)
    created: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("workspaces", "activities", "task_channels", "task_queues", "workflows", "workers"), 0
        )
    )


class _Loader:
    """One load of one seed file into one account."""

    def __init__(self, session: Session, clock: Clock, seed: SeedFile, account_sid: str) -> None:
        self.session = session
        self.clock = clock
        self.seed = seed
        self.outcome = SeedOutcome(account_sid=account_sid)

    @contextmanager
    def at(self, location: Location) -> Iterator[None]:
        """Prefix any refusal raised inside with the file location it concerns."""
        try:
            yield
        except TwilioError as exc:
            if exc.message.startswith("Seed file "):
                raise
            raise TwilioError(
                f"Seed file {self.seed.where(location)}: {exc.message}",
                code=exc.code,
                status=exc.status,
            ) from None

    def fail(self, location: Location, message: str) -> InvalidParameter:
        """Return a 400 for a problem at a place in the file."""
        return InvalidParameter(f"Seed file {self.seed.where(location)}: {message}")

    def check_sid(self, location: Location, sid: str | None, prefix: Prefix) -> None:
        """Refuse a fixed SID of the wrong kind."""
        if sid is not None and not is_sid(sid, prefix):
            raise self.fail(
                [*location, "sid"], f"'{sid}' is not a {prefix.value} SID ({prefix.value} + 32 hex digits)"
            )

    def run(self) -> SeedOutcome:
        """Load every workspace of the file."""
        for index, spec in enumerate(self.seed.document.workspaces):
            self.workspace(["workspaces", index], spec)
        return self.outcome

    def workspace(self, location: Location, spec: WorkspaceSeed) -> None:
        """Find or create one workspace, then its contents in dependency order."""
        account_sid = self.outcome.account_sid
        self.check_sid(location, spec.sid, Prefix.WORKSPACE)
        workspace = self._find_workspace(location, spec)
        created = workspace is None
        if workspace is None:
            with self.at(location):
                workspace = workspace_service.create(
                    self.session,
                    clock=self.clock,
                    account_sid=account_sid,
                    friendly_name=spec.friendly_name,
                    event_callback_url=spec.event_callback_url,
                    events_filter=(
                        ",".join(spec.events_filter)
                        if isinstance(spec.events_filter, list)
                        else spec.events_filter
                    ),
                    multi_task_enabled=spec.multi_task_enabled,
                    prioritize_queue_order=spec.prioritize_queue_order,
                    sid=spec.sid,
                )
            self.outcome.created["workspaces"] += 1
        workspace_lock(self.session, workspace.sid)
        seeded = SeededWorkspace(
            sid=workspace.sid, friendly_name=workspace.friendly_name, created=created
        )
        self.outcome.workspaces.append(seeded)
        self._activities(location, workspace, spec, seeded)
        if created and (spec.default_activity or spec.timeout_activity):
            with self.at(location):
                workspace_service.update(
                    self.session,
                    clock=self.clock,
                    workspace=workspace,
                    default_activity_sid=self._activity_sid(
                        [*location, "default_activity"], seeded, spec.default_activity
                    ),
                    timeout_activity_sid=self._activity_sid(
                        [*location, "timeout_activity"], seeded, spec.timeout_activity
                    ),
                )
        self._channels(location, workspace, spec, seeded)
        self._queues(location, workspace, spec, seeded)
        self._workflows(location, workspace, spec, seeded)
        self._workers(location, workspace, spec, seeded)

    def _find_workspace(self, location: Location, spec: WorkspaceSeed) -> Workspace | None:
        account_sid = self.outcome.account_sid
        if spec.sid is not None:
            workspace = self.session.scalars(
                select(Workspace).where(Workspace.sid == spec.sid)
            ).one_or_none()
            if workspace is not None and workspace.account_sid != account_sid:
                raise Conflict(
                    f"Seed file {self.seed.where([*location, 'sid'])}: "
                    f"Workspace {spec.sid} already exists in another account"
                )
            return workspace
        matches = list(
            self.session.scalars(
                select(Workspace).where(
                    Workspace.account_sid == account_sid,
                    Workspace.friendly_name == spec.friendly_name,
                )
            )
        )
        if len(matches) > 1:
            raise self.fail(
                [*location, "friendly_name"],
                f"{len(matches)} workspaces are named '{spec.friendly_name}'; give the `sid` to choose one",
            )
        return matches[0] if matches else None

    def _existing(
        self,
        location: Location,
        model: type[Row],
        workspace: Workspace,
        *,
        sid: str | None,
        name_column: Any,
        name: str,
        kind: str,
    ) -> Row | None:
        """Return the row the spec names (by SID, else by name), refusing a SID used elsewhere."""
        if sid is not None:
            row = self.session.scalars(select(model).where(model.sid == sid)).one_or_none()
            if row is not None and row.workspace_sid != workspace.sid:
                raise Conflict(
                    f"Seed file {self.seed.where([*location, 'sid'])}: "
                    f"{kind} {sid} already exists in another workspace"
                )
            if row is not None:
                return row
        found = self.session.scalars(
            select(model)
            .where(model.workspace_sid == workspace.sid, name_column == name)
            .order_by(model.id)
        ).first()
        if found is not None and sid is not None:
            raise Conflict(
                f"Seed file {self.seed.where([*location, 'sid'])}: "
                f"{kind} '{name}' already exists with SID {found.sid}"
            )
        return found

    def _ensure(
        self,
        location: Location,
        workspace: Workspace,
        kind: _Kind,
        *,
        name: str,
        sid: str | None,
        make: Callable[[], Any],
    ) -> str:
        """Return the SID of the resource a spec describes, creating it (and counting it) if missing."""
        self.check_sid(location, sid, kind.prefix)
        key = name.lower() if kind.model is Worker else name
        row = self._existing(
            location, kind.model, workspace, sid=sid, name_column=kind.name_column, name=key,
            kind=kind.label,
        )
        if row is not None:
            return str(row.sid)
        with self.at(location):
            created = make()
        self.outcome.created[kind.key] += 1
        return str(created.sid)

    def _known(self, workspace: Workspace, kind: _Kind) -> dict[str, str]:
        """Return the workspace's existing resources of a kind, name → SID (the oldest wins)."""
        names: dict[str, str] = {}
        for row in self.session.scalars(
            select(kind.model).where(kind.model.workspace_sid == workspace.sid).order_by(kind.model.id)
        ):
            names.setdefault(getattr(row, kind.display_attribute), row.sid)
        return names

    def _activities(
        self, location: Location, workspace: Workspace, spec: WorkspaceSeed, seeded: SeededWorkspace
    ) -> None:
        seeded.activities = self._known(workspace, ACTIVITIES)
        for index, item in enumerate(spec.activities):

            def make(item: Any = item) -> Any:
                return activity_service.create(
                    self.session, clock=self.clock, workspace=workspace,
                    friendly_name=item.friendly_name, available=item.available, sid=item.sid,
                )

            seeded.activities[item.friendly_name] = self._ensure(
                [*location, "activities", index], workspace, ACTIVITIES,
                name=item.friendly_name, sid=item.sid, make=make,
            )

    def _activity_sid(
        self, location: Location, seeded: SeededWorkspace, name_or_sid: str | None
    ) -> str | None:
        if name_or_sid is None:
            return None
        if is_sid(name_or_sid, Prefix.ACTIVITY):
            return name_or_sid
        sid = seeded.activities.get(name_or_sid)
        if sid is None:
            raise self.fail(location, f"no Activity named '{name_or_sid}' in this workspace")
        return sid

    def _channels(
        self, location: Location, workspace: Workspace, spec: WorkspaceSeed, seeded: SeededWorkspace
    ) -> None:
        seeded.task_channels = self._known(workspace, TASK_CHANNELS)
        for index, item in enumerate(spec.task_channels):

            def make(item: Any = item) -> Any:
                return channel_service.create(
                    self.session, clock=self.clock, workspace=workspace,
                    friendly_name=item.friendly_name or item.unique_name,
                    unique_name=item.unique_name,
                    channel_optimized_routing=item.channel_optimized_routing, sid=item.sid,
                )

            seeded.task_channels[item.unique_name] = self._ensure(
                [*location, "task_channels", index], workspace, TASK_CHANNELS,
                name=item.unique_name, sid=item.sid, make=make,
            )

    def _queues(
        self, location: Location, workspace: Workspace, spec: WorkspaceSeed, seeded: SeededWorkspace
    ) -> None:
        seeded.task_queues = self._known(workspace, TASK_QUEUES)
        for index, item in enumerate(spec.task_queues):
            where = [*location, "task_queues", index]

            def make(item: Any = item, where: Location = where) -> Any:
                return queue_service.create(
                    self.session, clock=self.clock, workspace=workspace,
                    friendly_name=item.friendly_name, target_workers=item.target_workers,
                    max_reserved_workers=item.max_reserved_workers, task_order=item.task_order,
                    reservation_activity_sid=self._activity_sid(
                        [*where, "reservation_activity"], seeded, item.reservation_activity
                    ),
                    assignment_activity_sid=self._activity_sid(
                        [*where, "assignment_activity"], seeded, item.assignment_activity
                    ),
                    sid=item.sid,
                )

            seeded.task_queues[item.friendly_name] = self._ensure(
                where, workspace, TASK_QUEUES, name=item.friendly_name, sid=item.sid, make=make
            )

    def _configuration(
        self, location: Location, seeded: SeededWorkspace, configuration: Mapping[str, Any] | str
    ) -> str:
        """Return the configuration as JSON text with queue names replaced by their SIDs."""
        if isinstance(configuration, str):
            try:
                document = json.loads(configuration)
            except json.JSONDecodeError as exc:
                raise self.fail(location, f"is not valid JSON: {exc.msg}") from None
        else:
            document = json.loads(json.dumps(configuration))
        routing = document.get("task_routing") if isinstance(document, dict) else None
        if isinstance(routing, dict):
            filters = routing.get("filters")
            for f_index, rule in enumerate(filters if isinstance(filters, list) else []):
                targets = rule.get("targets") if isinstance(rule, dict) else None
                for t_index, target in enumerate(targets if isinstance(targets, list) else []):
                    self._queue_reference(
                        [*location, "task_routing", "filters", f_index, "targets", t_index, "queue"],
                        seeded,
                        target,
                    )
            self._queue_reference(
                [*location, "task_routing", "default_filter", "queue"],
                seeded,
                routing.get("default_filter"),
            )
        return json.dumps(document)

    def _queue_reference(self, location: Location, seeded: SeededWorkspace, target: Any) -> None:
        if not isinstance(target, dict) or not isinstance(target.get("queue"), str):
            return
        queue = target["queue"]
        if is_sid(queue, Prefix.TASK_QUEUE):
            return
        sid = seeded.task_queues.get(queue)
        if sid is None:
            raise self.fail(location, f"no TaskQueue named '{queue}' in this workspace")
        target["queue"] = sid

    def _workflows(
        self, location: Location, workspace: Workspace, spec: WorkspaceSeed, seeded: SeededWorkspace
    ) -> None:
        seeded.workflows = self._known(workspace, WORKFLOWS)
        for index, item in enumerate(spec.workflows):
            where = [*location, "workflows", index]

            def make(item: Any = item, where: Location = where) -> Any:
                configuration = self._configuration(
                    [*where, "configuration"], seeded, item.configuration
                )
                with self.at([*where, "configuration"]):
                    return workflow_service.create(
                        self.session, clock=self.clock, workspace=workspace,
                        friendly_name=item.friendly_name, configuration=configuration,
                        assignment_callback_url=item.assignment_callback_url,
                        fallback_assignment_callback_url=item.fallback_assignment_callback_url,
                        task_reservation_timeout=item.task_reservation_timeout, sid=item.sid,
                    )

            seeded.workflows[item.friendly_name] = self._ensure(
                where, workspace, WORKFLOWS, name=item.friendly_name, sid=item.sid, make=make
            )

    def _workers(
        self, location: Location, workspace: Workspace, spec: WorkspaceSeed, seeded: SeededWorkspace
    ) -> None:
        seeded.workers = self._known(workspace, WORKERS)
        for index, item in enumerate(spec.workers):
            where = [*location, "workers", index]

            def make(item: Any = item, where: Location = where) -> Any:
                attributes = (
                    item.attributes
                    if item.attributes is None or isinstance(item.attributes, str)
                    else json.dumps(item.attributes)
                )
                worker = worker_service.create(
                    self.session, clock=self.clock, workspace=workspace,
                    friendly_name=item.friendly_name, attributes=attributes,
                    activity_sid=self._activity_sid([*where, "activity"], seeded, item.activity),
                    sid=item.sid,
                )
                for channel_name, setting in item.channels.items():
                    with self.at([*where, "channels", channel_name]):
                        channel, task_channel = worker_channels.get(
                            self.session, worker=worker, sid_or_name=channel_name
                        )
                        worker_channels.update(
                            self.session, clock=self.clock, workspace=workspace, worker=worker,
                            channel=channel, task_channel=task_channel,
                            capacity=setting.capacity, available=setting.available,
                        )
                return worker

            seeded.workers[item.friendly_name] = self._ensure(
                where, workspace, WORKERS, name=item.friendly_name, sid=item.sid, make=make
            )


def apply_seed(session: Session, *, clock: Clock, account_sid: str, seed: SeedFile) -> SeedOutcome:
    """Create what the seed file describes and the account lacks; return names → SIDs per workspace."""
    lock_account(session, account_sid)
    try:
        return _Loader(session, clock, seed, account_sid).run()
    except IntegrityError:
        # Only a concurrent load into another account can get here (fixed SIDs are checked first).
        raise Conflict(
            "Seed file: a fixed SID was taken by a concurrent request; load the file again"
        ) from None


def render(outcome: SeedOutcome) -> dict[str, Any]:
    """Return the JSON answer describing a seed load."""
    return {
        "account_sid": outcome.account_sid,
        "created": outcome.created,
        "workspaces": [
            {
                "sid": w.sid,
                "friendly_name": w.friendly_name,
                "created": w.created,
                "activities": w.activities,
                "task_channels": w.task_channels,
                "task_queues": w.task_queues,
                "workflows": w.workflows,
                "workers": w.workers,
            }
            for w in outcome.workspaces
        ],
    }
