"""runs: every workflow / chat-flow run on every surface, with its full output

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("api_key_id", sa.BigInteger(), nullable=True),
        sa.Column("key_name", sa.String(128), nullable=True),
        sa.Column("surface", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("workflow_id", sa.String(64), nullable=False),
        sa.Column("model", sa.String(255), nullable=True),
        sa.Column("channel_id", sa.BigInteger(), nullable=True),
        sa.Column("channel_name", sa.String(128), nullable=True),
        sa.Column("task_id", sa.String(40), nullable=True),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("is_async", sa.Boolean(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_code", sa.BigInteger(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("usage_estimated", sa.Boolean(), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("execute_id", sa.String(64), nullable=True),
        sa.Column("conversation_id", sa.String(64), nullable=True),
        sa.Column("logid", sa.String(64), nullable=True),
        sa.Column("debug_url", sa.Text(), nullable=True),
        sa.Column("interrupt", sa.JSON(), nullable=True),
        sa.Column("resume_count", sa.Integer(), nullable=False),
        sa.Column("client_ip", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("ttfb_ms", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_index(op.f("ix_runs_request_id"), "runs", ["request_id"])
    op.create_index(op.f("ix_runs_api_key_id"), "runs", ["api_key_id"])
    op.create_index(op.f("ix_runs_task_id"), "runs", ["task_id"])
    op.create_index(op.f("ix_runs_status"), "runs", ["status"])
    op.create_index(op.f("ix_runs_created_at"), "runs", ["created_at"])
    op.create_index("ix_runs_user_created", "runs", ["user_id", "created_at"])
    op.create_index("ix_runs_workflow_execute", "runs", ["workflow_id", "execute_id"])


def downgrade() -> None:
    for name in ("ix_runs_workflow_execute", "ix_runs_user_created"):
        op.drop_index(name, table_name="runs")
    for column in ("created_at", "status", "task_id", "api_key_id", "request_id"):
        op.drop_index(op.f(f"ix_runs_{column}"), table_name="runs")
    op.drop_table("runs")
