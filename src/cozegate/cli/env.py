"""``CliEnv``: what a test pins around the commands (the clock naming result files).

Kept apart from :mod:`cozegate.cli.common` (Rich consoles, settings) so the entry point can
hold one without loading what only the commands need.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CliEnv:
    """Injectable surroundings of the commands (tests pin the clock)."""

    clock: Callable[[], datetime] = field(default=utc_now)
