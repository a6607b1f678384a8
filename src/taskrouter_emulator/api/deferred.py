"""Routers imported on first use: the one place where the app imports modules lazily.

Importing every router when `serve` starts (their schemas and services, and FastAPI's analysis of
each route) was about a quarter of the time to the first answered request. A router declared as
`Deferred` holds its place in the app's route list with a placeholder that matches nothing; the
`LoadDeferred` middleware, in front of the router, imports it as soon as a request's path could
reach it and puts the real routes where the placeholder stood, so routes match in the same order
as if every router had been included at start-up. Asking for the OpenAPI document loads them all.

A `Deferred` router's `paths` must match every path its routes serve (with or without a trailing
slash, which the router redirects); matching more only loads it earlier. tests/test_deferred_routers.py
checks this against the routers' routes, and tests/test_layering.py counts the modules named here
as imports of the module that declares them.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette._utils import get_route_path
from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import ASGIApp, Receive, Scope, Send


class Deferred(BaseRoute):
    """The place of the router `module.router` in the app's routes until a request needs it."""

    def __init__(self, module: str, paths: str) -> None:
        self.module = module
        self.paths = re.compile(paths)

    def matches(self, _scope: Scope) -> tuple[Match, Scope]:
        """Match nothing: `LoadDeferred` replaces this before a request could reach the router."""
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """Name no route (none is loaded yet)."""
        raise NoMatchFound(name, path_params)

    async def handle(self, _scope: Scope, _receive: Receive, _send: Send) -> None:
        """Never called: a route that matches nothing handles nothing."""
        raise RuntimeError(f"{self.module} was not loaded")


class DeferredRouters:
    """The `Deferred` placeholders among an app's routes, and their loading.

    `after_load` runs once the routes change (the method guards are recomputed from all routes).
    """

    def __init__(self, app: FastAPI, *, after_load: Callable[[FastAPI], None]) -> None:
        self._app = app
        self._after_load = after_load
        self._lock = threading.Lock()
        self._pending = tuple(route for route in app.router.routes if isinstance(route, Deferred))

    @property
    def pending(self) -> bool:
        """Tell whether some router is still deferred."""
        return bool(self._pending)

    def load_for(self, path: str) -> None:
        """Load every router that may serve `path` (a route path, without the root path)."""
        self._load([d for d in self._pending if d.paths.fullmatch(path)])

    def load_all(self) -> None:
        """Load every router still deferred."""
        self._load(list(self._pending))

    def _load(self, wanted: list[Deferred]) -> None:
        if not wanted:
            return
        with self._lock:
            loaded = [d for d in wanted if d in self._pending]
            for placeholder in loaded:
                self._replace(placeholder, importlib.import_module(placeholder.module).router)
            self._pending = tuple(d for d in self._pending if d not in loaded)
            if loaded:
                self._after_load(self._app)

    def _replace(self, placeholder: Deferred, router: APIRouter) -> None:
        # The app's lifespan may have started: a router with its own would be half set up.
        assert not router.on_startup, placeholder.module
        assert not router.on_shutdown, placeholder.module
        routes = self._app.router.routes
        end = len(routes)
        self._app.include_router(router)
        included = routes[end:]
        del routes[end:]
        index = next(i for i, route in enumerate(routes) if route is placeholder)
        routes[index : index + 1] = included


class LoadDeferred:
    """ASGI middleware: load the deferred routers a request's path may reach, then pass it on."""

    def __init__(self, app: ASGIApp, *, routers: DeferredRouters) -> None:
        self.app = app
        self.routers = routers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.routers.pending and scope["type"] in ("http", "websocket"):
            self.routers.load_for(get_route_path(scope))
        await self.app(scope, receive, send)


def openapi_with_every_router(
    app: FastAPI, routers: DeferredRouters
) -> Callable[[], dict[str, Any]]:
    """Return `app.openapi` loading every deferred router first, so the document lists them all."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        routers.load_all()
        return build()

    return openapi
