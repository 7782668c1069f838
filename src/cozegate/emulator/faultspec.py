"""The fault directive syntax (see :mod:`cozegate.emulator.faults` and docs/emulator.md).

Kept apart from the middleware so the config can validate rules when it loads.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class FaultPlan:
    latency_ms: float = 0
    first_byte_ms: float = 0
    http_status: int | None = None
    http_html: bool = False
    rate_limit_status: int | None = None
    break_after: int | None = None
    drop: bool = False


def parse_fault(text: str, plan: FaultPlan | None = None) -> FaultPlan:
    """Parse the directive syntax into (or on top of) a plan; ValueError when malformed."""
    plan = plan or FaultPlan()
    for item in text.replace(";", ",").split(","):
        name, _, value = item.strip().partition("=")
        name, value = name.strip().lower(), value.strip()
        if not name:
            continue
        if name == "latency":
            plan.latency_ms = float(value)
        elif name == "first_byte":
            plan.first_byte_ms = float(value)
        elif name == "http":
            status, _, kind = value.partition(":")
            plan.http_status, plan.http_html = int(status), kind.lower() == "html"
        elif name == "rate_limit":
            plan.rate_limit_status = int(value) if value else 429
        elif name == "break":
            plan.break_after = int(value) if value else 1
        elif name == "drop":
            plan.drop = True
        else:
            raise ValueError(f"unknown fault {name!r}")
    return plan
