"""coze conversations: who owns a conversation made through the Coze-compatible surface

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coze_conversations",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("api_key_id", sa.BigInteger(), nullable=True),
        sa.Column("workflow_id", sa.String(64), nullable=True),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coze_conversations")),
        sa.UniqueConstraint("channel_id", "conversation_id",
                            name="uq_coze_conversations_channel_conversation"),
    )
    op.create_index(op.f("ix_coze_conversations_conversation_id"), "coze_conversations",
                    ["conversation_id"])
    op.create_index(op.f("ix_coze_conversations_user_id"), "coze_conversations", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_coze_conversations_user_id"), table_name="coze_conversations")
    op.drop_index(op.f("ix_coze_conversations_conversation_id"),
                  table_name="coze_conversations")
    op.drop_table("coze_conversations")
