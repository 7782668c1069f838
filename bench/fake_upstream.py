"""Fake Coze upstream for benchmarks: raw asyncio + httptools on uvloop.

Speaks just enough of the Coze workflow protocol for the gateway to relay it:
- ``POST /v1/workflow/run``: sync JSON (top-level ``debug_url``, string ``data``, ``usage``,
  ``execute_id``), answered after ``delay_ms``;
- ``POST /v1/workflow/stream_run``: SSE, ``chunks`` Message events each preceded by ``delay_ms``
  (so the first chunk arrives after one delay, like a model's time to first token), then an
  End Message carrying usage, then ``Done``, then the end of the chunked body;
- ``POST /v1/workflows/chat``: chat-flow SSE (no ``id:`` lines), same pacing;
- ``POST /_bench/config?delay_ms=&chunks=``: change the defaults at runtime. The runner uses it
  between scenarios because a gateway in front will not forward per-request overrides;
- per request, ``?delay_ms=&chunks=`` or ``X-Fake-Delay-Ms`` / ``X-Fake-Chunks`` override them.

Any ``Authorization: Bearer <anything>`` is accepted; a missing one gets Coze's 4100 so a
gateway that forgets the channel token is caught. It is deliberately not an ASGI app: a raw
protocol costs a fraction of uvicorn's per-request overhead, and the upstream has to share a
core with the load generator without becoming the bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import socket
from collections import deque
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import cast
from urllib.parse import parse_qs

import httptools

from bench import coze_frames as frames
from bench.aio import run_fast


@dataclass(slots=True)
class UpstreamConfig:
    delay_ms: float = 0.0
    chunks: int = 20
    close_streams: bool = False  # close the TCP connection after each stream, like a proxy might


_INTERESTING = {b"authorization", b"x-fake-delay-ms", b"x-fake-chunks"}
_EXEC_IDS = itertools.count(7516000000000100000)
_REASONS = {200: b"OK", 400: b"Bad Request", 401: b"Unauthorized", 404: b"Not Found"}


@lru_cache(maxsize=4096)
def _message(i: int, n: int) -> bytes:
    return frames.workflow_message(i, n)


@lru_cache(maxsize=4096)
def _chat_delta(i: int) -> bytes:
    return frames.chat_delta(i, "7516000000000001001", "7516000000000002001")


def _head(status: int, ctype: bytes, extra: bytes, keep_alive: bool) -> bytes:
    conn = b"" if keep_alive else b"Connection: close\r\n"
    return (
        b"HTTP/1.1 %d %b\r\nContent-Type: %b\r\nX-Tt-Logid: %b\r\n%b%b\r\n"
        % (status, _REASONS.get(status, b"Error"), ctype, frames.LOGID.encode(), extra, conn)
    )


class _Request:
    __slots__ = ("authorized", "chunks", "delay_ms", "keep_alive", "path")

    def __init__(
        self, url: bytes, headers: dict[bytes, bytes], keep_alive: bool, cfg: UpstreamConfig
    ) -> None:
        path, _, query = url.partition(b"?")
        self.path = path
        self.keep_alive = keep_alive
        self.authorized = headers.get(b"authorization", b"").lower().startswith(b"bearer ")
        self.delay_ms = cfg.delay_ms
        self.chunks = cfg.chunks
        if query:
            q = parse_qs(query.decode())
            if "delay_ms" in q:
                self.delay_ms = float(q["delay_ms"][0])
            if "chunks" in q:
                self.chunks = int(q["chunks"][0])
        if b"x-fake-delay-ms" in headers:
            self.delay_ms = float(headers[b"x-fake-delay-ms"])
        if b"x-fake-chunks" in headers:
            self.chunks = int(headers[b"x-fake-chunks"])


class _Connection(asyncio.Protocol):
    """One client connection; requests are answered strictly in order (no pipelining races)."""

    def __init__(self, cfg: UpstreamConfig) -> None:
        self.cfg = cfg
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.headers: dict[bytes, bytes] = {}
        self.pending: deque[_Request] = deque()
        self.busy = False
        self.task: asyncio.Task[None] | None = None
        self.timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, hence a cast, not a check.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:  # small SSE frames must leave at once, not wait for Nagle
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._write_json(400, frames.error_body(4000, "bad request"), keep_alive=False)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.task is not None:
            self.task.cancel()
        if self.timer is not None:
            self.timer.cancel()

    # -- httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = {}

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name in _INTERESTING:
            self.headers[name] = value

    def on_message_complete(self) -> None:
        try:
            req = _Request(self.url, self.headers, self.parser.should_keep_alive(), self.cfg)
        except ValueError:
            self._write_json(400, frames.error_body(4000, "bad override"), keep_alive=False)
            return
        self.pending.append(req)
        if not self.busy:
            self._next()

    # -- dispatch
    def _next(self) -> None:
        if not self.pending or self.transport is None:
            self.busy = False
            return
        self.busy = True
        req = self.pending.popleft()
        path = req.path
        if path == b"/_bench/config":
            self._configure(req)
        elif path == b"/_bench/health":
            self._write_json(200, b'{"status":"ok"}', req.keep_alive)
        elif not req.authorized and path.startswith(b"/v1/"):
            body = frames.error_body(4100, "authentication is invalid")
            self._write_json(401, body, req.keep_alive)
        elif path == b"/v1/workflow/run":
            self._run(req)
        elif path == b"/v1/workflow/stream_run":
            self._start_stream(req, chat=False)
        elif path == b"/v1/workflows/chat":
            self._start_stream(req, chat=True)
        else:
            self._write_json(404, frames.error_body(4000, "unknown path"), req.keep_alive)

    def _finished(self, keep_alive: bool) -> None:
        self.task = None
        self.timer = None
        if not keep_alive and self.transport is not None:
            self.transport.close()
            self.transport = None
        self._next()

    def _write_json(self, status: int, body: bytes, keep_alive: bool) -> None:
        if self.transport is not None:
            extra = b"Content-Length: %d\r\n" % len(body)
            self.transport.write(
                _head(status, b"application/json; charset=utf-8", extra, keep_alive) + body
            )
        self._finished(keep_alive)

    def _configure(self, req: _Request) -> None:
        # _Request already applied the query overrides; persist them as the new defaults.
        self.cfg.delay_ms = req.delay_ms
        self.cfg.chunks = req.chunks
        self._write_json(200, json.dumps(asdict(self.cfg)).encode(), req.keep_alive)

    def _run(self, req: _Request) -> None:
        body = frames.run_body(str(next(_EXEC_IDS)))
        if req.delay_ms <= 0:
            self._write_json(200, body, req.keep_alive)
            return
        loop = asyncio.get_running_loop()
        self.timer = loop.call_later(
            req.delay_ms / 1000, self._write_json, 200, body, req.keep_alive
        )

    def _start_stream(self, req: _Request, chat: bool) -> None:
        keep_alive = req.keep_alive and not self.cfg.close_streams
        head = _head(
            200,
            b"text/event-stream; charset=utf-8",
            b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n",
            keep_alive,
        )
        parts = self._chat_parts(req.chunks) if chat else self._workflow_parts(req.chunks)
        assert self.transport is not None
        if req.delay_ms <= 0:  # no pacing: one write, no task, cheapest possible path
            self.transport.write(head + b"".join(parts))
            self._finished(keep_alive)
            return
        self.transport.write(head)
        self.task = asyncio.get_running_loop().create_task(
            self._paced(parts, req.delay_ms / 1000, keep_alive)
        )

    @staticmethod
    def _workflow_parts(n: int) -> list[bytes]:
        # Delay goes before every Message; the End message + Done + terminator go as one write.
        exec_id = str(next(_EXEC_IDS))
        return [_message(i, n) for i in range(n)] + [frames.workflow_tail(n, exec_id)]

    @staticmethod
    def _chat_parts(n: int) -> list[bytes]:
        chat_id, conv_id = "7516000000000001001", "7516000000000002001"
        exec_id = str(next(_EXEC_IDS))
        head = frames.chat_head(chat_id, conv_id)
        deltas = [_chat_delta(i) for i in range(n)]
        if deltas:
            deltas[0] = head + deltas[0]
        else:
            deltas = [head]
        return [*deltas, frames.chat_tail(n, chat_id, conv_id, exec_id)]

    async def _paced(self, parts: list[bytes], delay: float, keep_alive: bool) -> None:
        for part in parts[:-1]:
            await asyncio.sleep(delay)
            if self.transport is None:
                return
            self.transport.write(part)
        if self.transport is not None:
            self.transport.write(parts[-1])
        self._finished(keep_alive)


async def start_server(
    host: str = "127.0.0.1", port: int = 0, cfg: UpstreamConfig | None = None
) -> asyncio.Server:
    """Start listening; the caller owns the server (``close()`` + ``wait_closed()``)."""
    config = cfg or UpstreamConfig()
    loop = asyncio.get_running_loop()
    # A large backlog: the memory scenario opens 2,000 connections in a burst.
    return await loop.create_server(lambda: _Connection(config), host, port, backlog=4096)


def bound_port(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


async def _serve(args: argparse.Namespace) -> None:
    cfg = UpstreamConfig(args.delay_ms, args.chunks, args.close_streams)
    server = await start_server(args.host, args.port, cfg)
    # The runner waits for this line to learn the port (``--port 0``) and readiness.
    print(f"fake-upstream listening on http://{args.host}:{bound_port(server)}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--delay-ms", type=float, default=0.0, help="delay before each chunk / reply")
    p.add_argument("--chunks", type=int, default=20, help="streamed Message chunks before End")
    p.add_argument("--close-streams", action="store_true", help="close TCP after each stream")
    args = p.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        run_fast(_serve(args))


if __name__ == "__main__":
    main()
