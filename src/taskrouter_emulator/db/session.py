"""Session factories: one transaction per request, and `unit_of_work()` for background code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from taskrouter_emulator.config import LifecycleConfig
from taskrouter_emulator.scheduler import due_times

_CONFIG = "taskrouter_emulator.lifecycle_config"


def make_sessionmaker(engine: Engine, *, config: LifecycleConfig) -> sessionmaker[Session]:
    """Return the session factory used by requests and background jobs; its sessions carry `config`."""
    factory = sessionmaker(
        bind=engine, expire_on_commit=False, autoflush=True, info={_CONFIG: config}
    )
    due_times.install(factory)
    return factory


def lifecycle_config(session: Session) -> LifecycleConfig:
    """Return the lifecycle configuration of a session made by `make_sessionmaker`."""
    config = session.info.get(_CONFIG)
    if not isinstance(config, LifecycleConfig):
        raise RuntimeError(
            "the session was not made by make_sessionmaker: it has no LifecycleConfig"
        )
    return config


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Run a block in one transaction: commit on success, roll back on any exception."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
