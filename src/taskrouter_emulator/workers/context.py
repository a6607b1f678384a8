"""The variables an expression sees for a worker: its attributes plus the built-in worker fields.

Queue `target_workers`, the Workers list's `TargetWorkersExpression`, the TaskQueues list's
`WorkerSid` filter and the routing engine all evaluate expressions against this one shape, so they
always agree on who matches.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ChannelState:
    """A worker's live figures on one task channel, as `worker.channel.<unique_name>.*` exposes them."""

    configured_capacity: int
    assigned_tasks: int
    available: bool
    available_capacity_percentage: int


def parse_attributes(text: str) -> dict[str, Any]:
    """Decode stored attributes JSON (always a JSON object; validated on write)."""
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


def worker_variables(
    *,
    sid: str,
    friendly_name: str,
    attributes: Mapping[str, Any],
    activity_sid: str,
    activity_name: str,
    channels: Mapping[str, ChannelState] | None = None,
) -> dict[str, Any]:
    """Return the worker document: attributes, overridden by the built-in fields of the same name."""
    document = dict(attributes)
    document.update(sid=sid, friendly_name=friendly_name, activity_sid=activity_sid, activity_name=activity_name)
    if channels is not None:
        document["channel"] = {
            name: {
                "configured_capacity": state.configured_capacity,
                "assigned_tasks": state.assigned_tasks,
                "available": state.available,
                "available_capacity_percentage": state.available_capacity_percentage,
            }
            for name, state in channels.items()
        }
    return document
