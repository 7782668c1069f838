"""The price of one model name or workflow id (``*`` = the operator's default price)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from cozegate.models.base import Base, BigId, TimestampMixin

DEFAULT_PRICE_TARGET = "*"
PRICE_KIND_TOKENS = "tokens"
PRICE_KIND_FIXED = "fixed"


class Price(TimestampMixin, Base):
    __tablename__ = "prices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    target: Mapped[str] = mapped_column(String(255), unique=True)  # model name or workflow id
    kind: Mapped[str] = mapped_column(String(16), default=PRICE_KIND_TOKENS)
    # Micros per 1M tokens (kit.money): 0.001 per 1K tokens = 1,000,000.
    input_price: Mapped[int] = mapped_column(BigInteger, default=0)
    output_price: Mapped[int] = mapped_column(BigInteger, default=0)
    fixed_price: Mapped[int] = mapped_column(BigInteger, default=0)  # micros per call
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
