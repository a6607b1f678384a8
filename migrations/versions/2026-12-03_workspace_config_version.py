"""workspace config_version: the routing configuration cache's key

Revision ID: 8c4e2f1a9b37
Revises: 457970b001fd
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8c4e2f1a9b37"
down_revision: str | None = "457970b001fd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.add_column(sa.Column("config_version", sa.String(length=32), nullable=True))
    # A distinct version for every existing workspace (a NULL one would simply never be cached).
    workspace = sa.table("workspace", sa.column("sid", sa.String), sa.column("config_version", sa.String))
    connection = op.get_bind()
    sids = [row[0] for row in connection.execute(sa.select(workspace.c.sid))]
    for sid in sids:
        connection.execute(
            workspace.update().where(workspace.c.sid == sid).values(config_version=uuid.uuid4().hex)
        )


def downgrade() -> None:
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.drop_column("config_version")
