"""Application factory: routers, error handlers, database and clock."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import anyio.to_thread
from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline

from taskrouter_emulator import __version__
from taskrouter_emulator.admin.router import router as admin_router
from taskrouter_emulator.api.deferred import (
    Deferred,
    DeferredRouters,
    LoadDeferred,
    openapi_with_every_router,
)
from taskrouter_emulator.api.methods import guard_fixed_paths
from taskrouter_emulator.api.read_cache import KeptAnswers, ReadCache
from taskrouter_emulator.api.write_gate import Admission, WriteGate
from taskrouter_emulator.auth import Authenticator
from taskrouter_emulator.callbacks import outbox
from taskrouter_emulator.callbacks.delivery import Dispatcher
from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.clocks import Clocks
from taskrouter_emulator.config import LifecycleConfig, Settings
from taskrouter_emulator.db.checkpoint import WalCheckpointer
from taskrouter_emulator.db.data_version import data_version_for
from taskrouter_emulator.db.engine import (
    ADMITTED_REQUESTS,
    REQUEST_THREADS,
    SATURATION_TIMEOUT,
    is_sqlite,
    make_engine,
    read_engine,
)
from taskrouter_emulator.db.migrate import upgrade
from taskrouter_emulator.db.notify import OUTBOX_CHANNEL, Listener
from taskrouter_emulator.db.session import make_sessionmaker, unit_of_work
from taskrouter_emulator.emulator_tools.faults.middleware import FaultInjection
from taskrouter_emulator.emulator_tools.faults.presence import FaultPresence
from taskrouter_emulator.emulator_tools.limits.middleware import RateLimits
from taskrouter_emulator.errors import register_error_handlers
from taskrouter_emulator.scheduler.runner import Scheduler
from taskrouter_emulator.workspaces.router import router as workspaces_router

logger = logging.getLogger(__name__)

_IN_WORKSPACE = "/v1/Workspaces/[^/]+"
# Every router in matching order (`/Workers/Statistics` before `/Workers/{sid}`). Only the first
# two are imported with the app; the others on the first request whose path matches the pattern
# (api/deferred.py), which keeps them out of the time `serve` takes to answer.
ROUTERS: tuple[APIRouter | Deferred, ...] = (
    admin_router,
    workspaces_router,
    Deferred("taskrouter_emulator.activities.router", f"{_IN_WORKSPACE}/Activities(?:/.*)?"),
    Deferred("taskrouter_emulator.task_channels.router", f"{_IN_WORKSPACE}/TaskChannels(?:/.*)?"),
    Deferred(
        "taskrouter_emulator.statistics.router", f"{_IN_WORKSPACE}/(?:.*/)?[A-Za-z]*Statistics/?"
    ),
    Deferred("taskrouter_emulator.workers.router", f"{_IN_WORKSPACE}/Workers(?:/.*)?"),
    Deferred("taskrouter_emulator.task_queues.router", f"{_IN_WORKSPACE}/TaskQueues(?:/.*)?"),
    Deferred("taskrouter_emulator.workflows.router", f"{_IN_WORKSPACE}/Workflows(?:/.*)?"),
    Deferred("taskrouter_emulator.tasks.router", f"{_IN_WORKSPACE}/Tasks(?:/.*)?"),
    Deferred(
        "taskrouter_emulator.reservations.router",
        f"{_IN_WORKSPACE}/(?:Tasks|Workers)/[^/]+/Reservations(?:/.*)?",
    ),
    Deferred("taskrouter_emulator.events.router", f"{_IN_WORKSPACE}/Events(?:/.*)?"),
    Deferred("taskrouter_emulator.emulator_tools.reset.router", "/emulator/reset/?"),
    Deferred("taskrouter_emulator.emulator_tools.snapshots.router", "/emulator/snapshot/?"),
    Deferred("taskrouter_emulator.emulator_tools.seeding.router", "/emulator/seed/?"),
    Deferred("taskrouter_emulator.emulator_tools.faults.router", "/emulator/faults(?:/.*)?"),
    Deferred("taskrouter_emulator.bridge.router", "/v1/wschannels(?:/.*)?"),
    Deferred("taskrouter_emulator.inspector.router", "/|/emulator/ui(?:/.*)?"),
)


def create_app(settings: Settings | None = None, *, clock: EmulatorClock | None = None) -> FastAPI:
    """Build the emulator app for the given settings (migrating the database first unless disabled).

    `clock` replaces the server's base time source (tests inject a frozen one).
    """
    settings = settings or Settings()
    if settings.run_migrations:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    config = LifecycleConfig.from_settings(settings)
    factory = make_sessionmaker(engine, config=config)
    read_factory = make_sessionmaker(read_engine(engine), config=config)
    checkpointer = WalCheckpointer(engine) if is_sqlite(settings.database_url) else None
    kept_answers = KeptAnswers()
    # One server process per SQLite database: it sees every change to the faults (presence.py).
    # On PostgreSQL the accounts with faults are read with each data version (no query of their own).
    fault_presence = FaultPresence(sees_every_change=is_sqlite(settings.database_url))
    data_version = data_version_for(engine, riders=[fault_presence])
    if is_sqlite(settings.database_url):
        fault_presence.install(factory)
    # `clock` is the base time source (real time unless a test injects one it moves); each account's
    # time is stored in the database on top of it (clocks.py).
    clocks = Clocks(clock or EmulatorClock(), default_frozen=settings.clock == "frozen")
    if settings.auth_token is not None:
        with unit_of_work(factory) as session:
            clocks.ensure(session, settings.account_sid)

    scheduler = (
        Scheduler(
            factory,
            clocks,
            settings.scheduler_interval,
            webhook_retention=timedelta(hours=settings.webhook_retention_hours),
            read_factory=read_factory,
        )
        if settings.scheduler_interval > 0
        else None
    )
    authenticator = Authenticator(settings, factory, clocks)
    dispatcher = (
        Dispatcher(settings, factory, clocks, authenticator)
        if settings.webhook_workers > 0
        else None
    )

    listener = None
    if dispatcher is not None:
        outbox.on_commit(factory, dispatcher.wake)
        if not is_sqlite(settings.database_url):
            listener = Listener(settings.database_url, {OUTBOX_CHANNEL: dispatcher.wake})

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The engine's pool holds a connection for each of these threads (db/engine.py).
        anyio.to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS
        if scheduler is not None:
            scheduler.start()
        if dispatcher is not None:
            dispatcher.start()
        if listener is not None:
            listener.start()
        if checkpointer is not None:
            checkpointer.start()
        yield
        if checkpointer is not None:
            checkpointer.stop()
        if listener is not None:
            listener.stop()
        if dispatcher is not None:
            dispatcher.stop()
        if scheduler is not None:
            scheduler.stop()
        await data_version.close()
        engine.dispose()

    # Swagger UI's script and styles are served from the installed package: the docs work offline.
    app = FastAPIOffline(
        title="taskrouter-emulator",
        version=__version__,
        lifespan=lifespan,
        docs_url="/emulator/docs",
        redoc_url=None,
        openapi_url="/emulator/openapi.json",
        swagger_ui_oauth2_redirect_url="/emulator/docs/oauth2-redirect",
        static_url="/emulator/docs/assets",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = factory
    app.state.read_sessionmaker = read_factory
    app.state.clocks = clocks
    app.state.authenticator = authenticator
    app.state.scheduler = scheduler
    app.state.fault_presence = fault_presence
    app.state.kept_answers = kept_answers
    app.state.data_version = data_version
    for router in ROUTERS:
        if isinstance(router, Deferred):
            app.router.routes.append(router)
        else:
            app.include_router(router)
    deferred = DeferredRouters(app, after_load=guard_fixed_paths)
    app.openapi = openapi_with_every_router(app, deferred)  # type: ignore[method-assign]
    app.add_middleware(LoadDeferred, routers=deferred)
    register_error_handlers(app)
    # Innermost first: admission (no more requests inside than pool threads), the read cache (kept
    # answers need no admission), the write gate (writes queue per workspace before taking an
    # admission slot), then faults and rate limits (which apply to kept answers too).
    app.add_middleware(Admission, limit=ADMITTED_REQUESTS, timeout=SATURATION_TIMEOUT)
    app.add_middleware(ReadCache, answers=kept_answers)
    app.add_middleware(WriteGate, single_writer=is_sqlite(settings.database_url))
    app.add_middleware(RateLimits)
    app.add_middleware(FaultInjection)
    guard_fixed_paths(app)
    return app
