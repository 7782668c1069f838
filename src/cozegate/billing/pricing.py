"""Reservation estimates and missing-usage estimates. Pure functions, no I/O.

How much to reserve: a workflow's real token use is unknowable up front (its LLM nodes add
prompts of their own), so the reservation is an estimate, and settle fixes it up:

* fixed price: the fixed price × group ratio, exactly what settle will charge;
* token price: input tokens estimated from the request text + ``max_output_tokens``
  (``settings.reserve_max_output_tokens``, default 4096, or the request's ``max_tokens``
  when smaller) as output, × group ratio.

Token estimate: one token per character. That is an upper bound for CJK text and about
4× over for English, which is the safe side for a hold that is refunded anyway.
"""

from __future__ import annotations

from cozegate.billing.schemas import PriceSnapshot


def estimate_tokens(text: str) -> int:
    return len(text)


def reservation_amount(
    price: PriceSnapshot,
    ratio_ppm: int,
    *,
    input_tokens: int,
    max_output_tokens: int,
) -> int:
    """Micros to reserve before a call (see the module docstring)."""
    return price.cost(input_tokens, max_output_tokens, ratio_ppm)
