"""workspace next_due_at and per-workspace due-time indexes

Revision ID: 5a1d0c9e7b21
Revises: c33429b1df28
Create Date: 2026-12-02 16:10:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import taskrouter_emulator.db.types

revision: str = "5a1d0c9e7b21"
down_revision: str | None = "c33429b1df28"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REPLACED = {
    "task": [
        ("ix_task_expires_at", "ix_task_workspace_expires_at", "expires_at"),
        ("ix_task_step_timeout_at", "ix_task_workspace_step_timeout_at", "step_timeout_at"),
        ("ix_task_delete_at", "ix_task_workspace_delete_at", "delete_at"),
    ],
    "reservation": [
        ("ix_reservation_timeout_at", "ix_reservation_workspace_timeout_at", "timeout_at"),
    ],
}


def upgrade() -> None:
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("next_due_at", taskrouter_emulator.db.types.UTCDateTime(), nullable=True)
        )
        batch_op.create_index("ix_workspace_next_due_at", ["next_due_at"], unique=False)
    for table, indexes in _REPLACED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for old, new, column in indexes:
                batch_op.drop_index(old)
                batch_op.create_index(new, ["workspace_sid", column], unique=False)
    # Existing workspaces may hold timers: mark them due now; the first scheduler tick fires what
    # is overdue and recomputes the exact value (an early value is harmless, a late one is not).
    epoch = sa.bindparam(
        "epoch", datetime(1970, 1, 1, tzinfo=UTC), type_=taskrouter_emulator.db.types.UTCDateTime()
    )
    op.execute(sa.text("UPDATE workspace SET next_due_at = :epoch").bindparams(epoch))


def downgrade() -> None:
    for table, indexes in _REPLACED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for old, new, column in indexes:
                batch_op.drop_index(new)
                batch_op.create_index(old, [column], unique=False)
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.drop_index("ix_workspace_next_due_at")
        batch_op.drop_column("next_due_at")
