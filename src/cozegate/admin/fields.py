"""Money, price and ratio fields of admin requests: decimal strings, never JSON floats.

A JSON number with a fraction arrives as a float, which is already inexact (``0.1``), so it
is refused with a clear message instead of being rounded; integers are fine. Each field is
checked with the parser that will store it, so a bad value is a 400 naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from cozegate.kit.money import parse_amount, parse_price_per_1k, parse_ratio


def _decimal_text(parse: Callable[[str], int]) -> Callable[[Any], str]:
    def validate(value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            raise ValueError('send a decimal string such as "12.5" (JSON numbers with a '
                             "fraction are floats, which are inexact)")
        text = str(value).strip()
        parse(text)  # raises ValueError: not a number, too precise, negative
        return text

    return validate


def _non_negative_amount(text: str) -> int:
    micros = parse_amount(text)
    if micros < 0:
        raise ValueError("cannot be negative")
    return micros


AmountText = Annotated[
    str,
    BeforeValidator(_decimal_text(parse_amount)),
    Field(description="A decimal amount, e.g. \"12.5\" (at most 6 decimals).",
          examples=["12.5"]),
]
NonNegativeAmountText = Annotated[
    str,
    BeforeValidator(_decimal_text(_non_negative_amount)),
    Field(description="A decimal amount ≥ 0, e.g. \"12.5\" (at most 6 decimals).",
          examples=["12.5"]),
]
PricePer1kText = Annotated[
    str,
    BeforeValidator(_decimal_text(parse_price_per_1k)),
    Field(description="A price per 1K tokens, e.g. \"0.001\".", examples=["0.001"]),
]
RatioText = Annotated[
    str,
    BeforeValidator(_decimal_text(parse_ratio)),
    Field(description="A non-negative ratio, e.g. \"1.5\" (at most 6 decimals).",
          examples=["1.5"]),
]
