"""account clocks: each account's emulated time, shared by every server process

Revision ID: 8c2f4e6a9d13
Revises: 5a1d0c9e7b21
Create Date: 2026-12-02 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import taskrouter_emulator.db.types

revision: str = "8c2f4e6a9d13"
down_revision: str | None = "5a1d0c9e7b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_clock",
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("frozen_at", taskrouter_emulator.db.types.UTCDateTime(), nullable=True),
        sa.Column("offset_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_sid", name=op.f("pk_account_clock")),
    )


def downgrade() -> None:
    op.drop_table("account_clock")
