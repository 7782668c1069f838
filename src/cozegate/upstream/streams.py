"""Open event streams from Coze, iterated event by event, always closing the HTTP response.

A stream is complete only when its final event arrived (workflow ``Done``/``Error``/``Interrupt``,
chat flow ``done``/``conversation.chat.failed``/``error``). EOF before that, a connection that
breaks mid-event, or silence longer than the idle timeout raise :class:`CozeStreamError`, so a
caller never mistakes a truncated run for a finished one.

After ``Done`` (workflow) or ``done`` (chat) nothing can follow, so iteration stops right there
instead of waiting for Coze to close the socket; after ``Error``/``Interrupt``/``failed`` a
trailing ``Done``/``done`` may still come, so the stream is read to EOF.

Stopping at ``Done`` still reads the end of the HTTP body when it comes at once (it normally
arrives in the same packet): a response closed before its last chunk costs its connection,
and every next call would open a new one. The wait is bounded by ``END_OF_BODY_WAIT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import operator
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping, Sequence
from types import TracebackType
from typing import Any, Generic, NoReturn, Self, TypeVar

import httpx

from cozegate.kit.readahead import IDLE, Idle, ReadAhead
from cozegate.kit.sse import SSEEvent, SSEParser
from cozegate.protocol.coze import (
    ChatEvent,
    ChatEventType,
    WorkflowEvent,
    WorkflowEventType,
)
from cozegate.upstream.errors import CozeStreamError
from cozegate.upstream.transport.http import map_stream_error

E = TypeVar("E", WorkflowEvent, ChatEvent)

# Seconds to wait for the end of the body after the last event, so the connection can be
# reused; past it the connection is dropped, as before.
END_OF_BODY_WAIT = 0.05


class EventStream(Generic[E]):
    """Async iterator over the events of one streamed response; use as ``async with``."""

    def __init__(
        self,
        response: httpx.Response,
        *,
        make_event: Callable[[SSEEvent], E],
        is_final: Callable[[E], bool],
        is_last: Callable[[E], bool],
        idle_timeout: float,
    ) -> None:
        self.response = response
        self._make_event = make_event
        self._is_final = is_final  # the stream may end (at EOF) after this event
        self._is_last = is_last  # nothing may follow this event: stop reading
        self._idle_timeout = idle_timeout
        self._parser = SSEParser()
        self._pending: deque[E] = deque()
        self._chunks: AsyncIterator[bytes] | None = None
        # The lean client's response can wait with a wake-up time itself; an httpx response
        # is read ahead by a task once a caller waits with one (see _next_chunk).
        self._next_lean: Callable[[float | None], Awaitable[bytes | Idle]] | None = getattr(
            response, "next_chunk", None)
        self._ahead: ReadAhead[bytes] | None = None
        self._finished = False
        self._stopped = False
        self.events_received = 0

    @property
    def logid(self) -> str | None:
        return self.response.headers.get("x-tt-logid")

    @property
    def headers(self) -> Mapping[str, str]:
        return self.response.headers

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def finished(self) -> bool:
        """True once the final event was received."""
        return self._finished

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._stopped = True
        # __anext__ checks _stopped first, so the byte source is never read after this.
        if self._ahead is not None:
            self._ahead.close()
        chunks, self._chunks = self._chunks, None
        close_chunks = getattr(chunks, "aclose", None)
        if close_chunks is not None:
            # Finalize httpx's byte generator now rather than at GC time. If another task is
            # inside it right now ("already running"), closing the response below ends it.
            with contextlib.suppress(RuntimeError):
                await close_chunks()
        await self.response.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> E:
        return await self.next_event()  # type: ignore[return-value]  # no wait: never IDLE

    async def next_event(self, wait: float | None = None) -> E | Idle:
        """The next event; ``IDLE`` when ``wait`` seconds pass without one (the read goes
        on: call again); StopAsyncIteration at the end.

        The read of a chunk is written out here, not in a coroutine of its own: it runs for
        every chunk of every stream, and each coroutine in the chain is resumed twice per
        chunk."""
        pending = self._pending
        if not pending:
            deadline = None
            if wait is not None:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + wait
            while not pending:
                if self._stopped:
                    raise StopAsyncIteration
                # A chunk without a whole event does not restart the wait.
                left = None if deadline is None else max(deadline - loop.time(), 0.0)
                try:
                    # The lean client's read awaited directly: one coroutine fewer.
                    next_lean = self._next_lean
                    chunk = await (self._next_chunk(left) if next_lean is None
                                   else next_lean(left))
                except Exception as exc:
                    if self._stopped:
                        continue  # we closed it (aclose from another task): a clean end
                    await self._broke(exc)
                if chunk is IDLE:
                    return IDLE
                if chunk:
                    self._parse(chunk)  # type: ignore[arg-type]
                else:
                    await self._at_eof()
        event = pending.popleft()
        if self._is_last(event) and not pending:
            await self._read_end_of_body()
            await self.aclose()
        return event

    def ready(self) -> Sequence[E]:
        """The events already received, without reading. The event that ends the stream is
        left to :meth:`next_event`, which closes the stream after it."""
        pending = self._pending
        if not pending:  # the usual case, once per chunk: no generator, no list
            return ()
        taken: list[E] = []
        while pending and not (len(pending) == 1 and self._is_last(pending[0])):
            taken.append(pending.popleft())
        return taken

    async def _read_end_of_body(self) -> None:
        # The lean client may already hold the whole body (the usual case: its end came in
        # the last event's packet). Then there is nothing to read or wait for: closing the
        # stream releases the connection as complete.
        if getattr(self.response, "body_complete", False):
            return
        # A late or broken tail only costs the connection.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(END_OF_BODY_WAIT):
                while await self._next_chunk(None):  # nothing may follow the last event
                    pass

    async def _next_chunk(self, wait: float | None) -> bytes | Idle:
        """The next body chunk, b"" at the end, ``IDLE`` after ``wait`` s without one."""
        if self._next_lean is not None:
            return await self._next_lean(wait)
        if self._chunks is None:
            self._chunks = self.response.aiter_bytes()
        if self._ahead is None and wait is not None:
            # httpx cannot wait with a timeout without cancelling the read: from now on a
            # task reads the chunks and the timeout is on the wait for that task.
            self._ahead = ReadAhead(self._chunks)
        try:
            if self._ahead is not None:
                return await self._ahead.next(wait)
            return await anext(self._chunks)
        except StopAsyncIteration:
            return b""

    async def _broke(self, exc: Exception) -> NoReturn:
        """The read of a chunk failed: close, and raise what it means for a stream."""
        await self.aclose()
        if isinstance(exc, httpx.HTTPError):
            raise map_stream_error(exc, self.response.request, self._idle_timeout) from exc
        # A custom transport's own exception (see transport/http.py send()).
        raise CozeStreamError(f"Coze stream broke: {type(exc).__name__}: {exc}") from exc

    def _parse(self, chunk: bytes) -> None:
        for sse in self._parser.feed(chunk):
            if _carries_nothing(sse):
                continue
            self._accept(self._make_event(sse))

    def _accept(self, event: E) -> None:
        if self._stopped:
            return
        self.events_received += 1
        self._pending.append(event)
        if self._is_final(event):
            self._finished = True
        if self._is_last(event):
            self._stopped = True  # drop anything after it; see the module docstring

    async def _at_eof(self) -> None:
        for sse in self._parser.close():
            self._accept(self._make_event(sse))
        await self.aclose()
        if not self._finished:
            raise CozeStreamError("Coze stream ended before the final event")


def _carries_nothing(sse: SSEEvent) -> bool:
    # A block of only ``retry:``/``id:`` lines: WHATWG dispatches no event for it (empty data
    # buffer), but kit.sse reports it; it must not reach callers as a nameless "message".
    return sse.event is None and not sse.data


class WorkflowStream(EventStream[WorkflowEvent]):
    """Events of ``/v1/workflow/stream_run`` and ``/v1/workflow/stream_resume``."""

    def __init__(self, response: httpx.Response, *, idle_timeout: float) -> None:
        super().__init__(
            response,
            make_event=WorkflowEvent,
            is_final=_workflow_final,
            is_last=_workflow_last,
            idle_timeout=idle_timeout,
        )


class ChatStream(EventStream[ChatEvent]):
    """Events of ``/v1/workflows/chat``."""

    def __init__(self, response: httpx.Response, *, idle_timeout: float) -> None:
        super().__init__(
            response,
            make_event=ChatEvent,
            is_final=_chat_final,
            is_last=_chat_last,
            idle_timeout=idle_timeout,
        )


# A C-level callable (no Python frame): asked of every event of every stream.
_workflow_final: Callable[[WorkflowEvent], bool] = operator.attrgetter("is_final")


def _workflow_last(event: WorkflowEvent) -> bool:
    return event.type is WorkflowEventType.DONE


def _chat_final(event: ChatEvent) -> bool:
    return event.is_final


def _chat_last(event: ChatEvent) -> bool:
    return event.type is ChatEventType.DONE


S = TypeVar("S", WorkflowStream, ChatStream)


class StreamOpener(Generic[S]):
    """What ``stream_*`` methods return: ``async with`` it (preferred), or ``await`` it.

    The request is sent on enter/await, so a pre-stream error (JSON body) raises there. When
    awaited, the caller owns the stream and must ``await stream.aclose()``.
    """

    def __init__(self, open_stream: Callable[[], Awaitable[S]]) -> None:
        self._open_stream = open_stream
        self._stream: S | None = None

    def __await__(self) -> Generator[Any, None, S]:
        return self._open_stream().__await__()

    async def __aenter__(self) -> S:
        self._stream = await self._open_stream()
        return self._stream

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stream is not None:
            await self._stream.aclose()
