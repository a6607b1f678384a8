"""due-time partial indexes: the next_due_at refresh walks only the rows that can fall due

Revision ID: 6a9b1a2e7045
Revises: 8c4e2f1a9b37
Create Date: 2026-12-03 02:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6a9b1a2e7045"
down_revision: str | None = "8c4e2f1a9b37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, table, columns, predicate): the predicates are those of `scheduler/due_times._EARLIEST_DUE`.
_INDEXES = (
    (
        "ix_reservation_pending_timeout",
        "reservation",
        ["workspace_sid", "timeout_at"],
        "timeout_at IS NOT NULL AND reservation_status = 'pending'",
    ),
    (
        "ix_task_waiting_step_timeout",
        "task",
        ["workspace_sid", "step_timeout_at"],
        "step_timeout_at IS NOT NULL AND assignment_status IN ('pending', 'reserved')",
    ),
    (
        "ix_task_live_expiry",
        "task",
        ["workspace_sid", "expires_at"],
        "expires_at IS NOT NULL AND assignment_status IN ('pending', 'reserved', 'assigned', 'wrapping')",
    ),
)


def upgrade() -> None:
    for name, table, columns, predicate in _INDEXES:
        op.create_index(
            name,
            table,
            columns,
            postgresql_where=sa.text(predicate),
            sqlite_where=sa.text(predicate),
        )


def downgrade() -> None:
    for name, table, _columns, _predicate in _INDEXES:
        op.drop_index(name, table_name=table)
