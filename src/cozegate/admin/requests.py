"""Request bodies of the admin API, converted to the domain services' own shapes."""

from __future__ import annotations

from decimal import Decimal
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cozegate.admin.fields import AmountText, NonNegativeAmountText, PricePer1kText, RatioText
from cozegate.billing.schemas import PriceSet
from cozegate.channels.schemas import ChannelUpdate
from cozegate.keys.schemas import KeyCreate, KeyUpdate
from cozegate.kit.money import parse_amount
from cozegate.users.schemas import GroupCreate

_STRICT = ConfigDict(extra="forbid")  # a misspelt field is an error, not silently ignored


class UserUpdateBody(BaseModel):
    model_config = _STRICT

    enabled: bool | None = None
    group: str | None = Field(default=None, min_length=1, max_length=64)


class GroupCreateBody(BaseModel):
    model_config = _STRICT

    name: str = Field(min_length=1, max_length=64)
    ratio: RatioText = "1"
    description: str = Field(default="", max_length=255)

    def to_service(self) -> GroupCreate:
        return GroupCreate(name=self.name, ratio=Decimal(self.ratio),
                           description=self.description)


class GroupUpdateBody(BaseModel):
    model_config = _STRICT

    ratio: RatioText


class BalanceMoveBody(BaseModel):
    """A top-up (positive) or an adjustment (either sign), always with a reason."""

    model_config = _STRICT

    amount: AmountText
    reason: str = Field(min_length=1, max_length=500)
    idempotency_key: str | None = Field(
        default=None, min_length=1, max_length=64,
        description="Repeat-safe: a second request with the same key books nothing new.")

    @property
    def micros(self) -> int:
        return parse_amount(self.amount)


class TopUpBody(BalanceMoveBody):
    @model_validator(mode="after")
    def _positive(self) -> Self:
        if self.micros <= 0:
            raise ValueError("a top-up must be positive")
        return self


class AdjustmentBody(BalanceMoveBody):
    @model_validator(mode="after")
    def _non_zero(self) -> Self:
        if self.micros == 0:
            raise ValueError("an adjustment cannot be zero")
        return self


class KeyCreateBody(KeyCreate):
    model_config = _STRICT

    user_id: int
    quota: NonNegativeAmountText | None = Field(default=None, description="None = unlimited.")

    def to_service(self) -> KeyCreate:
        fields = self.model_dump(exclude={"user_id", "quota"})
        return KeyCreate(**fields, quota=_micros_or_none(self.quota))


class KeyUpdateBody(KeyUpdate):
    """Only the fields sent are changed; ``null`` clears (no expiry, unlimited, any model)."""

    model_config = _STRICT

    quota: NonNegativeAmountText | None = None

    def to_service(self) -> KeyUpdate:
        fields = {name: getattr(self, name) for name in self.model_fields_set}
        if "quota" in fields:
            fields["quota"] = _micros_or_none(self.quota)
        return KeyUpdate.model_validate(fields)  # keeps model_fields_set = what was sent


class PriceBody(BaseModel):
    """Token prices per 1K tokens, or a fixed price per call: exactly one of the two forms."""

    model_config = _STRICT

    input_price_per_1k: PricePer1kText | None = None
    output_price_per_1k: PricePer1kText | None = None
    fixed_price: NonNegativeAmountText | None = None
    enabled: bool = True

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        tokens = self.input_price_per_1k is not None or self.output_price_per_1k is not None
        if tokens == (self.fixed_price is not None):
            raise ValueError("give input_price_per_1k/output_price_per_1k or fixed_price, "
                             "not both or neither")
        return self

    def to_service(self, target: str) -> PriceSet:
        return PriceSet(
            target=target,
            input_price_per_1k=_decimal_or_none(self.input_price_per_1k),
            output_price_per_1k=_decimal_or_none(self.output_price_per_1k),
            fixed_price=_decimal_or_none(self.fixed_price),
            enabled=self.enabled,
        )


class ChannelUpdateBody(ChannelUpdate):
    model_config = _STRICT

    @model_validator(mode="after")
    def _secret_for_auth_change(self) -> Self:
        # The service would refuse this too, but only after the request was accepted.
        if self.auth_type == "pat" and not self.token:
            raise ValueError("switching to pat auth needs the token")
        if self.auth_type == "oauth_jwt" and self.oauth_jwt is None:
            raise ValueError("switching to oauth_jwt auth needs the oauth_jwt app JSON")
        return self


class ChannelSwitchBody(BaseModel):
    model_config = _STRICT

    reason: str = Field(default="", max_length=500)


def _micros_or_none(text: str | None) -> int | None:
    return None if text is None else parse_amount(text)


def _decimal_or_none(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)
