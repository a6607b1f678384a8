"""Alembic environment: migrates SQLite (in batch mode) or PostgreSQL with the models' metadata."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine, pool

from taskrouter_emulator.db.engine import normalise_url
from taskrouter_emulator.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""
if config.config_file_name is not None and os.environ.get("TASKROUTER_DATABASE_URL"):
    # Run from the command line (`alembic upgrade head`): honour the emulator's own setting.
    url = os.environ["TASKROUTER_DATABASE_URL"]
url = normalise_url(url)
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
