"""The request row: money held for one request until it is settled or refunded.

One row per gateway request id (unique); its status moves reserved → settled | refunded
exactly once, which is what makes settle and refund idempotent. Runs (persisted workflow
runs) and tasks will reference it by ``request_id``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cozegate.models.base import Base, BigId, UTCDateTime, utcnow

RESERVED = "reserved"
SETTLED = "settled"
REFUNDED = "refunded"


class Reservation(Base):
    __tablename__ = "reservations"
    # Open reservations are looked up by age (the reaper's query): one index on both
    # columns serves it, one B-tree write per booking fewer than an index on each. (A
    # partial index would save another, but declaring one for Postgres makes SQLAlchemy
    # load its Postgres dialect in every process: ~3 MiB on SQLite, measured.)
    __table_args__ = (Index("ix_reservations_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), index=True
    )
    target: Mapped[str | None] = mapped_column(String(255))  # model name or workflow id
    amount: Mapped[int] = mapped_column(BigInteger)  # micros held from the balance
    # Micros held from the key's quota (0 when the key is unlimited).
    key_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default=RESERVED)
    cost: Mapped[int | None] = mapped_column(BigInteger)  # the real cost, at settle
    charged: Mapped[int | None] = mapped_column(BigInteger)  # what was actually taken
    shortfall: Mapped[int] = mapped_column(BigInteger, default=0)  # cost not covered
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
