"""The workflow `Configuration` document: strict parsing into typed routing rules.

A pure module (no database, no web framework): it checks the JSON shape of `task_routing`, that every
expression, `skip_if` and `order_by` parses, and the `known_worker_*` shape. Whether each queue exists
is the service's job, since that needs the database.

```
{"task_routing": {"filters": [{"filter_friendly_name": "...", "expression": "...",
                                "targets": [{"queue": "WQ…", "expression": "...", "priority": 5,
                                             "timeout": 30, "order_by": "worker.level DESC",
                                             "skip_if": "workers.available == 0",
                                             "known_worker_sid": "task.agent_sid"}]}],
                  "default_filter": {"queue": "WQ…"}}}
```
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from taskrouter_emulator.expressions import (
    Expression,
    ExpressionError,
    OrderClause,
    parse,
    parse_order_by,
)
from taskrouter_emulator.jsontext import loads_strict

# Twilio's limits page prints "1038576 bytes (1MB)".
MAX_CONFIGURATION_BYTES = 1038576
_SID = re.compile(r"^WQ[0-9a-fA-F]{32}$")
_TASK_PATH = re.compile(r"^task\.[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*|\[\d+\])*$")
_TARGET_KEYS = {
    "queue",
    "expression",
    "priority",
    "timeout",
    "order_by",
    "skip_if",
    "known_worker_sid",
    "known_worker_friendly_name",
}


class ConfigurationError(ValueError):
    """The configuration document is not a valid TaskRouter workflow configuration."""


@dataclass(frozen=True)
class Target:
    """One routing step: a queue plus optional narrowing, priority, deadline and ordering."""

    queue: str
    expression: Expression | None = None
    expression_text: str | None = None
    priority: int | None = None
    timeout: int | None = None
    order_by: tuple[OrderClause, ...] = ()
    skip_if: Expression | None = None
    known_worker_sid: str | None = None
    known_worker_friendly_name: str | None = None


@dataclass(frozen=True)
class Filter:
    """A filter: tasks matching `expression` work through `targets` in order."""

    name: str | None
    expression: Expression
    expression_text: str
    targets: tuple[Target, ...]


@dataclass(frozen=True)
class RoutingConfiguration:
    """The parsed `task_routing` section."""

    filters: tuple[Filter, ...]
    default_filter: Target | None

    def queue_sids(self) -> set[str]:
        """Return every queue SID the configuration routes to."""
        sids = {target.queue for f in self.filters for target in f.targets}
        if self.default_filter is not None:
            sids.add(self.default_filter.queue)
        return sids


def _expression(value: object, where: str) -> tuple[Expression, str]:
    if not isinstance(value, str):
        raise ConfigurationError(f"{where} must be a string")
    try:
        return parse(value), value
    except ExpressionError as exc:
        raise ConfigurationError(f"{where} is invalid: {exc}") from None


def _integer(value: object, where: str, *, minimum: int = 0) -> int:
    # The docs' skeleton quotes numbers ("priority": "<int>"), so numeric strings are accepted too.
    if isinstance(value, bool):
        raise ConfigurationError(f"{where} must be an integer")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise ConfigurationError(f"{where} must be an integer")
    if value < minimum:
        raise ConfigurationError(f"{where} must be at least {minimum}")
    return value


def _task_path(value: object, where: str) -> str:
    if not isinstance(value, str) or not _TASK_PATH.match(value.strip()):
        raise ConfigurationError(f"{where} must name a task attribute, e.g. 'task.agent_sid'")
    return value.strip()


def _target(raw: object, where: str) -> Target:
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{where} must be an object")
    unknown = set(raw) - _TARGET_KEYS
    if unknown:
        raise ConfigurationError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    queue = raw.get("queue")
    if not isinstance(queue, str) or not _SID.match(queue):
        raise ConfigurationError(f"{where}.queue must be a TaskQueue SID")
    expression, expression_text = (None, None)
    if raw.get("expression") is not None:
        expression, expression_text = _expression(raw["expression"], f"{where}.expression")
    order_by: tuple[OrderClause, ...] = ()
    if raw.get("order_by") is not None:
        if not isinstance(raw["order_by"], str):
            raise ConfigurationError(f"{where}.order_by must be a string")
        try:
            order_by = parse_order_by(raw["order_by"])
        except ExpressionError as exc:
            raise ConfigurationError(f"{where}.order_by is invalid: {exc}") from None
    skip_if = None
    if raw.get("skip_if") is not None:
        skip_if, _ = _expression(raw["skip_if"], f"{where}.skip_if")
    return Target(
        queue=queue,
        expression=expression,
        expression_text=expression_text,
        priority=_integer(raw["priority"], f"{where}.priority")
        if raw.get("priority") is not None
        else None,
        timeout=_integer(raw["timeout"], f"{where}.timeout", minimum=1)
        if raw.get("timeout") is not None
        else None,
        order_by=order_by,
        skip_if=skip_if,
        known_worker_sid=_task_path(raw["known_worker_sid"], f"{where}.known_worker_sid")
        if raw.get("known_worker_sid") is not None
        else None,
        known_worker_friendly_name=_task_path(
            raw["known_worker_friendly_name"], f"{where}.known_worker_friendly_name"
        )
        if raw.get("known_worker_friendly_name") is not None
        else None,
    )


def _filter(raw: object, index: int) -> Filter:
    where = f"task_routing.filters[{index}]"
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{where} must be an object")
    name = raw.get("filter_friendly_name", raw.get("friendly_name"))
    if name is not None and not isinstance(name, str):
        raise ConfigurationError(f"{where}.filter_friendly_name must be a string")
    if "expression" not in raw:
        raise ConfigurationError(f"{where}.expression is required")
    expression, text = _expression(raw["expression"], f"{where}.expression")
    targets = raw.get("targets")
    if not isinstance(targets, list) or not targets:
        raise ConfigurationError(f"{where}.targets must be a non-empty list")
    return Filter(
        name=name,
        expression=expression,
        expression_text=text,
        targets=tuple(_target(t, f"{where}.targets[{i}]") for i, t in enumerate(targets)),
    )


@lru_cache(maxsize=1024)
def parse_configuration(text: str) -> RoutingConfiguration:
    """Parse and validate a configuration document (cached by its text)."""
    if len(text.encode("utf-8")) > MAX_CONFIGURATION_BYTES:
        raise ConfigurationError(f"Configuration must be at most {MAX_CONFIGURATION_BYTES} bytes")
    try:
        document: Any = loads_strict(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"Configuration is not valid JSON: {exc.msg} at position {exc.pos}"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("task_routing"), dict):
        raise ConfigurationError("Configuration must be a JSON object with a 'task_routing' object")
    routing = document["task_routing"]
    raw_filters = routing.get("filters", [])
    if not isinstance(raw_filters, list):
        raise ConfigurationError("task_routing.filters must be a list")
    default = routing.get("default_filter")
    return RoutingConfiguration(
        filters=tuple(_filter(f, i) for i, f in enumerate(raw_filters)),
        default_filter=_target(default, "task_routing.default_filter")
        if default is not None
        else None,
    )


def fifo_configuration(queue_sid: str) -> str:
    """Return the configuration of the FIFO template's "Default Fifo Workflow"."""
    return json.dumps(
        {
            "task_routing": {
                "filters": [
                    {
                        "filter_friendly_name": "Default Filter",
                        "expression": "1==1",
                        "targets": [{"queue": queue_sid}],
                    }
                ],
                "default_filter": {"queue": queue_sid},
            }
        }
    )
