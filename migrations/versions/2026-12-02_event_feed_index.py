"""event feed index: a workspace's events in id order, for the inspector's live feed

Revision ID: 363b68f8091e
Revises: ae2e077ecd65
Create Date: 2026-12-02 16:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "363b68f8091e"
down_revision: str | None = "ae2e077ecd65"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index("ix_event_workspace_id", ["workspace_sid", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index("ix_event_workspace_id")
