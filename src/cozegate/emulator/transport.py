"""``EmulatorTransport``: an in-process httpx transport that streams, for the sandbox channel.

``httpx.ASGITransport`` runs the app to completion and buffers the whole body, so an
in-process stream arrives all at once (a 30 s ``slow_job`` blocks 30 s, PINGs are useless).
This transport runs the app in a task and hands body chunks to the client as they are sent.
It also gives the app the ``cozegate.emulator.abort`` scope extension, so the ``drop`` and
``break`` faults look exactly like a network failure: ``httpx.RemoteProtocolError``.
Closing the response early tells the app the client disconnected (``http.disconnect``).

Note: httpx applies no timeouts to custom transports; callers wanting read timeouts wrap
their reads (e.g. ``asyncio.timeout``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.types import ASGIApp, Message

from cozegate.emulator.faults import ABORT_EXTENSION

DISCONNECT_GRACE = 1.0  # seconds an app gets to notice a client hang-up before it is cancelled
_END = object()


class _Exchange:
    """One request/response between the client and the app task."""

    def __init__(self, request: httpx.Request) -> None:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        self._request_chunks = request.stream.__aiter__()
        self._request_done = False
        self.started = asyncio.Event()
        self.closed = asyncio.Event()
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.finished = False  # the body's last message was sent
        self.aborted = False

    async def receive(self) -> Message:
        if self._request_done:
            await self.closed.wait()
            return {"type": "http.disconnect"}
        try:
            body = await anext(self._request_chunks)
        except StopAsyncIteration:
            self._request_done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": body, "more_body": True}

    async def send(self, message: Message) -> None:
        if self.closed.is_set() or self.aborted or self.finished:
            return  # like a server socket after the peer left: writes go nowhere
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
            self.started.set()
        elif message["type"] == "http.response.body":
            if message.get("body"):
                self.queue.put_nowait(message["body"])
            if not message.get("more_body", False):
                self.finished = True
                self.queue.put_nowait(_END)

    def abort(self, hard: bool) -> None:
        """The scope extension: the connection dies (``hard``: before anything more is read)."""
        if self.aborted or self.finished:
            return
        self.aborted = True
        if self.status is None:
            self.started.set()  # handle_async_request raises for a response that never came
        else:
            self.queue.put_nowait(
                httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body"
                )
            )


class _Body(httpx.AsyncByteStream):
    def __init__(self, exchange: _Exchange, task: asyncio.Task[None]) -> None:
        self._exchange = exchange
        self._task = task

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            item = await self._exchange.queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    async def aclose(self) -> None:
        self._exchange.closed.set()
        if not self._task.done():
            await asyncio.wait({self._task}, timeout=DISCONNECT_GRACE)
        if not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


class EmulatorTransport(httpx.AsyncBaseTransport):
    """Serve httpx requests from an ASGI app (normally the emulator) in this event loop."""

    def __init__(self, app: ASGIApp, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self.app = app
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        exchange = _Exchange(request)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "server": (request.url.host, request.url.port),
            "client": self.client,
            "root_path": "",
            "extensions": {ABORT_EXTENSION: exchange.abort},
        }
        task = asyncio.ensure_future(self._run(scope, exchange))
        started = asyncio.ensure_future(exchange.started.wait())
        await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if exchange.status is None:
            if task.done() and not exchange.aborted:
                task.result()  # an app error before any response: raise it, as ASGITransport does
                raise httpx.RemoteProtocolError("app returned without starting a response")
            await _finish(task)
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(
            exchange.status, headers=exchange.headers, stream=_Body(exchange, task), request=request
        )

    async def _run(self, scope: dict[str, Any], exchange: _Exchange) -> None:
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except Exception:
            if exchange.status is None:
                raise
            # After the head went out an app error can only cut the body short.
            exchange.abort(hard=False)
        finally:
            if exchange.status is not None and not exchange.finished and not exchange.aborted:
                exchange.abort(hard=False)


async def _finish(task: asyncio.Task[None]) -> None:
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await asyncio.wait_for(task, DISCONNECT_GRACE)
