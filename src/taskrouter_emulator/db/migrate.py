"""Apply Alembic migrations programmatically (used by `serve`, `migrate` and the tests)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from taskrouter_emulator.db.engine import normalise_url

if TYPE_CHECKING:
    from alembic.config import Config

# The newest migration. Starting on a database already at this revision needs no Alembic at all,
# which keeps it (and Mako) out of the server's memory (about 10 MB) and its start-up time.
# tests/test_migrations_head.py checks this against the migrations directory.
HEAD_REVISION = "6a9b1a2e7045"


def _migrations_dir() -> Path:
    here = Path(__file__).resolve().parent.parent
    installed = here / "_migrations"  # inside a wheel
    if installed.is_dir():
        return installed
    return here.parent.parent / "migrations"  # source checkout


def alembic_config(database_url: str) -> Config:
    """Return an Alembic config pointing at the bundled migrations and the given database."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_migrations_dir()))
    config.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    return config


def is_current(database_url: str) -> bool:
    """Tell whether the database is already at the newest revision (a cheap check for startup)."""
    engine = create_engine(normalise_url(database_url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return False
            versions = connection.execute(text("SELECT version_num FROM alembic_version"))
            return {row[0] for row in versions} == {HEAD_REVISION}
    finally:
        engine.dispose()


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database to `revision` (nothing to do, and no Alembic logging, when it is current)."""
    if revision == "head" and is_current(database_url):
        return
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)
