"""One row per gateway call: who called what, through which channel, what it cost."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cozegate.models.base import Base, BigId, UTCDateTime, utcnow


class UsageLog(Base):
    __tablename__ = "usage_logs"
    __table_args__ = (
        Index("ix_usage_logs_user_created", "user_id", "created_at"),
        Index("ix_usage_logs_key_created", "api_key_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    # Plain ids, no foreign keys: logs outlive deleted keys, users and channels.
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    api_key_id: Mapped[int | None] = mapped_column(BigInteger)
    key_name: Mapped[str | None] = mapped_column(String(128))
    model: Mapped[str | None] = mapped_column(String(255), index=True)
    workflow_id: Mapped[str | None] = mapped_column(String(64))
    channel_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    channel_name: Mapped[str | None] = mapped_column(String(128))
    surface: Mapped[str | None] = mapped_column(String(16))  # openai | coze | task
    stream: Mapped[bool] = mapped_column(Boolean, default=False)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    usage_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    # The price used, copied: later price edits must not rewrite history.
    input_price: Mapped[int] = mapped_column(BigInteger, default=0)  # micros per 1M tokens
    output_price: Mapped[int] = mapped_column(BigInteger, default=0)
    fixed_price: Mapped[int] = mapped_column(BigInteger, default=0)
    group_ratio_ppm: Mapped[int] = mapped_column(Integer, default=1_000_000)
    cost: Mapped[int] = mapped_column(BigInteger, default=0)  # micros
    status: Mapped[str] = mapped_column(String(16))  # success | error | interrupted | ...
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    ttfb_ms: Mapped[int | None] = mapped_column(Integer)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    execute_id: Mapped[str | None] = mapped_column(String(64))
    logid: Mapped[str | None] = mapped_column(String(64))
    debug_url: Mapped[str | None] = mapped_column(Text)
