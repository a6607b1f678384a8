"""emulator tools: injected faults, rate windows, indexes that let reset and snapshots avoid scans

Revision ID: 0d8ba30abb93
Revises: 8c2f4e6a9d13
Create Date: 2026-12-02 16:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import taskrouter_emulator.db.types

revision: str = "0d8ba30abb93"
down_revision: str | None = "8c2f4e6a9d13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "emulator_fault",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("operation", sa.String(length=64), nullable=True),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=True),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column(
            "date_created", taskrouter_emulator.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emulator_fault")),
    )
    op.create_index("ix_emulator_fault_account_sid", "emulator_fault", ["account_sid", "id"])
    op.create_table(
        "emulator_rate_window",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("theoretical_arrival", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_emulator_rate_window")),
    )
    op.create_index("ix_event_account_sid", "event", ["account_sid"])
    op.create_index("ix_worker_channel_workspace_sid", "worker_channel", ["workspace_sid"])
    op.create_index(
        "ix_webhook_delivery_account_id", "webhook_delivery", ["account_sid", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_delivery_account_id", table_name="webhook_delivery")
    op.drop_index("ix_worker_channel_workspace_sid", table_name="worker_channel")
    op.drop_index("ix_event_account_sid", table_name="event")
    op.drop_table("emulator_rate_window")
    op.drop_index("ix_emulator_fault_account_sid", table_name="emulator_fault")
    op.drop_table("emulator_fault")
