"""Money as integer micro-units, and the one cost formula.

Why integers: a ledger that adds floats drifts, and two databases (SQLite, Postgres) would
drift differently. Every amount is an ``int`` count of micro-units (1 unit = 1,000,000
micros; the unit is whatever currency the operator bills in).

Precision choices, so that every price users type is exact:

* Token prices are stored as **micros per 1M tokens**. The seed's "0.001 / 1K tokens" is
  1.0 per 1M = 1,000,000 micros per 1M; even $0.0375 per 1M (37,500) is exact.
* Ratios (group ratio) are stored as **parts per million** (``1.0`` = 1,000,000), so any
  ratio with up to six decimals is exact.
* A cost is computed in one integer expression and rounded once, **half up** to a whole
  micro-unit (costs are never negative, so half up = half away from zero).

Decimals are parsed from strings or :class:`~decimal.Decimal` only: a float such as ``0.1``
is already inexact, so it is refused rather than silently rounded.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

Micros = int
"""An amount of money in micro-units (1 unit = 1,000,000 micros)."""

MICROS_PER_UNIT = 1_000_000
RATIO_ONE = 1_000_000  # a ratio of 1.0 in parts per million
TOKENS_PER_PRICE = 1_000_000  # prices are per this many tokens
_PRICE_PER_1K_FACTOR = TOKENS_PER_PRICE // 1_000


def _to_decimal(value: str | int | Decimal) -> Decimal:
    if isinstance(value, (bool, float)):
        raise TypeError("money and ratios are parsed from str, int or Decimal, never float")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal number: {value!r}") from exc
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return number


def _scale_exact(value: str | int | Decimal, factor: int, what: str) -> int:
    scaled = _to_decimal(value) * factor
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{what} {value!r} has more precision than is stored exactly")
    return int(scaled)


def parse_amount(value: str | int | Decimal) -> Micros:
    """``"1.5"`` → 1,500,000 micros. More than six decimals is an error, not a rounding."""
    return _scale_exact(value, MICROS_PER_UNIT, "amount")


def parse_ratio(value: str | int | Decimal) -> int:
    """``"1.25"`` → 1,250,000 parts per million. Negative ratios are refused."""
    ppm = _scale_exact(value, RATIO_ONE, "ratio")
    if ppm < 0:
        raise ValueError("a ratio cannot be negative")
    return ppm


def parse_price_per_1k(value: str | int | Decimal) -> Micros:
    """A price per 1K tokens (``"0.001"``) → micros per 1M tokens (1,000,000)."""
    micros = _scale_exact(value, MICROS_PER_UNIT * _PRICE_PER_1K_FACTOR, "price")
    if micros < 0:
        raise ValueError("a price cannot be negative")
    return micros


def parse_price_per_1m(value: str | int | Decimal) -> Micros:
    """A price per 1M tokens (``"0.15"``) → micros per 1M tokens (150,000)."""
    micros = _scale_exact(value, MICROS_PER_UNIT, "price")
    if micros < 0:
        raise ValueError("a price cannot be negative")
    return micros


def to_decimal(micros: Micros) -> Decimal:
    """Micros → an exact Decimal in units (``1_500_000`` → ``Decimal("1.5")``)."""
    return (Decimal(micros) / MICROS_PER_UNIT).normalize() if micros else Decimal(0)


def format_amount(micros: Micros, places: int = 6) -> str:
    """Micros → a fixed-point string with ``places`` decimals (1_500_000, 2 → ``"1.50"``).

    With fewer than six places the value is rounded half up for display only.
    """
    if not 0 <= places <= 6:
        raise ValueError("places must be between 0 and 6")
    sign = "-" if micros < 0 else ""
    divisor = 10 ** (6 - places)
    scaled = div_round_half_up(abs(micros), divisor)
    whole, frac = divmod(scaled, 10**places)
    return f"{sign}{whole}.{frac:0{places}d}" if places else f"{sign}{whole}"


def format_ratio(ppm: int) -> str:
    """Parts per million → the shortest exact decimal (``1_250_000`` → ``"1.25"``)."""
    text = format(Decimal(ppm) / RATIO_ONE, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_price_per_1k(micros_per_1m: Micros) -> str:
    """Micros per 1M tokens → the price per 1K tokens, exact (``1_000_000`` → ``"0.001"``)."""
    text = format(Decimal(micros_per_1m) / (MICROS_PER_UNIT * _PRICE_PER_1K_FACTOR), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def div_round_half_up(numerator: int, denominator: int) -> int:
    """Integer division of non-negative numbers, rounded half up."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("div_round_half_up takes a non-negative numerator, positive denominator")
    return (numerator + denominator // 2) // denominator


def token_cost(
    input_tokens: int,
    output_tokens: int,
    input_price: Micros,
    output_price: Micros,
    ratio_ppm: int = RATIO_ONE,
) -> Micros:
    """``(in × input_price + out × output_price) × ratio``, prices in micros per 1M tokens.

    One integer product, one rounding (half up to a micro-unit) at the very end, so the
    result does not depend on the order of the terms.
    """
    if min(input_tokens, output_tokens, input_price, output_price, ratio_ppm) < 0:
        raise ValueError("tokens, prices and ratios cannot be negative")
    numerator = (input_tokens * input_price + output_tokens * output_price) * ratio_ppm
    return div_round_half_up(numerator, TOKENS_PER_PRICE * RATIO_ONE)


def fixed_cost(fixed_price: Micros, ratio_ppm: int = RATIO_ONE) -> Micros:
    """``fixed_price × ratio``, rounded half up to a micro-unit."""
    if fixed_price < 0 or ratio_ppm < 0:
        raise ValueError("prices and ratios cannot be negative")
    return div_round_half_up(fixed_price * ratio_ppm, RATIO_ONE)
