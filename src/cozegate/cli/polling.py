"""Waiting for an async run: poll its run history with exponential backoff.

The loop knows nothing about Coze's client: it calls a ``fetch`` coroutine and reads the
status with ``status_of``. Errors that ``is_transient`` accepts (a dropped connection, 5000,
a 4013 rate limit) are counted, reported and retried on the next tick; each attempt spends
one poll of the budget, so a dead upstream cannot keep the loop alive forever. Any other
error (a 4100 bad token, an unknown execute id) ends the wait at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

RUNNING = "Running"
# "Interrupted" is ours, not Coze's: a Running record carrying interrupt_data waits for an
# answer that polling cannot give, so waiting longer is pointless.
FINAL_STATUSES = frozenset({"Success", "Fail", "Interrupted"})


@dataclass(frozen=True)
class PollPolicy:
    """Sleep ``initial`` before the first poll, then ×``factor`` each time, capped at ``maximum``.

    The factor 1.5 reproduces the 2 s, 3 s, 4.5 s… cadence of the scripts cozegate replaces.
    """

    initial: float = 2.0
    maximum: float = 30.0
    max_polls: int = 120
    factor: float = 1.5

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < 0:
            raise ValueError("poll intervals must not be negative")
        if self.max_polls < 1:
            raise ValueError("max polls must be at least 1")
        if self.factor < 1:
            raise ValueError("backoff factor must be at least 1")

    def delays(self) -> list[float]:
        """The sleep before each poll, one per poll of the budget."""
        delays: list[float] = []
        delay = min(self.initial, self.maximum)
        for _ in range(self.max_polls):
            delays.append(delay)
            delay = min(delay * self.factor, self.maximum)
        return delays


@dataclass
class PollProgress:
    """What the display shows; updated in place before each sleep and after each poll."""

    started: float
    polls: int = 0
    errors: int = 0
    status: str = "submitted"
    next_delay: float = 0.0
    last_error: str | None = None

    def elapsed(self, now: float) -> float:
        return now - self.started


@dataclass
class PollOutcome(Generic[T]):
    """How the wait ended. ``final`` is the last successful fetch (``None`` if none was)."""

    final: T | None
    status: str  # a FINAL_STATUSES member, or "Running" when the budget ran out
    polls: int
    errors: int
    error_messages: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES


async def poll_until_done(
    fetch: Callable[[], Awaitable[T]],
    *,
    status_of: Callable[[T], str],
    is_transient: Callable[[BaseException], bool],
    policy: PollPolicy,
    on_progress: Callable[[PollProgress], None] = lambda progress: None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> PollOutcome[T]:
    """Poll until ``status_of`` gives a final status or ``policy.max_polls`` attempts are spent."""
    progress = PollProgress(started=monotonic())
    last: T | None = None
    messages: list[str] = []
    for delay in policy.delays():
        progress.next_delay = delay
        on_progress(progress)
        await sleep(delay)
        progress.polls += 1
        try:
            result = await fetch()
        except Exception as exc:
            if not is_transient(exc):
                raise
            progress.errors += 1
            progress.last_error = str(exc)
            messages.append(str(exc))
            on_progress(progress)
            continue
        last = result
        progress.status = status_of(result)
        progress.last_error = None
        on_progress(progress)
        if progress.status in FINAL_STATUSES:
            break
    final_status = progress.status if progress.status in FINAL_STATUSES else RUNNING
    return PollOutcome(
        final=last,
        status=final_status,
        polls=progress.polls,
        errors=progress.errors,
        error_messages=messages,
    )
