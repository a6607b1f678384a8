"""A mixed read/write workload on one workspace, and the consistency check that follows it.

Shared by `benchmarks/load_benchmark.py` (256 connections for 60 s against `serve`) and
`tests/sdk/test_load.py` (a bounded run against the suite's live server). Every connection loops
until the deadline, each time picking one operation at random: creating tasks, accepting, rejecting
and completing reservations, changing worker activities, and list/fetch/statistics reads. Each HTTP
request is recorded with its status (or why it got none) and its latency.

Write operations race with each other on purpose (two connections may try to accept the same
reservation), so 4xx answers to writes are expected and counted; reads of existing resources must
always answer 200, and nothing may answer 5xx or stay unanswered.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

WORKERS = 20
CAPACITY = 2  # of every worker's "default" channel; all tasks are created on it
OPEN_STATUSES = ("pending", "accepted", "wrapping")  # reservations that take a worker's capacity
ASSIGNED_STATUSES = ("accepted", "wrapping", "completed")  # a task given to this worker
RECOVERY_SECONDS = 120.0  # how long the check after the load waits for the server to answer


@dataclass(frozen=True)
class Outcome:
    """One HTTP request of the run: its operation, status (None: no answer) and latency."""

    operation: str
    read: bool
    status: int | None
    # When status is None: "hung" (timed out) or "dropped:<httpx error>" (connection lost).
    failure: str | None
    seconds: float
    body: str = ""  # the start of the answer, kept for 5xx only


@dataclass
class Scenario:
    """The workspace under load and what the operations pick from."""

    workspace_sid: str
    workflow_sid: str
    worker_sids: list[str]
    available_sid: str
    unavailable_sid: str
    task_sids: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        """Return the workspace's path."""
        return f"/v1/Workspaces/{self.workspace_sid}"


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of already sorted values (0.0 if there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class LoadResult:
    """Everything the run recorded, and the figures derived from it."""

    outcomes: list[Outcome]
    seconds: float
    connections: int
    answering_again_after: float | None = None  # seconds after the load until a fetch answered

    def answered(self) -> list[Outcome]:
        """Return the requests that got an HTTP answer."""
        return [o for o in self.outcomes if o.status is not None]

    def unanswered(self) -> list[Outcome]:
        """Return the requests that timed out or lost their connection."""
        return [o for o in self.outcomes if o.status is None]

    def failures(self, kind: str) -> int:
        """Return how many requests got no answer for this reason ("hung" or "dropped")."""
        return sum(1 for o in self.unanswered() if o.failure and o.failure.startswith(kind))

    def server_errors(self) -> list[Outcome]:
        """Return the requests answered with a 5xx status."""
        return [o for o in self.outcomes if o.status is not None and o.status >= 500]

    def failed_reads(self) -> list[Outcome]:
        """Return the reads that did not answer 200 (reads only touch existing resources)."""
        return [o for o in self.outcomes if o.read and o.status is not None and o.status != 200]

    def report(self) -> list[str]:
        """Return the printable summary: totals, statuses, latencies, per operation."""
        latencies = sorted(o.seconds for o in self.answered())
        statuses = Counter(str(o.status) if o.status else o.failure for o in self.outcomes)
        lines = [
            f"connections={self.connections} duration={self.seconds:.1f}s "
            f"requests={len(self.outcomes)} ({len(self.outcomes) / self.seconds:.1f}/s)",
            "statuses: " + ", ".join(f"{k}={v}" for k, v in sorted(statuses.items())),
            (
                f"latency (answered): p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
                f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, "
                f"max {latencies[-1] * 1000:.1f} ms"
                if latencies
                else "latency: no request was answered"
            ),
            f"5xx: {len(self.server_errors())}, hung: {self.failures('hung')}, "
            f"dropped: {self.failures('dropped')}, "
            f"reads not 200: {len(self.failed_reads())}",
            "answering again after the load: "
            + (
                f"{self.answering_again_after:.1f} s"
                if self.answering_again_after is not None
                else "no"
            ),
            *(
                f"first {status} answer: {body}"
                for status, body in {
                    o.status: o.body for o in reversed(self.server_errors())
                }.items()
            ),
            "per operation (count, statuses, p50/p99 ms):",
        ]
        by_operation: dict[str, list[Outcome]] = defaultdict(list)
        for outcome in self.outcomes:
            by_operation[outcome.operation].append(outcome)
        for name, outcomes in sorted(by_operation.items()):
            times = sorted(o.seconds for o in outcomes if o.status is not None)
            counts = Counter(str(o.status) if o.status else o.failure for o in outcomes)
            lines.append(
                f"  {name:<28} {len(outcomes):>7}  "
                + " ".join(f"{k}={v}" for k, v in sorted(counts.items()))
                + f"  {percentile(times, 0.5) * 1000:.1f}/{percentile(times, 0.99) * 1000:.1f}"
            )
        return lines


class _Recorder:
    """Sends requests and records an Outcome for each."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.outcomes: list[Outcome] = []

    async def send(
        self, operation: str, method: str, url: str, data: dict[str, str] | None = None
    ) -> httpx.Response | None:
        """Send one request; return the response, or None if none came."""
        started = time.perf_counter()
        status: int | None = None
        failure: str | None = None
        response: httpx.Response | None = None
        try:
            response = await self.http.request(method, url, data=data)
            status = response.status_code
        except httpx.TimeoutException:
            failure = "hung"
        except httpx.TransportError as exc:
            failure = f"dropped:{type(exc).__name__}"
        elapsed = time.perf_counter() - started
        body = response.text[:300] if status is not None and status >= 500 else ""
        self.outcomes.append(Outcome(operation, method == "GET", status, failure, elapsed, body))
        return response


async def _checked(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> Any:
    response = await http.request(method, url, **kwargs)
    if response.status_code >= 300:
        raise RuntimeError(f"{method} {url} answered {response.status_code}: {response.text}")
    return response.json()


async def _all_pages(http: httpx.AsyncClient, url: str, key: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        page = await _checked(http, "GET", next_url)
        items.extend(page[key])
        next_url = page["meta"]["next_page_url"]
    return items


async def prepare(http: httpx.AsyncClient, *, workers: int = WORKERS) -> Scenario:
    """Create the workspace (FIFO template), its Available workers and their capacity."""
    workspace = await _checked(
        http, "POST", "/v1/Workspaces", data={"FriendlyName": "Load", "Template": "FIFO"}
    )
    base = f"/v1/Workspaces/{workspace['sid']}"
    activities = {
        a["friendly_name"]: a["sid"]
        for a in await _all_pages(http, f"{base}/Activities", "activities")
    }
    workflows = await _all_pages(http, f"{base}/Workflows", "workflows")

    async def create_worker(number: int) -> str:
        worker = await _checked(
            http, "POST", f"{base}/Workers",
            data={"FriendlyName": f"agent-{number}", "ActivitySid": activities["Available"]},
        )  # fmt: skip
        await _checked(
            http, "POST", f"{base}/Workers/{worker['sid']}/Channels/default",
            data={"Capacity": str(CAPACITY)},
        )  # fmt: skip
        return str(worker["sid"])

    return Scenario(
        workspace_sid=workspace["sid"],
        workflow_sid=workflows[0]["sid"],
        worker_sids=list(await asyncio.gather(*(create_worker(n) for n in range(workers)))),
        available_sid=activities["Available"],
        unavailable_sid=activities["Unavailable"],
    )


Operation = Callable[[_Recorder, Scenario, random.Random], Awaitable[None]]


async def _create_task(rec: _Recorder, sc: Scenario, rng: random.Random) -> None:
    attributes = json.dumps({"type": "support", "n": rng.randrange(1_000_000)})
    response = await rec.send(
        "create task", "POST", f"{sc.base}/Tasks",
        {"WorkflowSid": sc.workflow_sid, "Attributes": attributes, "TaskChannel": "default"},
    )  # fmt: skip
    if response is not None and response.status_code == 201:
        sc.task_sids.append(response.json()["sid"])


async def _worker_reservation(
    rec: _Recorder, sc: Scenario, rng: random.Random, status: str
) -> tuple[str, dict[str, Any]] | None:
    worker = rng.choice(sc.worker_sids)
    response = await rec.send(
        f"list {status} reservations",
        "GET",
        f"{sc.base}/Workers/{worker}/Reservations?ReservationStatus={status}",
    )
    if response is None or response.status_code != 200:
        return None
    reservations = response.json()["reservations"]
    return (worker, rng.choice(reservations)) if reservations else None


async def _answer_reservation(
    rec: _Recorder, sc: Scenario, rng: random.Random, operation: str, answer: str
) -> None:
    found = await _worker_reservation(rec, sc, rng, "pending")
    if found:
        worker, reservation = found
        await rec.send(
            operation, "POST",
            f"{sc.base}/Workers/{worker}/Reservations/{reservation['sid']}",
            {"ReservationStatus": answer},
        )  # fmt: skip


async def _accept(rec: _Recorder, sc: Scenario, rng: random.Random) -> None:
    await _answer_reservation(rec, sc, rng, "accept reservation", "accepted")


async def _reject(rec: _Recorder, sc: Scenario, rng: random.Random) -> None:
    await _answer_reservation(rec, sc, rng, "reject reservation", "rejected")


async def _complete(rec: _Recorder, sc: Scenario, rng: random.Random) -> None:
    found = await _worker_reservation(rec, sc, rng, "accepted")
    if found:
        await rec.send(
            "complete task", "POST", f"{sc.base}/Tasks/{found[1]['task_sid']}",
            {"AssignmentStatus": "completed", "Reason": "done"},
        )  # fmt: skip


async def _change_activity(rec: _Recorder, sc: Scenario, rng: random.Random) -> None:
    activity = sc.available_sid if rng.random() < 0.7 else sc.unavailable_sid
    data = {"ActivitySid": activity}
    if rng.random() < 0.5:
        data["RejectPendingReservations"] = "true"
    await rec.send(
        "change activity", "POST", f"{sc.base}/Workers/{rng.choice(sc.worker_sids)}", data
    )


def _read(name: str, path: str | Callable[[Scenario, random.Random], str]) -> Operation:
    """Return an operation that GETs `path` (below the workspace; a callable picks it per call)."""

    async def read(rec: _Recorder, sc: Scenario, rng: random.Random) -> None:
        await rec.send(name, "GET", f"{sc.base}{path if isinstance(path, str) else path(sc, rng)}")

    return read


def _a_task(sc: Scenario, rng: random.Random) -> str:
    # Fetch one of the tasks created so far (the workspace itself until there is one).
    return f"/Tasks/{rng.choice(sc.task_sids)}" if sc.task_sids else ""


# Operation weights: about half the operations write.
OPERATIONS: list[tuple[Operation, int]] = [
    (_create_task, 20),
    (_accept, 14),
    (_reject, 4),
    (_complete, 12),
    (_change_activity, 5),
    (_read("fetch workspace", ""), 8),
    (_read("list workers", "/Workers?PageSize=50"), 8),
    (_read("list tasks", "/Tasks?PageSize=50"), 6),
    (_read("fetch task", _a_task), 8),
    (_read("fetch worker", lambda sc, rng: f"/Workers/{rng.choice(sc.worker_sids)}"), 5),
    (_read("realtime statistics", "/RealTimeStatistics"), 6),
    (_read("cumulative statistics", "/CumulativeStatistics"), 2),
    (_read("list task queues", "/TaskQueues"), 2),
]


async def run_load(
    http: httpx.AsyncClient, scenario: Scenario, *, connections: int, duration: float, seed: int = 9
) -> LoadResult:
    """Run `connections` concurrent loops of random operations for `duration` seconds.

    No operation starts after the deadline; those in flight are awaited (up to the client's
    timeout, after which they count as hung).
    """
    recorder = _Recorder(http)
    operations = [operation for operation, _ in OPERATIONS]
    weights = [weight for _, weight in OPERATIONS]
    started = time.perf_counter()
    deadline = started + duration

    async def connection(number: int) -> None:
        rng = random.Random(seed * 100_003 + number)
        while time.perf_counter() < deadline:
            await rng.choices(operations, weights)[0](recorder, scenario, rng)

    await asyncio.gather(*(connection(n) for n in range(connections)))
    return LoadResult(recorder.outcomes, time.perf_counter() - started, connections)


def load_client(
    base_url: str, auth: tuple[str, str], *, connections: int, timeout: float
) -> httpx.AsyncClient:
    """Return an HTTP client with one pooled connection per concurrent loop.

    The pool never makes a request wait (a loop has one request in flight at a time), so a
    timeout measures the server alone.
    """
    return httpx.AsyncClient(
        base_url=base_url,
        auth=auth,
        timeout=httpx.Timeout(timeout, pool=None),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


async def check_consistency(http: httpx.AsyncClient, scenario: Scenario) -> list[str]:
    """Read the final state through the API; return every violated invariant (empty: consistent).

    No task accepted by two reservations, at most one pending reservation per task (the workflow
    reserves one worker at a time), task statuses that agree with their reservations, and no worker
    channel holding more open reservations than its capacity.
    """
    base = scenario.base
    tasks = {t["sid"]: t for t in await _all_pages(http, f"{base}/Tasks?PageSize=1000", "tasks")}
    reservations: list[dict[str, Any]] = []
    channels: dict[str, list[dict[str, Any]]] = {}
    for worker in scenario.worker_sids:
        reservations += await _all_pages(
            http, f"{base}/Workers/{worker}/Reservations?PageSize=1000", "reservations"
        )
        channels[worker] = await _all_pages(http, f"{base}/Workers/{worker}/Channels", "channels")

    problems: list[str] = []
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for reservation in reservations:
        by_task[reservation["task_sid"]].append(reservation)
    for task_sid, task_reservations in by_task.items():
        statuses = Counter(r["reservation_status"] for r in task_reservations)
        if sum(statuses[s] for s in ASSIGNED_STATUSES) > 1:
            problems.append(f"task {task_sid} assigned more than once: {dict(statuses)}")
        if statuses["pending"] > 1:
            problems.append(
                f"task {task_sid} reserved for several workers at once: {dict(statuses)}"
            )
    for task_sid, task in tasks.items():
        statuses = Counter(r["reservation_status"] for r in by_task.get(task_sid, []))
        state = task["assignment_status"]
        if state == "pending" and any(statuses[s] for s in OPEN_STATUSES):
            problems.append(f"pending task {task_sid} has open reservations: {dict(statuses)}")
        if state == "reserved" and statuses["pending"] != 1:
            problems.append(
                f"reserved task {task_sid} without one pending reservation: {dict(statuses)}"
            )
        if state in ("assigned", "wrapping") and statuses["accepted"] + statuses["wrapping"] != 1:
            problems.append(
                f"{state} task {task_sid} without one accepted reservation: {dict(statuses)}"
            )

    open_per_channel: Counter[tuple[str, str]] = Counter()
    for reservation in reservations:
        task = tasks.get(reservation["task_sid"])
        if task and reservation["reservation_status"] in OPEN_STATUSES:
            open_per_channel[(reservation["worker_sid"], task["task_channel_unique_name"])] += 1
    for worker, worker_channels in channels.items():
        for channel in worker_channels:
            held = open_per_channel[(worker, channel["task_channel_unique_name"])]
            if (
                held > channel["configured_capacity"]
                or channel["assigned_tasks"] > channel["configured_capacity"]
            ):
                problems.append(
                    f"worker {worker} over capacity on {channel['task_channel_unique_name']}: "
                    f"{held} open reservations, {channel['assigned_tasks']} assigned, "
                    f"capacity {channel['configured_capacity']}"
                )
    return problems


async def seconds_until_answering(
    http: httpx.AsyncClient, scenario: Scenario, *, limit: float
) -> float | None:
    """Return how long the server took to answer a fetch of the workspace again (None: not in `limit`).

    After heavy load a stalled server may take a while; the consistency check waits for it.
    """
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < limit:
        try:
            if (
                await http.get(scenario.base, timeout=max(1.0, limit - elapsed))
            ).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    return None


async def run_and_check(
    base_url: str, auth: tuple[str, str], *, connections: int, duration: float, timeout: float
) -> tuple[LoadResult, list[str]]:
    """Prepare a workspace, load it, then check its consistency; return the result and problems.

    A server that cannot be read back afterwards (no answer within RECOVERY_SECONDS, or an error
    status) is reported as a problem, not raised, so the load figures are never lost.
    """
    async with httpx.AsyncClient(base_url=base_url, auth=auth, timeout=timeout) as setup:
        scenario = await prepare(setup)
    async with load_client(base_url, auth, connections=connections, timeout=timeout) as http:
        result = await run_load(http, scenario, connections=connections, duration=duration)
    # A loaded server may still be working through requests whose clients gave up: give it time.
    patience = max(timeout, RECOVERY_SECONDS)
    async with httpx.AsyncClient(base_url=base_url, auth=auth, timeout=patience) as check:
        result.answering_again_after = await seconds_until_answering(
            check, scenario, limit=patience
        )
        if result.answering_again_after is None:
            return result, [f"the server did not answer within {patience:.0f} s after the load"]
        try:
            problems = await check_consistency(check, scenario)
        except (httpx.HTTPError, RuntimeError) as exc:
            problems = [f"the consistency check could not read the state: {exc!r}"]
    return result, problems
