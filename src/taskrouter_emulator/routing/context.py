"""What one routing decision needs loaded once: the workspace's queues, workflows, channels, activities.

They come from `routing.cache` when this process has read them at the workspace's current
configuration version, so a request usually reads none of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskrouter_emulator import lookup
from taskrouter_emulator.clock import Clock
from taskrouter_emulator.config import LifecycleConfig
from taskrouter_emulator.db.session import lifecycle_config
from taskrouter_emulator.expressions import time_variables
from taskrouter_emulator.models import Activity, Task, TaskChannel, TaskQueue, Workflow, Workspace
from taskrouter_emulator.routing import cache
from taskrouter_emulator.workflows.configuration import (
    ConfigurationError,
    RoutingConfiguration,
    Target,
    parse_configuration,
)


@lru_cache(maxsize=65536)
def cached_attributes(text: str) -> dict[str, Any]:
    """Decode an attributes document once per distinct text (callers must not mutate the result)."""
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


M = TypeVar("M", TaskQueue, Workflow)


class RowsBySid(Generic[M]):
    """A workspace's queues or workflows, loaded one SID at a time as the pass needs them.

    Routing one task touches one queue and one workflow; loading all 5,000 queues a workspace may
    have for every request would dominate the cost.
    """

    def __init__(
        self,
        session: Session,
        model: type[M],
        workspace_sid: str,
        shared: dict[str, M | None] | None = None,
    ) -> None:
        self._session = session
        self._model: type[M] = model
        self._workspace_sid = workspace_sid
        self._rows: dict[str, M | None] = {}
        # The cache entry's rows (detached copies), read before the database and filled from it.
        self._shared: dict[str, M | None] | None = shared

    def get(self, sid: str) -> M | None:
        """Return the row with this SID in the workspace, or None."""
        if not sid:
            return None
        if sid in self._rows:
            return self._rows[sid]
        shared = self._shared
        row: M | None
        if shared is not None and sid in shared:
            row = shared[sid]
        else:
            row = lookup.in_workspace(
                self._session, self._model, workspace_sid=self._workspace_sid, sid=sid
            )
            if shared is not None:
                shared[sid] = cache.detached(row) if row is not None else None
        self._rows[sid] = row
        return row

    def get_many(self, sids: Iterable[str]) -> dict[str, M]:
        """Return the rows with these SIDs in the workspace (the ones not known yet in one query)."""
        wanted = {sid for sid in sids if sid}
        shared = self._shared if self._shared is not None else {}
        missing = [sid for sid in wanted if sid not in self._rows and sid not in shared]
        if missing:
            model = self._model
            found = {
                row.sid: row
                for row in self._session.scalars(
                    select(model).where(
                        model.sid.in_(missing), model.workspace_sid == self._workspace_sid
                    )
                )
            }
            for sid in missing:
                row = found.get(sid)
                self._rows[sid] = row
                if self._shared is not None:
                    self._shared[sid] = cache.detached(row) if row is not None else None
        rows = {sid: self.get(sid) for sid in wanted}
        return {sid: row for sid, row in rows.items() if row is not None}

    def __contains__(self, sid: object) -> bool:
        return isinstance(sid, str) and self.get(sid) is not None

    def only(self) -> M | None:
        """Return the workspace's single row when there is exactly one."""
        model = self._model
        rows = list(
            self._session.scalars(
                select(model).where(model.workspace_sid == self._workspace_sid).limit(2)
            )
        )
        if len(rows) != 1:
            return None
        self._rows.setdefault(rows[0].sid, rows[0])
        return self._rows[rows[0].sid]


