"""405 for fixed-name paths that a `{sid}` sibling would otherwise swallow.

`POST …/Workers/Statistics` matches `POST …/Workers/{sid}` (a worker update) and would answer 404
for a malformed SID. RFC 9110 wants 405 with `Allow` for a path that exists under other methods, so
every path whose last segment is a fixed name with a parameterised sibling gets a guard route for
the methods it does not serve, placed before all others.
"""

from __future__ import annotations

from collections import defaultdict

from fastapi import FastAPI, Request
from starlette.routing import BaseRoute, Route

from taskrouter_emulator.errors import MethodNotAllowed, leaf_routes

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


class MethodGuard(Route):
    """A route that answers 405 with the methods its path really serves."""

    guards_method = True

    def __init__(self, path: str, allowed: set[str]) -> None:
        async def refuse(request: Request) -> None:
            raise MethodNotAllowed(request.method, request.url.path, allowed)

        guarded = [m for m in _METHODS if m not in allowed]
        super().__init__(path, refuse, methods=guarded, include_in_schema=False)
        # Starlette adds HEAD to any route serving GET; keep it only when HEAD is not served.
        self.methods = set(guarded)


def guard_fixed_paths(app: FastAPI) -> None:
    """Insert a `MethodGuard` for each fixed-name path that has a `{parameter}` sibling.

    Guards inserted before are replaced: this runs again when deferred routers are loaded.
    """
    routes = app.router.routes
    routes[:] = [route for route in routes if not isinstance(route, MethodGuard)]
    served: dict[str, set[str]] = defaultdict(set)
    for route in leaf_routes(routes):
        methods = getattr(route, "methods", None)
        path = getattr(route, "path", None)
        if methods and path:
            served[path].update(methods)
    parameterised_parents = {
        path.rsplit("/", 1)[0] for path in served if _is_parameter(path.rsplit("/", 1)[1])
    }
    guards: list[BaseRoute] = [
        MethodGuard(path, methods)
        for path, methods in sorted(served.items())
        if not _is_parameter(path.rsplit("/", 1)[1])
        and path.rsplit("/", 1)[0] in parameterised_parents
    ]
    routes[:0] = guards


def _is_parameter(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")
