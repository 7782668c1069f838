"""A small HTTP/1.1 client for calls to Coze: keep-alive pool, streamed bodies, httptools.

Why not httpx here: the gateway makes one upstream call per request and relays long event
streams. httpx spends ~0.5-1 ms of CPU on each call (URL and header models, cookie, auth and
redirect layers, anyio cancel scopes around every socket operation) and its pool re-checks
every pooled connection on every request, so it slows down as concurrency grows (113 req/s
at c=64 against the fake upstream, vs 6,225 for a raw client: bench/RESULTS.md). This
client does only what :class:`~cozegate.upstream.transport.http.HTTPTransport` needs:

* one request at a time per connection; idle connections reused LIFO, dropped after
  ``keepalive_expiry`` or when the server closed them;
* bodies with Content-Length, chunked, or ending at EOF (parsed by httptools, the parser
  uvicorn uses); gzip/deflate decoded if a server sends them (we never ask for them);
* connect / read (between bytes) / write / pool timeouts, as httpx.Timeout gives them;
* every failure raised as the httpx exception httpx would raise, so ``transport/http.py``
  still maps errors in one place;
* the task waiting for a response's first body chunk resumes inside the callback that
  received it (``kit.eager``), once the whole packet is parsed, not one event-loop pass
  later: that chunk is what a stream's time to first byte waits for.

It does not do proxies, redirects, cookies, HTTP/2 or Expect: 100-continue; HTTPTransport
uses httpx whenever a proxy applies or a custom httpx transport (tests, the in-process
emulator) is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import select
import ssl
import sys
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

import httptools
import httpx

from cozegate.kit.eager import eager_future
from cozegate.kit.readahead import IDLE, Idle

READ_CHUNK_HIGH = 1 << 20  # buffered body bytes that pause reading from the socket
READ_CHUNK_LOW = 1 << 18


class LeanRequest:
    """What :class:`LeanPool` sends; ``url`` is built only when an error message needs it."""

    __slots__ = ("content", "headers", "method", "target", "timeout")

    def __init__(self, method: str, target: str, headers: Sequence[tuple[str, str]],
                 content: bytes, timeout: httpx.Timeout) -> None:
        self.method = method
        self.target = target  # path and query
        self.headers = headers
        self.content = content
        self.timeout = timeout

    @property
    def url(self) -> httpx.URL:
        return httpx.URL(self.target)


class _Body:
    """One response's body as it arrives: chunks, end, or failure.

    A reader waits with two limits: ``idle`` (silence that fails the read with ReadTimeout)
    and ``wake`` (time after which :meth:`next` returns ``IDLE`` so the caller can send a
    keep-alive; the silence goes on counting at the next call). Streams deliver a chunk every
    few milliseconds, so arming and cancelling a timer per wait would cost more than the wait
    itself: one timer stays armed and, when it fires, checks how long the current wait has
    lasted, re-arming itself if it fired early. It fires about once per ``wake`` at most.

    The reader is woken once per packet, after the connection parsed all of it. Only the
    wait for the first chunk is eager (``kit.eager``): it decides the time to first byte
    (bench/hops.py: ~2-3 ms less at c=64, the pass it no longer waits). Later chunks wake
    the reader one loop pass later, so that under load the chunks that came meanwhile are
    taken together (one conversion pass and one client write for several events); made
    eager too, each would be relayed on its own, and at 64 streams the gateway spent
    ~10-20% more CPU per stream.
    """

    __slots__ = ("_called_at", "_connection", "_eager", "_idle", "_loop", "_silent_since",
                 "_timer", "_timer_when", "_waiter", "_wake", "_wake_owed", "buffered", "chunks",
                 "done", "error")

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection
        self._loop = asyncio.get_running_loop()
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.done = False
        self.error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._idle: float | None = None
        self._wake: float | None = None
        self._silent_since: float | None = None  # when the reader began waiting for a chunk
        self._called_at = 0.0  # when the current next() call began (``wake`` counts from it)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when = math.inf
        self._eager = True  # until the first chunk is read
        self._wake_owed = False  # chunks or the end came while a packet was being parsed

    def feed(self, data: bytes) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered > READ_CHUNK_HIGH:
            self._connection.pause_reading()
        self._wake_reader()

    def end(self, error: BaseException | None = None) -> None:
        if self.done:
            return
        self.done = True
        self.error = error
        self._stop_timer()
        self._wake_reader()

    def _wake_reader(self) -> None:
        if self._connection.receiving:
            self._wake_owed = True  # the connection wakes it once the whole packet is parsed
            return
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def packet_parsed(self) -> None:
        """The connection parsed a packet: wake the reader if it brought chunks or the end."""
        if self._wake_owed:
            self._wake_owed = False
            self._wake_reader()

    def _deadline(self) -> float:
        idle, wake = self._idle, self._wake
        when = math.inf
        if idle is not None and self._silent_since is not None:
            when = self._silent_since + idle
        if wake is not None:
            when = min(when, self._called_at + wake)
        return when

    def _arm(self) -> None:
        when = self._deadline()
        if when >= self._timer_when:
            return  # the armed timer fires first and re-arms if the wait goes on
        self._stop_timer()
        if when != math.inf:
            self._timer = self._loop.call_at(when, self._on_timer)
            self._timer_when = when

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_when = math.inf

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_when = math.inf
        waiter = self._waiter
        if waiter is None or waiter.done():
            return  # nobody waits now: the next wait arms again
        now = self._loop.time()
        idle, silent_since = self._idle, self._silent_since
        if idle is not None and silent_since is not None and now - silent_since >= idle:
            waiter.set_exception(httpx.ReadTimeout(f"no data from Coze for {idle:g}s"))
        elif self._wake is not None and now - self._called_at >= self._wake:
            waiter.set_result(None)  # next() finds no chunk: IDLE
        else:
            self._arm()  # it was armed for an earlier wait, and this one goes on

    async def next(self, idle: float | None, wake: float | None = None) -> bytes | Idle:
        """The next chunk; b"" at the end of the body; ``IDLE`` after ``wake`` s without
        one; ReadTimeout after ``idle`` s of silence (counted across IDLE returns)."""
        if not self.chunks and not self.done:
            now = self._loop.time()
            self._idle, self._wake, self._called_at = idle, wake, now
            if self._silent_since is None:
                self._silent_since = now
            self._waiter = waiter = (eager_future(self._loop) if self._eager
                                     else self._loop.create_future())
            self._arm()
            try:
                await waiter  # woken by a chunk, the end, or the timer
            finally:
                self._waiter = None
            if not self.chunks and not self.done:
                return IDLE
        if not self.chunks:  # done
            if self.error is not None:
                raise self.error
            return b""
        self._silent_since = None
        self._eager = False
        chunk = self.chunks.popleft()
        self.buffered -= len(chunk)
        if self.buffered < READ_CHUNK_LOW:
            self._connection.resume_reading()
        return chunk


class _Connection(asyncio.Protocol):
    """One keep-alive connection and its httptools parser."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = 0.0
        self._paused = False
        self._writable: asyncio.Future[None] | None = None
        # The response being received:
        self._headers: list[tuple[bytes, bytes]] = []
        self._head: asyncio.Future[int] | None = None
        self._body: _Body | None = None
        self._length_known = False
        self._complete = False
        self._keep_alive = False
        # While a packet is parsed, the body's reader is not woken (see data_received): it
        # then resumes once per packet, with all of it.
        self.receiving = False

    # -- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._head is None:  # bytes while idle: the connection cannot be trusted
            self.close()
            return
        body = self._body
        self.receiving = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed HTTP response: {exc}"))
            self.close()
        finally:
            self.receiving = False
        # The packet is parsed: wake the body's reader now. Waiting for a first chunk, it
        # resumes right here (kit.eager), with everything this packet brought.
        if body is not None:
            body.packet_parsed()

    def eof_received(self) -> bool | None:
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._head is None or self._complete:
            return
        head_received = self._head.done()
        if head_received and not self._length_known and exc is None:
            self.on_message_complete()  # a body delimited by the end of the connection
            return
        if not head_received:
            error: httpx.HTTPError = httpx.RemoteProtocolError(
                "Server disconnected without sending a response.")
        elif exc is None:
            error = httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body")
        else:
            error = httpx.ReadError(str(exc) or type(exc).__name__)
        self._fail(error)

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    # -- httptools callbacks -------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        lowered = name.lower()  # kept lowered: every lookup compares names without case
        self._headers.append((lowered, value))
        if lowered == b"content-length" or (lowered == b"transfer-encoding"
                                            and b"chunked" in value.lower()):
            self._length_known = True

    def on_headers_complete(self) -> None:
        assert self._head is not None
        if not self._head.done():
            self._head.set_result(self.parser.get_status_code())

    def on_body(self, body: bytes) -> None:
        if self._body is not None:
            self._body.feed(body)

    def on_message_complete(self) -> None:
        self._complete = True
        # Read now: once this callback returns, llhttp has reset and always says False.
        self._keep_alive = self.parser.should_keep_alive()
        if self._head is not None and not self._head.done():
            self._head.set_result(self.parser.get_status_code())
        if self._body is not None:
            self._body.end()

    # -- used by the pool ------------------------------------------------------------------

    def start(self) -> tuple[asyncio.Future[int], _Body]:
        self._headers = []
        self._length_known = False
        self._complete = False
        self._keep_alive = False
        # A plain future: the reader of a stream's head has nothing to send until the first
        # chunk. Made eager (A/B at c=64), it gained neither time to first chunk nor
        # non-stream CPU.
        self._head = asyncio.get_running_loop().create_future()
        self._body = _Body(self)
        return self._head, self._body

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        return self._headers

    @property
    def reusable(self) -> bool:
        return (self._complete and self._keep_alive and not self.closed
                and self.transport is not None and not self.transport.is_closing())

    def alive(self) -> bool:
        """Still open, as far as can be known without sending: a server that closed an idle
        connection has its EOF waiting in the socket even before the loop reads it."""
        transport = self.transport
        if self.closed or transport is None or transport.is_closing():
            return False
        sock = transport.get_extra_info("socket")
        if sock is None:
            return True
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable  # an idle connection has nothing to read but an EOF

    def finished(self) -> None:
        """The response was handled: the connection is idle (or closed) again."""
        self._head = None
        self._body = None
        self.idle_since = time.monotonic()
        self.resume_reading()

    async def write(self, data: bytes, limit: float | None) -> None:
        assert self.transport is not None
        if self.closed or self.transport.is_closing():
            raise httpx.WriteError("connection closed before the request was written")
        self.transport.write(data)
        if self._writable is not None:
            try:
                async with asyncio.timeout(limit):
                    await self._writable
            except TimeoutError as exc:
                raise httpx.WriteTimeout("timed out writing the request") from exc

    def pause_reading(self) -> None:
        if not self._paused and self.transport is not None and not self.closed:
            self._paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self._paused and self.transport is not None and not self.closed:
            self._paused = False
            self.transport.resume_reading()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _fail(self, error: BaseException) -> None:
        if self._head is not None and not self._head.done():
            self._head.set_exception(error)
            self._head.exception()  # retrieved by the waiter; silence "never retrieved"
        if self._body is not None:
            self._body.end(error)