@dataclass
class RoutingContext:
    """A snapshot of a workspace's configuration, loaded once per routing pass.

    `config` is the process's lifecycle configuration, taken from the session (`make_sessionmaker`).
    """

    session: Session
    clock: Clock
    config: LifecycleConfig
    workspace: Workspace
    now: datetime
    queues: RowsBySid[TaskQueue]
    workflows: RowsBySid[Workflow]
    channels: dict[str, TaskChannel]
    activities: dict[str, Activity]
    _configurations: dict[str, RoutingConfiguration | None] = field(default_factory=dict)

    _entry: cache.Entry | None = None

    @classmethod
    def load(cls, session: Session, *, clock: Clock, workspace: Workspace) -> RoutingContext:
        """Load the workspace's queues, workflows, channels and activities (from the cache if it has them)."""
        sid = workspace.sid
        entry = cache.entry(session, workspace)
        if entry is None:
            channels = _channels(session, sid)
            activities = _activities(session, sid)
        else:
            if entry.channels is None:
                entry.channels = cache.detached_all(_channels(session, sid).values())
            if entry.activities is None:
                entry.activities = cache.detached_all(_activities(session, sid).values())
            channels, activities = dict(entry.channels), dict(entry.activities)
        return cls(
            session=session,
            clock=clock,
            config=lifecycle_config(session),
            workspace=workspace,
            now=clock.now(),
            queues=RowsBySid(session, TaskQueue, sid, entry.queues if entry else None),
            workflows=RowsBySid(session, Workflow, sid, entry.workflows if entry else None),
            channels=channels,
            activities=activities,
            _configurations=entry.configurations if entry is not None else {},
            _entry=entry,
        )

    def unindexed_queues(self) -> list[str]:
        """Return the workspace's queues whose members are evaluated per candidate (not indexed)."""
        entry = self._entry
        if entry is not None and entry.unindexed_queues is not None:
            return entry.unindexed_queues
        found = list(
            self.session.scalars(
                select(TaskQueue.sid).where(
                    TaskQueue.workspace_sid == self.workspace.sid,
                    TaskQueue.members_indexed.is_(False),
                )
            )
        )
        if entry is not None:
            entry.unindexed_queues = found
        return found

    def only_workflow(self) -> Workflow | None:
        """Return the workspace's single workflow when it has exactly one."""
        entry = self._entry
        if entry is not None and entry.only_workflow is not None:
            return self.workflows.get(entry.only_workflow) if entry.only_workflow else None
        found = self.workflows.only()
        if entry is not None:
            entry.only_workflow = found.sid if found is not None else ""
        return found

    def configuration(self, workflow_sid: str | None) -> RoutingConfiguration | None:
        """Return the parsed configuration of a workflow (None if unknown)."""
        if workflow_sid is None:
            return None
        if workflow_sid not in self._configurations:
            workflow = self.workflows.get(workflow_sid)
            try:
                self._configurations[workflow_sid] = (
                    parse_configuration(workflow.configuration) if workflow else None
                )
            except ConfigurationError:
                self._configurations[workflow_sid] = None
        return self._configurations[workflow_sid]

    def target_of(self, task: Task) -> Target | None:
        """Return the workflow target (routing step) the task is currently in, if any."""
        configuration = self.configuration(task.workflow_sid)
        if configuration is None or task.filter_index is None or task.target_index is None:
            return None
        if task.filter_index < 0:
            return configuration.default_filter
        if task.filter_index >= len(configuration.filters):
            return None
        targets = configuration.filters[task.filter_index].targets
        return targets[task.target_index] if task.target_index < len(targets) else None

    def channel_name(self, channel_sid: str) -> str | None:
        """Return a task channel's unique name."""
        channel = self.channels.get(channel_sid)
        return channel.unique_name if channel else None

    def task_variables(self, task: Task) -> dict[str, Any]:
        """Return the variables for expressions about a task: `task.*` and `taskrouter.*`."""
        return {"task": cached_attributes(task.attributes), "taskrouter": time_variables(self.now)}


def _channels(session: Session, workspace_sid: str) -> dict[str, TaskChannel]:
    return {
        c.sid: c
        for c in session.scalars(
            select(TaskChannel).where(TaskChannel.workspace_sid == workspace_sid)
        )
    }


def _activities(session: Session, workspace_sid: str) -> dict[str, Activity]:
    return {
        a.sid: a
        for a in session.scalars(select(Activity).where(Activity.workspace_sid == workspace_sid))
    }
