"""event bridge sessions

Revision ID: ae2e077ecd65
Revises: 7014aaec486f
Create Date: 2026-12-02 16:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import taskrouter_emulator.db.types

revision: str = "ae2e077ecd65"
down_revision: str | None = "7014aaec486f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bridge_session",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("workspace_sid", sa.String(length=34), nullable=False),
        sa.Column("worker_sid", sa.String(length=34), nullable=False),
        sa.Column(
            "opened_at", taskrouter_emulator.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "seen_at", taskrouter_emulator.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("close_requested", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sid"),
    )
    op.create_index("ix_bridge_session_worker_sid", "bridge_session", ["worker_sid"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_bridge_session_worker_sid", table_name="bridge_session")
    op.drop_table("bridge_session")