class LeanHeaders(Mapping[str, str]):
    """A response's headers as received (names lowered), looked up case-insensitively like
    ``httpx.Headers`` (repeated names joined with ", "; each value UTF-8 when valid, else
    ISO-8859-1).

    Each call reads two or three of them (log id, content encoding and type), so no value is
    decoded ahead: building an ``httpx.Headers`` normalised every header of every response,
    about 3% of a non-stream call's CPU (cProfile with a CPU clock). The names come lowered
    from the connection, which lowers each once as it arrives; lowering them again in every
    lookup cost ~25 ``bytes.lower`` calls per call."""

    __slots__ = ("raw",)

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.raw = raw  # (lowered name, value) pairs, in the order received

    def __getitem__(self, name: str) -> str:
        value = self._lookup(name)
        if value is None:
            raise KeyError(name)
        return value

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        # Not Mapping's: that one raises and catches a KeyError for every absent header,
        # and most lookups (content-encoding, retry-after) are for absent ones.
        value = self._lookup(name)
        return default if value is None else value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._lookup(name) is not None

    def _lookup(self, name: str) -> str | None:
        wanted = name.lower().encode("latin-1")
        values = [value for key, value in self.raw if key == wanted]
        if not values:
            return None
        return ", ".join([_header_text(value) for value in values])

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(_header_text(key) for key, _ in self.raw))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"LeanHeaders({dict(self.items())!r})"


