"""Shapes of prices, reservations, ledger rows and usage logs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cozegate.kit.money import (
    RATIO_ONE,
    fixed_cost,
    format_price_per_1k,
    parse_amount,
    parse_price_per_1k,
    token_cost,
)
from cozegate.models import Price, Reservation
from cozegate.models.price import PRICE_KIND_FIXED, PRICE_KIND_TOKENS


class PriceSet(BaseModel):
    """Set the price of a model name / workflow id (``*`` = default price).

    Token prices are decimals per 1K tokens (the seed's ``0.001``); a fixed price is a
    decimal per call. Exactly one of the two forms.
    """

    target: str = Field(min_length=1, max_length=255)
    input_price_per_1k: Decimal | None = None
    output_price_per_1k: Decimal | None = None
    fixed_price: Decimal | None = None
    enabled: bool = True

    @model_validator(mode="after")
    def _one_form(self) -> PriceSet:
        tokens = self.input_price_per_1k is not None or self.output_price_per_1k is not None
        if tokens == (self.fixed_price is not None):
            raise ValueError("give token prices (per 1K) or a fixed price, not both or neither")
        # Fail here, with the field named, rather than at storage time.
        for value in (self.input_price_per_1k, self.output_price_per_1k):
            if value is not None:
                parse_price_per_1k(value)
        if self.fixed_price is not None and parse_amount(self.fixed_price) < 0:
            raise ValueError("a price cannot be negative")
        return self

    @property
    def kind(self) -> str:
        return PRICE_KIND_FIXED if self.fixed_price is not None else PRICE_KIND_TOKENS


@dataclass(frozen=True)
class PriceSnapshot:
    """A price detached from the session; copied into reservations' callers and usage logs."""

    target: str
    kind: str
    input_price: int  # micros per 1M tokens
    output_price: int
    fixed_price: int  # micros per call

    @classmethod
    def of(cls, price: Price) -> PriceSnapshot:
        return cls(
            target=price.target,
            kind=price.kind,
            input_price=price.input_price,
            output_price=price.output_price,
            fixed_price=price.fixed_price,
        )

    @property
    def is_fixed(self) -> bool:
        return self.kind == PRICE_KIND_FIXED

    def cost(self, input_tokens: int, output_tokens: int, ratio_ppm: int = RATIO_ONE) -> int:
        """The cost of one call in micros (kit.money's formula and rounding)."""
        if self.is_fixed:
            return fixed_cost(self.fixed_price, ratio_ppm)
        return token_cost(
            input_tokens, output_tokens, self.input_price, self.output_price, ratio_ppm
        )


class PriceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    target: str
    kind: str
    input_price: int
    output_price: int
    fixed_price: int
    enabled: bool

    @property
    def input_price_per_1k(self) -> str:
        return format_price_per_1k(self.input_price)

    @property
    def output_price_per_1k(self) -> str:
        return format_price_per_1k(self.output_price)


@dataclass(frozen=True)
class SettleResult:
    request_id: str
    status: str  # settled | refunded
    reserved: int  # micros held at reserve
    cost: int  # the real cost asked for
    charged: int  # what the balance actually paid
    refunded: int  # returned to the balance at settle (reserved - charged, when positive)
    shortfall: int  # cost the balance could not cover (cost > reserved and balance ran out)
    already_finished: bool  # True: an earlier settle/refund did the work; nothing changed

    @classmethod
    def of(cls, reservation: Reservation, *, already_finished: bool) -> SettleResult:
        charged = reservation.charged or 0
        return cls(
            request_id=reservation.request_id,
            status=reservation.status,
            reserved=reservation.amount,
            cost=reservation.cost or 0,
            charged=charged,
            refunded=max(reservation.amount - charged, 0),
            shortfall=reservation.shortfall,
            already_finished=already_finished,
        )


class UsageLogCreate(BaseModel):
    """One usage row. ``cost`` is what was charged (the ledger agrees with it)."""

    request_id: str
    user_id: int | None = None
    api_key_id: int | None = None
    key_name: str | None = None
    model: str | None = None
    workflow_id: str | None = None
    channel_id: int | None = None
    channel_name: str | None = None
    surface: str | None = None
    stream: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    usage_estimated: bool = False
    input_price: int = 0
    output_price: int = 0
    fixed_price: int = 0
    group_ratio_ppm: int = RATIO_ONE
    cost: int = 0
    status: str = "success"
    http_status: int | None = None
    error: str | None = None
    duration_ms: int | None = None
    ttfb_ms: int | None = None
    client_ip: str | None = None
    execute_id: str | None = None
    logid: str | None = None
    debug_url: str | None = None
    created_at: datetime | None = None  # None = now


class UsageFilter(BaseModel):
    user_id: int | None = None
    api_key_id: int | None = None
    model: str | None = None
    workflow_id: str | None = None
    channel_id: int | None = None
    status: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


@dataclass(frozen=True)
class DailyUsage:
    day: date
    model: str | None  # None unless grouped by model
    requests: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost: int
