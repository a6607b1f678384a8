"""The start-up check's idea of the newest migration matches the migrations directory."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from taskrouter_emulator.db.migrate import HEAD_REVISION, alembic_config


def test_head_revision_is_the_only_head_of_the_migrations() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert script.get_heads() == [HEAD_REVISION]
