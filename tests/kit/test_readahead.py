"""kit.readahead: items in order, IDLE on silence without losing the read, errors, limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from cozegate.kit.readahead import IDLE, ReadAhead


async def source(items: list[object], *, pause: float = 0.0,
                 error: Exception | None = None, read: list[object] | None = None
                 ) -> AsyncIterator[object]:
    for item in items:
        if pause:
            await asyncio.sleep(pause)
        if read is not None:
            read.append(item)
        yield item
    if error is not None:
        raise error


async def test_items_in_order_then_the_end() -> None:
    reader = ReadAhead(source([1, 2, 3]))
    assert [await reader.next(), await reader.next(), await reader.next()] == [1, 2, 3]
    with pytest.raises(StopAsyncIteration):
        await reader.next()


async def test_silence_is_idle_and_the_read_goes_on() -> None:
    reader = ReadAhead(source(["late"], pause=0.1))
    assert await reader.next(0.01) is IDLE
    assert await reader.next(0.01) is IDLE
    assert await reader.next(5) == "late"  # the read was never cancelled


async def test_the_source_error_comes_after_its_items() -> None:
    reader = ReadAhead(source([1], error=ValueError("broken")))
    assert await reader.next() == 1
    with pytest.raises(ValueError, match="broken"):
        await reader.next()
    with pytest.raises(StopAsyncIteration):
        await reader.next()


async def test_reads_at_most_limit_ahead_and_close_stops_reading() -> None:
    read: list[object] = []
    reader = ReadAhead(source(list(range(100)), read=read), limit=4)
    await asyncio.sleep(0.01)
    assert len(read) == 4
    assert await reader.next() == 0
    await asyncio.sleep(0.01)
    assert len(read) == 5
    reader.close()
    await asyncio.sleep(0.01)
    assert len(read) == 5


async def test_ready_takes_what_was_read_without_waiting() -> None:
    reader = ReadAhead(source([1, 2, 3], error=ValueError("late")))
    assert await reader.next() == 1
    await asyncio.sleep(0.01)
    assert list(reader.ready()) == [2, 3]
    assert list(reader.ready()) == []
    with pytest.raises(ValueError, match="late"):
        await reader.next()
