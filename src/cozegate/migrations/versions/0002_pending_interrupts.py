"""pending interrupts: workflow runs waiting for an answer on the OpenAI surface

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_interrupts",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("history_key", sa.String(64), nullable=False),
        sa.Column("api_key_id", BIG_ID, nullable=False),
        sa.Column("workflow_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("interrupt_type", sa.Integer(), nullable=False),
        sa.Column("execute_id", sa.String(64), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("resumes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"], ondelete="CASCADE",
                                name=op.f("fk_pending_interrupts_api_key_id_api_keys")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_interrupts")),
        sa.UniqueConstraint("conversation_id",
                            name=op.f("uq_pending_interrupts_conversation_id")),
    )
    op.create_index(op.f("ix_pending_interrupts_api_key_id"), "pending_interrupts",
                    ["api_key_id"])
    op.create_index(op.f("ix_pending_interrupts_expires_at"), "pending_interrupts",
                    ["expires_at"])
    op.create_index(op.f("ix_pending_interrupts_history_key"), "pending_interrupts",
                    ["history_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_pending_interrupts_history_key"), table_name="pending_interrupts")
    op.drop_index(op.f("ix_pending_interrupts_expires_at"), table_name="pending_interrupts")
    op.drop_index(op.f("ix_pending_interrupts_api_key_id"), table_name="pending_interrupts")
    op.drop_table("pending_interrupts")
