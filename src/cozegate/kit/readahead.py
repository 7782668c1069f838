"""Read an async iterator ahead in a task of its own, so the consumer can wait with a timeout.

A relay waiting for the next upstream event must notice a long silence (to send a keep-alive)
without cancelling the read in progress. Racing a fresh task per item against a timer
(``asyncio.wait``) does that, but costs a task, a waiter and a timeout per item, several
times per streamed chunk. Here one task per stream reads items into a short queue, and
:meth:`ReadAhead.next` waits on a plain future with a timer: ``IDLE`` when the timer fired
first.

Only streams read through httpx need it (upstream/streams.py): the lean client's responses
wait with a wake-up time themselves, with no task and no timer per chunk.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterator
from typing import Final, Generic, TypeVar

T = TypeVar("T")


class Idle:
    """The type of :data:`IDLE`: "the wait timed out, nothing was lost" (for annotations)."""

    def __repr__(self) -> str:
        return "IDLE"


IDLE: Final = Idle()


def _wake(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)


class ReadAhead(Generic[T]):
    """``source`` read by a task, at most ``limit`` items ahead of the consumer."""

    def __init__(self, source: AsyncIterator[T], *, limit: int = 16) -> None:
        self._items: deque[T] = deque()
        self._limit = limit
        self._end = False
        self._error: BaseException | None = None
        self._ready: asyncio.Future[None] | None = None  # the consumer waits on it
        self._room: asyncio.Future[None] | None = None  # the reader waits on it when full
        self._task = asyncio.ensure_future(self._fill(source))

    async def next(self, idle: float | None = None) -> T | Idle:
        """The next item; ``IDLE`` after ``idle`` seconds without one; at the end
        StopAsyncIteration, or the exception the source raised."""
        while not self._items:
            if self._end:
                if self._error is not None:
                    error, self._error = self._error, None
                    raise error
                raise StopAsyncIteration
            loop = asyncio.get_running_loop()
            self._ready = ready = loop.create_future()
            timer = loop.call_later(idle, _wake, ready) if idle is not None else None
            try:
                await ready
            finally:
                self._ready = None
                if timer is not None:
                    timer.cancel()
            if not self._items and not self._end:
                return IDLE
        item = self._items.popleft()
        _wake(self._room)
        return item

    def ready(self) -> Iterator[T]:
        """The items already read, without waiting (the end or an error stay for next)."""
        while self._items:
            yield self._items.popleft()
            _wake(self._room)

    def close(self) -> None:
        """Stop reading (the source is left to its owner to close)."""
        self._task.cancel()

    async def _fill(self, source: AsyncIterator[T]) -> None:
        try:
            async for item in source:
                self._items.append(item)
                _wake(self._ready)
                while len(self._items) >= self._limit:
                    self._room = asyncio.get_running_loop().create_future()
                    await self._room
        except Exception as exc:
            self._error = exc
        finally:
            self._end = True
            _wake(self._ready)
