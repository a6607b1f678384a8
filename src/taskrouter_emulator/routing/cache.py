"""What routing reads of a workspace's configuration, kept across requests per configuration version.

Every task-creating request read the workspace's task channels, activities, workflow and queue,
and parsed the workflow's configuration. They rarely change, so `RoutingContext.load` keeps them
here, keyed by the workspace's `config_version`, which the request reads with the workspace row
anyway. Any ORM change to a queue, workflow, activity or task channel gives its workspace a new
random version in the same transaction (`_new_versions`, after each flush), so once that commits
every process reads a version it has not cached and reads the rows again; a version rolled back is
never seen by anyone else. A transaction that changed the configuration itself neither reads nor
fills the cache, since its rows are not committed yet.

Entries hold detached copies of the rows, never a session's own objects (a rollback would expire
those under another request's feet); callers treat them as read-only. Nothing else writes these
four tables: the emulator's bulk tools delete whole workspaces, and a snapshot import gives the
workspaces it writes new versions.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Table, inspect, update
from sqlalchemy.event import listens_for
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm.attributes import set_committed_value

from taskrouter_emulator.models import Activity, TaskChannel, TaskQueue, Workflow, Workspace
from taskrouter_emulator.models.workspace import new_config_version
from taskrouter_emulator.workflows.configuration import RoutingConfiguration

CONFIGURATION_MODELS = (TaskQueue, Workflow, Activity, TaskChannel)
# Workspaces kept per process (least recently used dropped first).
MAX_WORKSPACES = 1024
_CHANGED = "taskrouter_configuration_changed"
_WORKSPACE: Table = Workspace.__table__  # type: ignore[assignment]

R = TypeVar("R", TaskQueue, Workflow, Activity, TaskChannel)


@dataclass
class Entry:
    """One workspace's configuration rows at one version (filled as requests need them)."""

    version: str
    channels: dict[str, TaskChannel] | None = None
    activities: dict[str, Activity] | None = None
    # Rows by SID; None records that the SID is not one of the workspace's.
    queues: dict[str, TaskQueue | None] = field(default_factory=dict)
    workflows: dict[str, Workflow | None] = field(default_factory=dict)
    # The SID of the workspace's only workflow ("" when it has none or several), once asked.
    only_workflow: str | None = None
    # The queues whose members are not indexed (`TaskQueue.members_indexed`), once asked.
    unindexed_queues: list[str] | None = None
    configurations: dict[str, RoutingConfiguration | None] = field(default_factory=dict)


_entries: OrderedDict[tuple[Any, str], Entry] = OrderedDict()
_lock = threading.Lock()


def entry(session: Session, workspace: Workspace) -> Entry | None:
    """Return the cache entry of the workspace's current configuration, or None when this
    transaction must read the rows itself (it changed them, or the workspace has no version)."""
    version = workspace.config_version
    if version is None:
        return None
    if session.new or session.dirty or session.deleted:
        session.flush()  # so that configuration changes still pending count as changes
    if workspace.sid in _changed_in(session):
        return None
    key = (session.get_bind().engine.url, workspace.sid)
    with _lock:
        found = _entries.get(key)
        if found is None or found.version != version:
            found = _entries[key] = Entry(version)
        _entries.move_to_end(key)
        while len(_entries) > MAX_WORKSPACES:
            _entries.popitem(last=False)
    return found


def detached(row: R) -> R:
    """Return a copy of a row that belongs to no session (its column values only)."""
    columns = inspect(type(row)).column_attrs
    return type(row)(**{column.key: getattr(row, column.key) for column in columns})


def detached_all(rows: Iterable[R]) -> dict[str, R]:
    """Return detached copies of rows, by SID."""
    return {row.sid: detached(row) for row in rows}


def _changed_in(session: Session) -> set[str]:
    """The workspaces whose configuration this transaction changed."""
    state = session.info.get(_CHANGED)
    if state is None or state[0] is not session.get_transaction():
        return set()
    changed: set[str] = state[1]
    return changed


@listens_for(Session, "after_flush")
def _new_versions(session: Session, _flush: UOWTransaction) -> None:
    """Give a new configuration version to every workspace whose configuration this flush changed."""
    changed = {
        instance.workspace_sid
        for instance in (*session.new, *session.dirty, *session.deleted)
        if isinstance(instance, CONFIGURATION_MODELS)
    }
    if not changed:
        return
    transaction = session.get_transaction()
    state = session.info.get(_CHANGED)
    if state is None or state[0] is not transaction:
        state = session.info[_CHANGED] = (transaction, set[str]())
    state[1].update(changed)
    versions = {sid: new_config_version() for sid in changed}
    connection = session.connection()
    for sid in sorted(versions):
        connection.execute(
            update(_WORKSPACE).where(_WORKSPACE.c.sid == sid).values(config_version=versions[sid])
        )
    # A session that lives on after this commit must see the new version on its workspace object.
    for instance in session.identity_map.values():
        if isinstance(instance, Workspace) and instance.sid in versions:
            set_committed_value(instance, "config_version", versions[instance.sid])
