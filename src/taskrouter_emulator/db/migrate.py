"""Apply Alembic migrations programmatically (used by `serve`, `migrate` and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

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


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database to `revision`."""
    command.upgrade(alembic_config(database_url), revision)
