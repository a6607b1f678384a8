"""queue members index and longest-idle worker index

Revision ID: 457970b001fd
Revises: 363b68f8091e
Create Date: 2026-12-02 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "457970b001fd"
down_revision: str | None = "363b68f8091e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "task_queue_member",
        sa.Column("task_queue_sid", sa.String(length=34), nullable=False),
        sa.Column("worker_sid", sa.String(length=34), nullable=False),
        sa.Column("workspace_sid", sa.String(length=34), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_queue_sid"],
            ["task_queue.sid"],
            name=op.f("fk_task_queue_member_task_queue_sid_task_queue"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["worker_sid"],
            ["worker.sid"],
            name=op.f("fk_task_queue_member_worker_sid_worker"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_sid"],
            ["workspace.sid"],
            name=op.f("fk_task_queue_member_workspace_sid_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_queue_sid", "worker_sid", name=op.f("pk_task_queue_member")),
    )
    op.create_index(
        "ix_task_queue_member_worker", "task_queue_member", ["worker_sid", "task_queue_sid"]
    )
    with op.batch_alter_table("task_queue", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("members_indexed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(
            "ix_task_queue_workspace_indexed", ["workspace_sid", "members_indexed"]
        )
    with op.batch_alter_table("worker", schema=None) as batch_op:
        batch_op.create_index("ix_worker_workspace_idle", ["workspace_sid", "idle_since", "id"])
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.create_index("ix_task_routing_target", ["routing_target", "assignment_status"])
    _backfill()


def _backfill() -> None:
    """Compute the members of existing queues (from then on the application maintains them)."""
    from taskrouter_emulator.expressions import evaluate
    from taskrouter_emulator.task_queues.members import indexable, static_document

    bind = op.get_bind()
    queue = sa.table(
        "task_queue",
        sa.column("sid"),
        sa.column("workspace_sid"),
        sa.column("target_workers"),
        sa.column("members_indexed"),
    )
    worker = sa.table(
        "worker",
        sa.column("sid"),
        sa.column("workspace_sid"),
        sa.column("friendly_name"),
        sa.column("attributes"),
    )
    member = sa.table(
        "task_queue_member",
        sa.column("task_queue_sid"),
        sa.column("worker_sid"),
        sa.column("workspace_sid"),
    )
    for queue_sid, workspace_sid, text in bind.execute(
        sa.select(queue.c.sid, queue.c.workspace_sid, queue.c.target_workers)
    ).all():
        expression = indexable(text)
        if expression is None:
            continue
        bind.execute(sa.update(queue).where(queue.c.sid == queue_sid).values(members_indexed=True))
        rows = [
            {"task_queue_sid": queue_sid, "worker_sid": sid, "workspace_sid": workspace_sid}
            for sid, name, attributes in bind.execute(
                sa.select(worker.c.sid, worker.c.friendly_name, worker.c.attributes).where(
                    worker.c.workspace_sid == workspace_sid
                )
            )
            if evaluate(
                expression,
                {"worker": static_document(sid=sid, friendly_name=name, attributes=attributes)},
                bare="worker",
            )
        ]
        if rows:
            bind.execute(sa.insert(member), rows)


def downgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_routing_target")
    with op.batch_alter_table("worker", schema=None) as batch_op:
        batch_op.drop_index("ix_worker_workspace_idle")
    with op.batch_alter_table("task_queue", schema=None) as batch_op:
        batch_op.drop_index("ix_task_queue_workspace_indexed")
        batch_op.drop_column("members_indexed")
    op.drop_index("ix_task_queue_member_worker", table_name="task_queue_member")
    op.drop_table("task_queue_member")
