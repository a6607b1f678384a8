"""One thread hop per request: dependencies and the endpoint's database work share one worker thread.

FastAPI runs every plain `def` dependency and endpoint in the thread pool, one hand-off each, and a
second one to validate a sync endpoint's return value. Each hand-off wakes a worker thread and then
the event loop (about 0.3-0.5 ms of CPU and latency on a small machine); a request with a session,
an account, a clock and a workspace made about eleven of them. Here dependencies that only read the
request are `async def` (no hand-off), the ones that touch the database return an `InThread`
deferred value, and `OneHopRoute` runs a sync endpoint in one worker thread that first resolves
those values, then calls the endpoint, then commits (or rolls back) the request's session, so the
response is sent only after the commit, as before.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

import anyio.to_thread
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

T = TypeVar("T")

_UNSET: Any = object()
# Set in `Session.info` once the request's transaction is finished in the worker thread.
FINISHED = "taskrouter_request_finished"


class InThread(Generic[T]):
    """A dependency's value computed in the endpoint's worker thread, once per request."""

    def __init__(self, compute: Callable[..., T], *args: Any) -> None:
        self._compute = compute
        self._args = args
        self._value: T = _UNSET

    def value(self) -> T:
        """Compute the value (resolving deferred arguments first) or return the one computed."""
        if self._value is _UNSET:
            self._value = self._compute(*(resolve(arg) for arg in self._args))
        return self._value

    def sessions(self) -> Iterator[Session]:
        """Yield the sessions this value is computed with."""
        for arg in self._args:
            if isinstance(arg, Session):
                yield arg
            elif isinstance(arg, InThread):
                yield from arg.sessions()


def resolve(value: Any) -> Any:
    """Return a dependency's value, computing it here if it was deferred."""
    return value.value() if isinstance(value, InThread) else value


def finish(session: Session, *, commit: bool) -> None:
    """Commit (or roll back) and close the request's session, once."""
    if session.info.get(FINISHED):
        return
    session.info[FINISHED] = True
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _request_sessions(values: dict[str, Any]) -> list[Session]:
    found: dict[int, Session] = {}
    for value in values.values():
        if isinstance(value, Session):
            found[id(value)] = value
        elif isinstance(value, InThread):
            found.update((id(s), s) for s in value.sessions())
    return list(found.values())


def _run(endpoint: Callable[..., Any], values: dict[str, Any]) -> Any:
    sessions = _request_sessions(values)
    try:
        result = endpoint(**{name: resolve(value) for name, value in values.items()})
    except BaseException:
        for session in sessions:
            finish(session, commit=False)
        raise
    for session in sessions:
        finish(session, commit=True)
    return result


def in_one_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a sync endpoint as a coroutine that runs it, its deferred dependencies and its commit
    in one worker thread; FastAPI sees the endpoint's own signature."""

    async def run_endpoint(**values: Any) -> Any:
        return await anyio.to_thread.run_sync(_run, endpoint, values)

    functools.update_wrapper(run_endpoint, endpoint, updated=())
    # FastAPI unwraps `__wrapped__` to tell sync from async: it must see this coroutine function,
    # with the endpoint's parameters and return type (annotations evaluated in its own module).
    del run_endpoint.__wrapped__  # type: ignore[attr-defined]
    run_endpoint.__signature__ = inspect.signature(endpoint, eval_str=True)  # type: ignore[attr-defined]
    return run_endpoint


class OneHopRoute(APIRoute):
    """A route whose sync endpoint costs one thread hand-off (see the module docstring)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not (
            inspect.iscoroutinefunction(endpoint)
            or inspect.isgeneratorfunction(endpoint)
            or inspect.isasyncgenfunction(endpoint)
        ):
            endpoint = in_one_thread(endpoint)
        super().__init__(path, endpoint, **kwargs)
