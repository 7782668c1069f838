"""A ``text/event-stream`` response that stops when the client goes away, cheaply.

Starlette's StreamingResponse (under servers before ASGI spec 2.4, uvicorn included) runs
each stream in an anyio task group: a task for the body, a task waiting for the disconnect,
cancel scopes around both. This response streams in the request's own task and starts one
watcher task; when the client disconnects, the watcher cancels the streaming task, the body
iterator's ``finally`` runs (the relay settles there) and the response ends quietly.

It can also encode the items itself (``encode``) and send fixed bytes before the first and
with the end of the body (``first``, ``last``): a relay then needs no generator of its own
between its items and the socket, and its closing bytes ride in the body's last write.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Generic, TypeVar

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

T = TypeVar("T")


class EventStreamResponse(Response, Generic[T]):
    """``chunks``: the bytes to send, or items that ``encode`` turns into them (one write
    each). ``first`` is sent before them and ``last`` with the end of the body, when the
    chunks ran out (not when the client left)."""

    media_type = "text/event-stream"

    def __init__(self, chunks: AsyncIterator[T], *, encode: Callable[[T], bytes] | None = None,
                 first: bytes = b"", last: bytes = b"",
                 headers: Mapping[str, str] | None = None, status_code: int = 200) -> None:
        self.chunks = chunks
        self.encode = encode
        self.first, self.last = first, last
        self.status_code = status_code
        self.background = None
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        streaming = asyncio.current_task()
        assert streaming is not None
        gone = asyncio.Event()
        watcher = asyncio.ensure_future(_watch(receive, streaming, gone))
        encode = self.encode
        try:
            await send({"type": "http.response.start", "status": self.status_code,
                        "headers": self.raw_headers})
            if self.first:
                await send({"type": "http.response.body", "body": self.first,
                            "more_body": True})
            async for chunk in self.chunks:
                await send({"type": "http.response.body",
                            "body": chunk if encode is None else encode(chunk),
                            "more_body": True})
            await send({"type": "http.response.body", "body": self.last, "more_body": False})
        except asyncio.CancelledError:
            if not gone.is_set():
                raise
            streaming.uncancel()  # our own cancellation: the client left, nothing failed
        finally:
            watcher.cancel()
            await _close(self.chunks)


async def _watch(receive: Receive, streaming: asyncio.Task[Any], gone: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()
    streaming.cancel()


async def _close(chunks: AsyncIterator[Any]) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()