def _header_text(value: bytes) -> str:
    # httpx picks one of the two for all of a response's headers; per value is no worse.
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


class LeanResponse:
    """The subset of ``httpx.Response`` the Coze client uses."""

    def __init__(self, request: LeanRequest, status_code: int, headers: LeanHeaders,
                 body: _Body, release: Any) -> None:
        self.request = request
        self.status_code = status_code
        self.headers = headers
        self._body = body
        self._release = release  # (keep: bool) -> None, once
        self._content: bytes | None = None
        self._decoder = _decoder(headers.get("content-encoding"))
        if self._decoder is None:
            # Nothing to decode (Coze never compresses): the body's own read, bound to the
            # read timeout, is next_chunk: one coroutine fewer for every chunk of a stream.
            self.next_chunk = functools.partial(body.next, request.timeout.read)  # type: ignore[method-assign]

    async def next_chunk(self, wake: float | None = None) -> bytes | Idle:
        """The next piece of the (decoded) body; b"" at its end; ``IDLE`` after ``wake``
        seconds without one (nothing is lost: the read goes on at the next call)."""
        while True:
            chunk = await self._body.next(self.request.timeout.read, wake)
            if chunk is IDLE:
                return chunk
            decoder = self._decoder
            if decoder is None:
                return chunk  # type: ignore[return-value]
            if not chunk:
                self._decoder = None
                return decoder.flush()  # type: ignore[no-any-return]
            chunk = decoder.decompress(chunk)
            if chunk:
                return chunk  # type: ignore[return-value]

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        try:
            while chunk := await self.next_chunk():
                yield chunk  # type: ignore[misc]
        finally:
            await self.aclose()

    async def aread(self) -> bytes:
        if self._content is None:
            self._content = b"".join([chunk async for chunk in self.aiter_bytes()])
        return self._content

    @property
    def content(self) -> bytes:
        if self._content is None:
            raise httpx.ResponseNotRead()
        return self._content

    @property
    def text(self) -> str:
        content_type = self.headers.get("content-type", "")
        charset = "utf-8"
        for part in content_type.split(";")[1:]:
            name, _, value = part.strip().partition("=")
            if name.lower() == "charset" and value:
                charset = value.strip('"')
        return self.content.decode(charset, errors="replace")

    @property
    def is_closed(self) -> bool:
        return self._release is None

    @property
    def body_complete(self) -> bool:
        """The whole body has arrived without error (reading the rest will not wait)."""
        return self._body.done and self._body.error is None

    async def aclose(self) -> None:
        release, self._release = self._release, None
        if release is None:
            return
        complete = self._body.done and self._body.error is None
        if not complete:  # a reader in another task stops with an error, not a clean end
            self._body.end(httpx.ReadError("the response was closed"))
        release(complete)


