"""A minimal HTTP/1.1 keep-alive client on asyncio + httptools, for the load generator.

Why not httpx/aiohttp: the load generator must sustain several times the gateway's target
(1,500 req/s on one core) while sharing its core with the fake upstream; generic clients
spend most of that budget in their own machinery (measured in bench/compare_clients.py and
reported in RESULTS.md). This one does one request at a time per connection, decodes chunked
bodies through httptools, and records the time to the first SSE ``data:`` line.
"""

from __future__ import annotations

import asyncio
import re
import socket
from dataclasses import dataclass
from time import perf_counter
from typing import cast

import httptools

# What counts as the "first chunk" for TTFC. Any data line by default; the OpenAI surface
# uses FIRST_CONTENT, because a gateway may send a role-only delta before upstream answers.
FIRST_DATA = re.compile(rb"data:")
FIRST_CONTENT = re.compile(rb'"content":\s*"[^"]')
_DONE_MARKERS = (b"event: Done", b"event:Done", b"[DONE]", b"event: done", b"event:done")
_ERROR_MARKERS = (b"event: Error", b"event:Error", b"event: error", b"event:error")


class RequestError(Exception):
    """A failed exchange; ``kind`` is the bucket it is counted under in the report."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(slots=True)
class Reply:
    status: int
    body_len: int
    latency: float  # seconds from the request write to the end of the body
    ttfc: float | None  # seconds to the first SSE data line (streams only)
    events: int  # SSE data lines (streams only)
    done: bool  # the stream carried a final Done / [DONE] event
    error_event: bool  # the stream carried a Coze Error / error event


def build_request(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def count_data_lines(body: bytes | bytearray) -> int:
    return body.count(b"\ndata:") + (1 if body.startswith(b"data:") else 0)


class RawConnection(asyncio.Protocol):
    """One keep-alive connection. ``closed`` turns true when either side ends it."""

    def __init__(self, first_marker: re.Pattern[bytes] = FIRST_DATA) -> None:
        self.first_marker = first_marker
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._waiter: asyncio.Future[Reply] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._stream = False
        self._t0 = 0.0
        self._status = 0
        self._body_len = 0
        self._body = bytearray()
        self._ttfc: float | None = None
        self.first_data: asyncio.Future[float] | None = None

    @classmethod
    async def open(
        cls, host: str, port: int, first_marker: re.Pattern[bytes] = FIRST_DATA
    ) -> RawConnection:
        loop = asyncio.get_running_loop()
        try:
            _, proto = await loop.create_connection(lambda: cls(first_marker), host, port)
        except ConnectionRefusedError as exc:
            raise RequestError("connect_refused") from exc
        except OSError as exc:
            raise RequestError(f"connect_{type(exc).__name__}") from exc
        return proto

    def request(
        self, raw: bytes, stream: bool, timeout: float, notify_first: bool = False
    ) -> asyncio.Future[Reply]:
        """Send one request; the future resolves with the Reply or fails with RequestError.

        With ``notify_first``, ``self.first_data`` resolves (with the TTFC) as soon as the
        first SSE data line arrives, so a caller can hold streams open and know they are live.
        """
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Reply] = loop.create_future()
        self.first_data = loop.create_future() if notify_first else None
        if self.closed or self.transport is None:
            fut.set_exception(RequestError("closed"))
            return fut
        self._waiter = fut
        self._stream = stream
        self._status = 0
        self._body_len = 0
        self._body = bytearray()
        self._ttfc = None
        self._timer = loop.call_later(timeout, self._fail, "timeout")
        self._t0 = perf_counter()
        self.transport.write(raw)
        return fut

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, hence a cast, not a check.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._fail("parse_error")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.transport = None
        self._fail("eof" if exc is None else "reset")

    # -- httptools callbacks
    def on_headers_complete(self) -> None:
        self._status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self._body_len += len(body)
        if not self._stream:
            return
        if self._ttfc is None:
            # Look back a little so a marker split across two reads is still seen.
            start = max(0, len(self._body) - 64)
            self._body += body
            if self.first_marker.search(self._body, start) is not None:
                self._ttfc = perf_counter() - self._t0
                if self.first_data is not None and not self.first_data.done():
                    self.first_data.set_result(self._ttfc)
        else:
            self._body += body

    def on_message_complete(self) -> None:
        end = perf_counter()
        keep_alive = self.parser.should_keep_alive()
        body = self._body
        tail = bytes(body[-2048:])
        reply = Reply(
            status=self._status,
            body_len=self._body_len,
            latency=end - self._t0,
            ttfc=self._ttfc,
            events=count_data_lines(body) if self._stream else 0,
            done=self._stream and any(m in tail for m in _DONE_MARKERS),
            error_event=self._stream and any(m in body for m in _ERROR_MARKERS),
        )
        self._body = bytearray()
        waiter, self._waiter = self._waiter, None
        self._cancel_timer()
        if self.first_data is not None and not self.first_data.done():
            # Ended without any data line (e.g. a JSON error): whoever waits must not hang.
            kind = f"http_{self._status}" if self._status != 200 else "no_data"
            self.first_data.set_exception(RequestError(kind))
            self.first_data.exception()
        if not keep_alive:
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(reply)

    # -- internals
    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fail(self, kind: str) -> None:
        self._cancel_timer()
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(RequestError(kind))
        if self.first_data is not None and not self.first_data.done():
            self.first_data.set_exception(RequestError(kind))
            self.first_data.exception()  # mark retrieved: nobody may be waiting on it any more
        if not self.closed:
            self.close()
