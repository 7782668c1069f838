"""Percentile summaries (nearest-rank, so every reported value is one that was observed)."""

from __future__ import annotations

import math


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize_ms(seconds: list[float]) -> dict[str, float | int | None]:
    """p50/p90/p99/min/max in milliseconds; ``None`` values when nothing was measured."""
    if not seconds:
        return {"n": 0, "p50": None, "p90": None, "p99": None, "min": None, "max": None}
    s = sorted(seconds)
    return {
        "n": len(s),
        "p50": round(percentile(s, 50) * 1000, 3),
        "p90": round(percentile(s, 90) * 1000, 3),
        "p99": round(percentile(s, 99) * 1000, 3),
        "min": round(s[0] * 1000, 3),
        "max": round(s[-1] * 1000, 3),
    }
