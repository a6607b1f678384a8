"""event statistics columns: typed copies of the event_data values statistics aggregate

Adds `task_age`, `task_queue_entered_date`, `worker_previous_activity_sid` and
`worker_time_in_previous_activity_ms` to `event`, fills them from `event_data` for the recorded events of
the types statistics read, and adds the partial indexes that hold them for the three event types whose values are
aggregated (so a window's waits and activity stays are read from an index, never parsed from JSON).
Creates `event_count` (events per 10-second bucket, type and task channel, for each workspace,
task queue and workflow) and fills it from the recorded events.

Revision ID: 7014aaec486f
Revises: 0d8ba30abb93
Create Date: 2026-12-02 16:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7014aaec486f"
down_revision: str | None = "0d8ba30abb93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INTEGER_KEYS = ("task_age", "task_queue_entered_date", "worker_time_in_previous_activity_ms")
BACKFILLED = {
    "reservation.accepted": ("task_age", "task_queue_entered_date"),
    "task.canceled": ("task_age", "task_queue_entered_date"),
    "worker.activity.update": (
        "worker_previous_activity_sid",
        "worker_time_in_previous_activity_ms",
    ),
}
WAIT_COLUMNS = [
    "workspace_sid",
    "event_date",
    "task_queue_sid",
    "workflow_sid",
    "task_channel_sid",
    "event_date_ms",
    "task_age",
    "task_queue_entered_date",
]
STAY_COLUMNS = [
    "workspace_sid",
    "event_date",
    "worker_sid",
    "event_date_ms",
    "worker_previous_activity_sid",
    "worker_time_in_previous_activity_ms",
]
INDEXES = (
    ("ix_event_accepted_waits", WAIT_COLUMNS, "reservation.accepted"),
    ("ix_event_canceled_waits", WAIT_COLUMNS, "task.canceled"),
    ("ix_event_activity_stays", STAY_COLUMNS, "worker.activity.update"),
)


def _backfill() -> None:
    """Copy the values out of `event_data` (stored as JSON text with string values)."""
    if op.get_bind().dialect.name == "sqlite":

        def value(key: str) -> str:
            return f"json_extract(event_data, '$.{key}')"

        integer = "CAST({} AS INTEGER)"
    else:

        def value(key: str) -> str:
            return f"(event_data::json ->> '{key}')"

        integer = "CAST({} AS BIGINT)"
    # Only the event types whose values statistics aggregate (a sixth of a busy log): rewriting
    # every task and reservation event would take minutes at a million events, for values
    # nothing reads. Events recorded from now on carry the columns whatever their type.
    for event_type, keys in BACKFILLED.items():
        assignments = [
            f"{key} = {integer.format(value(key)) if key in INTEGER_KEYS else value(key)}"
            for key in keys
        ]
        op.execute(f"UPDATE event SET {', '.join(assignments)} WHERE event_type = '{event_type}'")


def _count_events() -> None:
    """Fill `event_count` from the events already recorded (bucket: epoch seconds // 10)."""
    if op.get_bind().dialect.name == "sqlite":
        bucket = "CAST(strftime('%s', event_date) AS INTEGER) / 10"
    else:
        bucket = "CAST(floor(extract(epoch FROM event_date) / 10) AS BIGINT)"
    for scope in ("workspace_sid", "task_queue_sid", "workflow_sid"):
        op.execute(
            "INSERT INTO event_count "
            "(scope_sid, bucket, event_type, task_channel_sid, workspace_sid, count) "
            f"SELECT {scope}, {bucket}, event_type, COALESCE(task_channel_sid, ''), "
            f"workspace_sid, count(*) FROM event WHERE {scope} IS NOT NULL "
            "GROUP BY 1, 2, 3, 4, 5"
        )


def upgrade() -> None:
    op.create_table(
        "event_count",
        sa.Column("scope_sid", sa.String(length=34), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("task_channel_sid", sa.String(length=34), nullable=False),
        sa.Column("workspace_sid", sa.String(length=34), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope_sid", "bucket", "event_type", "task_channel_sid"),
    )
    op.create_index(
        "ix_event_count_workspace_bucket", "event_count", ["workspace_sid", "bucket"], unique=False
    )
    _count_events()
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("task_age", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("task_queue_entered_date", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("worker_previous_activity_sid", sa.String(length=34), nullable=True)
        )
        batch_op.add_column(
            sa.Column("worker_time_in_previous_activity_ms", sa.BigInteger(), nullable=True)
        )
    _backfill()
    for name, columns, event_type in INDEXES:
        predicate = sa.text(f"event_type = '{event_type}'")
        op.create_index(
            name,
            "event",
            columns,
            unique=False,
            postgresql_where=predicate,
            sqlite_where=predicate,
        )


def downgrade() -> None:
    op.drop_index("ix_event_count_workspace_bucket", table_name="event_count")
    op.drop_table("event_count")
    for name, _, _ in INDEXES:
        op.drop_index(name, table_name="event")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("worker_time_in_previous_activity_ms")
        batch_op.drop_column("worker_previous_activity_sid")
        batch_op.drop_column("task_queue_entered_date")
        batch_op.drop_column("task_age")
