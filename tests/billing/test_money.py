"""Money parsing, formatting and the cost formula: exact integers, one rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cozegate.billing.pricing import estimate_tokens, reservation_amount
from cozegate.billing.schemas import PriceSnapshot
from cozegate.kit.money import (
    RATIO_ONE,
    div_round_half_up,
    fixed_cost,
    format_amount,
    format_price_per_1k,
    format_ratio,
    parse_amount,
    parse_price_per_1k,
    parse_price_per_1m,
    parse_ratio,
    to_decimal,
    token_cost,
)


def test_seed_price_is_exact() -> None:
    # "输入价格 0.001 / 1K tokens" = 1 micro per token.
    price = parse_price_per_1k("0.001")
    assert price == 1_000_000  # micros per 1M tokens
    assert token_cost(1000, 0, price, 0) == 1000  # 0.001 units
    assert token_cost(1, 0, price, 0) == 1
    assert format_price_per_1k(price) == "0.001"


def test_fine_prices_are_exact() -> None:
    assert parse_price_per_1m("0.0375") == 37_500
    assert parse_price_per_1k("0.0000375") == 37_500
    assert parse_price_per_1k("0.000001") == 1_000


def test_token_cost_with_ratio() -> None:
    input_price = parse_price_per_1k("0.001")
    output_price = parse_price_per_1k("0.002")
    # (1234 × 0.001 + 567 × 0.002) / 1000 = 0.002368 units = 2368 micros; × 1.5 = 3552.
    assert token_cost(1234, 567, input_price, output_price) == 2368
    assert token_cost(1234, 567, input_price, output_price, parse_ratio("1.5")) == 3552
    assert token_cost(1234, 567, input_price, output_price, parse_ratio("0")) == 0


def test_rounding_is_half_up_once() -> None:
    price = parse_price_per_1k("0.0005")  # half a micro per token
    assert token_cost(1, 0, price, 0) == 1  # 0.5 → 1
    assert token_cost(3, 0, price, 0) == 2  # 1.5 → 2
    assert token_cost(1, 1, price, price) == 1  # one rounding of the sum, not 1 + 1
    assert token_cost(1, 0, parse_price_per_1k("0.0004999"), 0) == 0  # 0.4999 → 0
    assert div_round_half_up(5, 10) == 1
    assert div_round_half_up(4, 10) == 0


def test_fixed_cost() -> None:
    assert fixed_cost(parse_amount("0.05")) == 50_000
    assert fixed_cost(parse_amount("0.05"), parse_ratio("1.25")) == 62_500
    assert fixed_cost(3, parse_ratio("0.5")) == 2  # 1.5 → 2


def test_parsing_refuses_floats_and_excess_precision() -> None:
    with pytest.raises(TypeError):
        parse_amount(0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        parse_amount("0.0000001")
    with pytest.raises(ValueError):
        parse_amount("abc")
    with pytest.raises(ValueError):
        parse_ratio("-1")
    with pytest.raises(ValueError):
        parse_price_per_1k("0.0000000001")
    assert parse_amount(Decimal("12.345678")) == 12_345_678
    assert parse_amount(3) == 3_000_000


def test_formatting() -> None:
    assert format_amount(1_500_000) == "1.500000"
    assert format_amount(1_500_000, 2) == "1.50"
    assert format_amount(1_005_000, 2) == "1.01"  # display rounding half up
    assert format_amount(-250, 6) == "-0.000250"
    assert format_amount(7, 0) == "0"
    assert to_decimal(1_500_000) == Decimal("1.5")
    assert format_ratio(RATIO_ONE) == "1"
    assert format_ratio(1_250_000) == "1.25"


def test_price_snapshot_and_reservation_estimate() -> None:
    tokens = PriceSnapshot("wf", "tokens", 1_000_000, 2_000_000, 0)
    fixed = PriceSnapshot("wf2", "fixed", 0, 0, 50_000)
    assert tokens.cost(1000, 1000, parse_ratio("2")) == 6000
    assert fixed.cost(99999, 99999, parse_ratio("2")) == 100_000
    assert estimate_tokens("你好, world") == 9
    assert reservation_amount(tokens, RATIO_ONE, input_tokens=100, max_output_tokens=4096) == (
        100 + 2 * 4096
    )
    assert reservation_amount(fixed, RATIO_ONE, input_tokens=100, max_output_tokens=4096) == 50_000
