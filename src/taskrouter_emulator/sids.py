"""Twilio SIDs: a two-letter prefix and 32 lower-case hex digits."""

from __future__ import annotations

import re
import uuid
from enum import StrEnum


class Prefix(StrEnum):
    """The SID prefix of each resource."""

    ACCOUNT = "AC"
    WORKSPACE = "WS"
    ACTIVITY = "WA"
    WORKER = "WK"
    WORKER_CHANNEL = "WC"
    TASK_QUEUE = "WQ"
    WORKFLOW = "WW"
    TASK = "WT"
    RESERVATION = "WR"
    TASK_CHANNEL = "TC"
    EVENT = "EV"
    API_KEY = "SK"
    CALL = "CA"


_SID_RE = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")


def new_sid(prefix: Prefix) -> str:
    """Return a fresh random SID with the given prefix."""
    return f"{prefix}{uuid.uuid4().hex}"


def is_sid(value: str, prefix: Prefix | None = None) -> bool:
    """Tell whether `value` is a well-formed SID (of the given prefix, if any)."""
    if not _SID_RE.match(value):
        return False
    return prefix is None or value[:2] == prefix.value
