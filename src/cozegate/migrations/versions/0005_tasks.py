"""tasks and task_events: the background task service (seed 004) and its replayable events

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "task_events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("task_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_events")),
        sa.UniqueConstraint("task_id", "seq", name="uq_task_events_task_seq")
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("api_key_id", sa.BigInteger(), nullable=True),
        sa.Column("key_name", sa.String(length=128), nullable=True),
        sa.Column("group_ratio_ppm", sa.Integer(), nullable=False),
        sa.Column("price", sa.JSON(), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("save_as_task", sa.Boolean(), nullable=False),
        sa.Column("workflow_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("input_parameters", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("conversation_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=True),
        sa.Column("channel_id", sa.BigInteger(), nullable=True),
        sa.Column("channel_name", sa.String(length=128), nullable=True),
        sa.Column("execute_id", sa.String(length=64), nullable=True),
        sa.Column("logid", sa.String(length=64), nullable=True),
        sa.Column("debug_url", sa.Text(), nullable=True),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_code", sa.BigInteger(), nullable=True),
        sa.Column("interrupt", sa.JSON(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("cost", sa.BigInteger(), nullable=True),
        sa.Column("settled", sa.Boolean(), nullable=False),
        sa.Column("polls", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("callback_url", sa.Text(), nullable=True),
        sa.Column("callback_secret", sa.Text(), nullable=True),
        sa.Column("callback_state", sa.String(length=16), nullable=True),
        sa.Column("callback_attempts", sa.Integer(), nullable=False),
        sa.Column("callback_next_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("callback_error", sa.Text(), nullable=True),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("api_key_id", "idempotency_key", name="uq_tasks_key_idempotency")
    )
    op.create_index("ix_tasks_callback", "tasks", ["callback_state", "callback_next_at"])
    op.create_index(op.f("ix_tasks_run_id"), "tasks", ["run_id"])
    op.create_index(op.f("ix_tasks_settled"), "tasks", ["settled"])
    op.create_index("ix_tasks_status_lease", "tasks", ["status", "lease_expires_at"])
    op.create_index("ix_tasks_user_created", "tasks", ["user_id", "created_at"])


def downgrade() -> None:
    for name in ("ix_tasks_user_created", "ix_tasks_status_lease", "ix_tasks_callback"):
        op.drop_index(name, table_name="tasks")
    for name in ("ix_tasks_settled", "ix_tasks_run_id"):
        op.drop_index(op.f(name), table_name="tasks")
    op.drop_table("tasks")
    op.drop_table("task_events")
