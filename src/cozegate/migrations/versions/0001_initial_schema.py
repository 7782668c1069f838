"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Tables: groups, users, api_keys, prices, channels, channel_events, reservations,
ledger_entries, usage_logs. Runs and tasks come in later revisions.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# SQLite only auto-increments INTEGER PRIMARY KEY; Postgres gets BIGINT.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("auth_type", sa.String(length=16), nullable=False),
        sa.Column("base_url", sa.String(length=512), nullable=False),
        sa.Column("secret_ciphertext", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channels")),
        sa.UniqueConstraint("name", name=op.f("uq_channels_name")),
    )
    op.create_index(op.f("ix_channels_status"), "channels", ["status"])

    op.create_table(
        "groups",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("ratio_ppm", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_groups_name")),
    )
    op.create_table(
        "prices",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("input_price", sa.BigInteger(), nullable=False),
        sa.Column("output_price", sa.BigInteger(), nullable=False),
        sa.Column("fixed_price", sa.BigInteger(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prices")),
        sa.UniqueConstraint("target", name=op.f("uq_prices_target")),
    )
    op.create_table(
        "usage_logs",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("api_key_id", sa.BigInteger(), nullable=True),
        sa.Column("key_name", sa.String(length=128), nullable=True),
        sa.Column("model", sa.String(length=255), nullable=True),
        sa.Column("workflow_id", sa.String(length=64), nullable=True),
        sa.Column("channel_id", sa.BigInteger(), nullable=True),
        sa.Column("channel_name", sa.String(length=128), nullable=True),
        sa.Column("surface", sa.String(length=16), nullable=True),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("usage_estimated", sa.Boolean(), nullable=False),
        sa.Column("input_price", sa.BigInteger(), nullable=False),
        sa.Column("output_price", sa.BigInteger(), nullable=False),
        sa.Column("fixed_price", sa.BigInteger(), nullable=False),
        sa.Column("group_ratio_ppm", sa.Integer(), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("ttfb_ms", sa.Integer(), nullable=True),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("execute_id", sa.String(length=64), nullable=True),
        sa.Column("logid", sa.String(length=64), nullable=True),
        sa.Column("debug_url", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_logs")),
    )
    op.create_index(op.f("ix_usage_logs_channel_id"), "usage_logs", ["channel_id"])
    op.create_index(op.f("ix_usage_logs_created_at"), "usage_logs", ["created_at"])
    op.create_index(op.f("ix_usage_logs_key_created"), "usage_logs", ["api_key_id", "created_at"])
    op.create_index(op.f("ix_usage_logs_model"), "usage_logs", ["model"])
    op.create_index(op.f("ix_usage_logs_request_id"), "usage_logs", ["request_id"])
    op.create_index(op.f("ix_usage_logs_user_created"), "usage_logs", ["user_id", "created_at"])

    op.create_table(
        "channel_events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("channel_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_channel_events_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_events")),
    )
    op.create_index(op.f("ix_channel_events_channel_id"), "channel_events", ["channel_id"])

    op.create_table(
        "users",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("group_id", BIG_ID, nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_users_balance_non_negative")),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], name=op.f("fk_users_group_id_groups")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_index(op.f("ix_users_group_id"), "users", ["group_id"])

    op.create_table(
        "api_keys",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=8), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("quota_remaining", sa.BigInteger(), nullable=True),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.Column("allowed_models", sa.JSON(), nullable=True),
        sa.Column("allowed_ips", sa.JSON(), nullable=True),
        sa.Column("rpm_limit", sa.Integer(), nullable=True),
        sa.Column("rate_limits", sa.JSON(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.CheckConstraint(
            "quota_remaining IS NULL OR quota_remaining >= 0",
            name=op.f("ck_api_keys_quota_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_user_id"), "api_keys", ["user_id"])

    op.create_table(
        "ledger_entries",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("api_key_id", BIG_ID, nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_ledger_entries_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ledger_entries_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ledger_entries_idempotency_key")),
    )
    op.create_index(op.f("ix_ledger_entries_created_at"), "ledger_entries", ["created_at"])
    op.create_index(op.f("ix_ledger_entries_request_id"), "ledger_entries", ["request_id"])
    op.create_index(op.f("ix_ledger_entries_user_id"), "ledger_entries", ["user_id"])

    op.create_table(
        "reservations",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("api_key_id", BIG_ID, nullable=True),
        sa.Column("target", sa.String(length=255), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("key_amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=True),
        sa.Column("charged", sa.BigInteger(), nullable=True),
        sa.Column("shortfall", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_reservations_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reservations_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservations")),
        sa.UniqueConstraint("request_id", name=op.f("uq_reservations_request_id")),
    )
    op.create_index(op.f("ix_reservations_api_key_id"), "reservations", ["api_key_id"])
    op.create_index(op.f("ix_reservations_created_at"), "reservations", ["created_at"])
    op.create_index(op.f("ix_reservations_status"), "reservations", ["status"])
    op.create_index(op.f("ix_reservations_user_id"), "reservations", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_reservations_user_id"), table_name="reservations")
    op.drop_index(op.f("ix_reservations_status"), table_name="reservations")
    op.drop_index(op.f("ix_reservations_created_at"), table_name="reservations")
    op.drop_index(op.f("ix_reservations_api_key_id"), table_name="reservations")

    op.drop_table("reservations")
    op.drop_index(op.f("ix_ledger_entries_user_id"), table_name="ledger_entries")
    op.drop_index(op.f("ix_ledger_entries_request_id"), table_name="ledger_entries")
    op.drop_index(op.f("ix_ledger_entries_created_at"), table_name="ledger_entries")

    op.drop_table("ledger_entries")
    op.drop_index(op.f("ix_api_keys_user_id"), table_name="api_keys")

    op.drop_table("api_keys")
    op.drop_index(op.f("ix_users_group_id"), table_name="users")

    op.drop_table("users")
    op.drop_index(op.f("ix_channel_events_channel_id"), table_name="channel_events")

    op.drop_table("channel_events")
    op.drop_index(op.f("ix_usage_logs_user_created"), table_name="usage_logs")
    op.drop_index(op.f("ix_usage_logs_request_id"), table_name="usage_logs")
    op.drop_index(op.f("ix_usage_logs_model"), table_name="usage_logs")
    op.drop_index(op.f("ix_usage_logs_key_created"), table_name="usage_logs")
    op.drop_index(op.f("ix_usage_logs_created_at"), table_name="usage_logs")
    op.drop_index(op.f("ix_usage_logs_channel_id"), table_name="usage_logs")

    op.drop_table("usage_logs")
    op.drop_table("prices")
    op.drop_table("groups")
    op.drop_index(op.f("ix_channels_status"), table_name="channels")

    op.drop_table("channels")
