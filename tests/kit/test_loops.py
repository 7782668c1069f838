"""BackgroundLoop: rounds on an interval, woken early on demand, stopped without cutting a
round in half (unless it overruns the grace)."""

from __future__ import annotations

import asyncio
import logging

from cozegate.kit.loops import BackgroundLoop

log = logging.getLogger("tests.loops")


async def test_a_stop_lets_the_round_in_progress_finish() -> None:
    finished: list[int] = []
    entered = asyncio.Event()

    async def duty() -> None:
        entered.set()
        await asyncio.sleep(0.2)  # a transaction in flight when the stop comes
        finished.append(1)

    loop = BackgroundLoop("t", duty, interval=60, log=log)
    loop.start()
    await entered.wait()
    await loop.stop()
    assert finished == [1]
    assert not loop.running


async def test_a_round_overrunning_the_grace_is_cancelled(caplog) -> None:
    cancelled = asyncio.Event()
    entered = asyncio.Event()

    async def duty() -> None:
        entered.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    loop = BackgroundLoop("stuck", duty, interval=60, log=log, grace=0.1)
    loop.start()
    await entered.wait()
    with caplog.at_level(logging.WARNING):
        await loop.stop()
    assert cancelled.is_set()
    assert "overran" in caplog.text


async def test_wake_runs_the_next_round_now_and_errors_do_not_end_the_loop(caplog) -> None:
    rounds: list[int] = []

    async def duty() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("first round fails")

    loop = BackgroundLoop("w", duty, interval=60, log=log)
    with caplog.at_level(logging.ERROR):
        loop.start()
        for expected in (2, 3):
            await asyncio.sleep(0.05)
            loop.wake()
            for _ in range(100):
                if len(rounds) >= expected:
                    break
                await asyncio.sleep(0.01)
            assert len(rounds) == expected
    await loop.stop()
    assert "w failed" in caplog.text


async def test_the_first_round_waits_first_delay_unless_woken_or_stopped() -> None:
    rounds: list[float] = []

    async def duty() -> None:
        rounds.append(asyncio.get_running_loop().time())

    loop = BackgroundLoop("late", duty, interval=60, log=log, first_delay=60)
    loop.start()
    await asyncio.sleep(0.1)
    assert rounds == []  # still waiting out its first delay
    loop.wake()
    for _ in range(100):
        if rounds:
            break
        await asyncio.sleep(0.01)
    assert len(rounds) == 1
    await loop.stop()

    idle = BackgroundLoop("never", duty, interval=60, log=log, first_delay=60)
    idle.start()
    await asyncio.sleep(0.05)
    await asyncio.wait_for(idle.stop(), 1)  # a stop during the delay ends it at once
    assert len(rounds) == 1  # no round ran on the way out
