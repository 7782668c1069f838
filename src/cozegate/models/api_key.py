"""A gateway key. Only its SHA-256 is stored; the raw key is shown once at creation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cozegate.models.base import Base, BigId, TimestampMixin, UTCDateTime


class ApiKey(TimestampMixin, Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(
            "quota_remaining IS NULL OR quota_remaining >= 0", name="quota_non_negative"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex
    # Last four characters, for telling keys apart in lists. Never a prefix: a prefix plus
    # a leak elsewhere narrows the search, and prefixes end up in logs.
    hint: Mapped[str] = mapped_column(String(8))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Remaining quota in micros; NULL = unlimited (bounded by the user's balance only).
    quota_remaining: Mapped[int | None] = mapped_column(BigInteger)
    used: Mapped[int] = mapped_column(BigInteger, default=0)  # micros charged so far
    # Model names / workflow ids this key may call; NULL or [] = all.
    allowed_models: Mapped[list[str] | None] = mapped_column(JSON)
    # IP addresses / CIDR networks; NULL or [] = any.
    allowed_ips: Mapped[list[str] | None] = mapped_column(JSON)
    # Requests per minute for every API class, unless rate_limits names the class.
    rpm_limit: Mapped[int | None] = mapped_column(Integer)
    rate_limits: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
