"""Twilio's request-rate limits, enforced when TASKROUTER_STRICT_LIMITS is true.

Twilio limits some endpoints per Workspace and answers 429/20429 beyond the limit (§1.11 and §11 of
the reference): the three expression-filter list endpoints at 3 requests per second and bulk queue
real-time statistics at 5. How Twilio counts is not documented; this uses GCRA (a leaky bucket that
allows a burst of `rate` requests and then one every 1/rate seconds), the most plausible reading of
"N requests per second". Rate state is kept in the database, so several processes share one budget,
and runs on wall-clock time: like webhook retries it is infrastructure, not emulated time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from taskrouter_emulator.models import RateWindow


@dataclass(frozen=True)
class RateLimit:
    """One limited endpoint: Twilio's key name, method, path and (optional) query parameter."""

    name: str
    method: str
    path: re.Pattern[str]
    parameter: str | None
    per_second: int


_WS = r"^/v1/Workspaces/(WS[0-9a-fA-F]{32})"
RATE_LIMITS = (
    RateLimit(
        "Task-List-EvaluateTaskAttributes", "GET", re.compile(_WS + r"/Tasks/?$"),
        "EvaluateTaskAttributes", 3,
    ),
    RateLimit(
        "Worker-List-TargetWorkersExpression", "GET", re.compile(_WS + r"/Workers/?$"),
        "TargetWorkersExpression", 3,
    ),
    RateLimit(
        "TaskQueue-List-EvaluateWorkerAttributes", "GET", re.compile(_WS + r"/TaskQueues/?$"),
        "EvaluateWorkerAttributes", 3,
    ),
    RateLimit(
        "TaskQueue-BulkRealTimeStatistics", "POST",
        re.compile(_WS + r"/TaskQueues/RealTimeStatistics/?$"), None, 5,
    ),
)


def limit_for(method: str, path: str, query_names: set[str]) -> tuple[RateLimit, str] | None:
    """Return the rate limit a request falls under and its workspace SID, if any."""
    for limit in RATE_LIMITS:
        if limit.method != method:
            continue
        match = limit.path.match(path)
        if match and (limit.parameter is None or limit.parameter in query_names):
            return limit, match.group(1)
    return None


def admit(session: Session, *, key: str, per_second: int, now: float) -> bool:
    """Spend one request of the key's budget (GCRA); return False when the budget is exhausted."""
    interval = 1.0 / per_second
    tolerance = interval * (per_second - 1)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(RateWindow)
        .values(key=key, theoretical_arrival=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    window = session.scalars(
        select(RateWindow).where(RateWindow.key == key).with_for_update()
    ).one()
    arrival = max(window.theoretical_arrival, now)
    if arrival - now > tolerance + 1e-9:
        return False
    window.theoretical_arrival = arrival + interval
    return True
