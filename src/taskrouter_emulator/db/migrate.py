"""Apply Alembic migrations programmatically (used by `serve`, `migrate` and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from taskrouter_emulator.db.engine import normalise_url


def _migrations_dir() -> Path:
    here = Path(__file__).resolve().parent.parent
    installed = here / "_migrations"  # inside a wheel
    if installed.is_dir():
        return installed
    return here.parent.parent / "migrations"  # source checkout


def alembic_config(database_url: str) -> Config:
    """Return an Alembic config pointing at the bundled migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(_migrations_dir()))
    config.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    return config


def is_current(database_url: str) -> bool:
    """Tell whether the database is already at the newest revision (a cheap check for startup)."""
    config = alembic_config(database_url)
    heads = set(ScriptDirectory.from_config(config).get_heads())
    engine = create_engine(normalise_url(database_url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads()) == heads
    finally:
        engine.dispose()


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database to `revision` (nothing to do, and no Alembic logging, when it is current)."""
    if revision == "head" and is_current(database_url):
        return
    command.upgrade(alembic_config(database_url), revision)
