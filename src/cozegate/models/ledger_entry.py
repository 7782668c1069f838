"""One movement of a user's balance. Append-only; the sum of a user's rows is the balance."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cozegate.models.base import Base, BigId, UTCDateTime, utcnow

KIND_TOP_UP = "top_up"
KIND_RESERVE = "reserve"
KIND_SETTLE = "settle"
KIND_REFUND = "refund"
KIND_ADJUST = "adjust"


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    request_id: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)  # signed micros: + credit, - debit
    balance_after: Mapped[int] = mapped_column(BigInteger)
    # Unique: the same movement can never be booked twice (retries, double settles).
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    # Not indexed: entries are listed in id order (the order they were booked), by user or
    # by request; an index on the time would cost every booking a B-tree write for nothing.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