def _expire(head: asyncio.Future[int], limit: float) -> None:
    if not head.done():
        head.set_exception(httpx.ReadTimeout(f"no response from Coze in {limit:g}s"))


def _decoder(encoding: str | None) -> Any:
    if not encoding or encoding.lower() == "identity":
        return None
    if encoding.lower() in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding.lower() == "deflate":
        return zlib.decompressobj()
    raise httpx.DecodingError(f"unsupported content-encoding {encoding!r}")


class LeanPool:
    """Connections to one origin (``scheme://host:port``), used by one HTTPTransport."""

    def __init__(self, url: httpx.URL, *, limits: httpx.Limits,
                 headers: Sequence[tuple[str, str]] = ()) -> None:
        self._host = url.host
        self._port = url.port or (443 if url.scheme == "https" else 80)
        self._tls = url.scheme == "https"
        self._ssl: ssl.SSLContext | None = None
        default_port = self._port == (443 if self._tls else 80)
        host_header = self._host if default_port else f"{self._host}:{self._port}"
        if ":" in self._host:  # an IPv6 literal
            host_header = f"[{self._host}]" if default_port else f"[{self._host}]:{self._port}"
        self._head = f"Host: {host_header}\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers)
        # httpx.Limits: None means no limit.
        self._max_connections = limits.max_connections or sys.maxsize
        self._max_idle = sys.maxsize if limits.max_keepalive_connections is None \
            else limits.max_keepalive_connections
        self._expiry = math.inf if limits.keepalive_expiry is None else limits.keepalive_expiry
        self._idle: list[_Connection] = []
        self._busy = 0  # connections with a request in flight
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False

    @property
    def is_closed(self) -> bool:
        return self._closed

    async def send(self, request: LeanRequest) -> LeanResponse:
        """Send ``request`` and return once the response headers arrived."""
        timeout = request.timeout
        await self._reserve(timeout.pool)
        try:
            connection = self._idle_connection() or await self._connect(timeout.connect)
        except BaseException:
            self._unreserve()
            raise
        head, body = connection.start()
        released = False

        def release(keep: bool) -> None:
            nonlocal released
            if released:
                return
            released = True
            self._put_back(connection, keep)

        try:
            await connection.write(self._encode(request), timeout.write)
            status = await self._wait_head(head, timeout.read)
        except BaseException:
            release(False)
            raise
        return LeanResponse(request, status, LeanHeaders(connection.headers), body, release)

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    # -- internals -------------------------------------------------------------------------

    def _encode(self, request: LeanRequest) -> bytes:
        lines = [f"{request.method} {request.target} HTTP/1.1\r\n", self._head]
        lines += [f"{name}: {value}\r\n" for name, value in request.headers]
        if request.content or request.method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(request.content)}\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("latin-1") + request.content

    async def _wait_head(self, head: asyncio.Future[int], limit: float | None) -> int:
        if head.done() or limit is None:
            return await head
        # A timer failing the future: cheaper than asyncio.timeout on every call.
        timer = asyncio.get_running_loop().call_later(limit, _expire, head, limit)
        try:
            return await head
        finally:
            timer.cancel()

    async def _reserve(self, limit: float | None) -> None:
        if self._closed:
            raise httpx.PoolTimeout("the connection pool is closed")
        if self._busy < self._max_connections and not self._waiters:
            self._busy += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(limit):
                await waiter  # the slot is handed over by _unreserve
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self._unreserve()  # handed a slot we no longer want
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            if isinstance(exc, TimeoutError):
                raise httpx.PoolTimeout("no free connection to Coze in time") from exc
            raise

    def _unreserve(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes on: _busy is unchanged
                return
        self._busy -= 1

    def _idle_connection(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if now - connection.idle_since < self._expiry and connection.alive():
                return connection
            connection.close()
        return None

    async def _connect(self, limit: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        if self._tls and self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        try:
            async with asyncio.timeout(limit):
                _, connection = await loop.create_connection(
                    _Connection, self._host, self._port, ssl=self._ssl,
                    server_hostname=self._host if self._tls else None)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connect timed out after {limit:g}s") from exc
        except OSError as exc:  # refused, unreachable, DNS, TLS handshake (ssl.SSLError)
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        return connection

    def _put_back(self, connection: _Connection, keep: bool) -> None:
        if keep and connection.reusable and not self._closed \
                and len(self._idle) < self._max_idle:
            connection.finished()
            self._idle.append(connection)
        else:
            connection.close()
        self._unreserve()
