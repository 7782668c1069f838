"""Channel failover before the first byte, shared by the OpenAI relay and the Coze surface.

A call is offered to the candidate channels in order. A channel that could not be reached
(connect error) or answered 5xx / code 5000 before anything was relayed is marked failed and
the next one is tried; when every channel failed that way, the round is repeated after a
backoff, up to ``max_retries`` rounds. Any other error is the answer and is raised at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from cozegate.relay.upstreams import ChannelAccess, UpstreamPool
from cozegate.upstream import CozeAPIError, CozeClient, CozeConnectError, CozeError, RetryPolicy

log = logging.getLogger("cozegate.relay")

T = TypeVar("T")


class ChannelHealth(Protocol):
    async def record_success(self, channel: ChannelAccess) -> None: ...

    async def record_failure(self, channel: ChannelAccess, error: str) -> None: ...


class ChannelSlot(Protocol):
    """Whatever remembers which channel served a call (the metered ``Call``)."""

    channel_id: int | None
    channel_name: str | None


async def open_with_failover(candidates: Sequence[ChannelAccess],
                             opener: Callable[[CozeClient], Awaitable[T]], *,
                             health: ChannelHealth, upstreams: UpstreamPool, max_retries: int,
                             slot: ChannelSlot | None = None) -> tuple[ChannelAccess, T]:
    """The first answer of ``opener`` over ``candidates`` (not empty), with its channel."""
    policy = RetryPolicy(max_retries=max_retries)
    attempt = 0
    while True:
        last_error: CozeError | None = None
        for channel in candidates:
            if slot is not None:
                slot.channel_id, slot.channel_name = channel.id, channel.name
            try:
                answer = await opener(upstreams.client_for(channel))
            except CozeError as exc:
                if not fails_over(exc):
                    raise
                last_error = exc
                await health.record_failure(channel, str(exc))
                log.warning("channel %s failed before the first byte (%s)", channel.name, exc)
                continue
            await health.record_success(channel)
            return channel, answer
        assert last_error is not None
        if not policy.should_retry(last_error, safe=False, attempt=attempt):
            raise last_error
        await asyncio.sleep(policy.delay(attempt, last_error))
        attempt += 1


def fails_over(exc: CozeError) -> bool:
    """Connect errors and 5xx before the first byte: another channel may do better."""
    if isinstance(exc, CozeConnectError):
        return True
    if isinstance(exc, CozeAPIError):
        status = exc.http_status or 0
        return status >= 500 or exc.code == 5000
    return False
