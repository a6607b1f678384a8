"""Find a workspace's child resource by SID: the one query every resource's `get` shares."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskrouter_emulator.api.urls import child_path
from taskrouter_emulator.errors import ResourceNotFound
from taskrouter_emulator.models import Activity, Task, TaskQueue, Worker, Workflow
from taskrouter_emulator.sids import Prefix, is_sid

M = TypeVar("M", Activity, TaskQueue, Workflow, Task, Worker)


def in_workspace(session: Session, model: type[M], *, workspace_sid: str, sid: str) -> M | None:
    """Return the workspace's row of `model` with this SID, if any."""
    return session.scalars(
        select(model).where(model.sid == sid, model.workspace_sid == workspace_sid)
    ).one_or_none()


def get_in_workspace(
    session: Session, model: type[M], *, workspace_sid: str, sid: str, prefix: Prefix, segment: str
) -> M:
    """Return the row for a path SID, or 404 (a malformed SID is simply not found)."""
    found = (
        in_workspace(session, model, workspace_sid=workspace_sid, sid=sid)
        if is_sid(sid, prefix)
        else None
    )
    if found is None:
        raise ResourceNotFound(child_path(workspace_sid, segment, sid))
    return found
