"""Test helpers: a raw asyncio HTTP/1.1 server for transport-level faults, a counting transport.

The raw server exists for faults an HTTP framework cannot produce (a connection dropped after
the request was read, a stream cut mid-event, a socket that goes silent). Each connection
reads one request and hands it to a scripted behaviour.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from cozegate.upstream import CozeClient, PATAuth, RetryPolicy, Timeouts

FAST_RETRY = RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.05, retry_after_cap=0.2)
FAST_TIMEOUTS = Timeouts(connect=1.0, run=5.0, read=1.0, stream_idle=0.5, write=2.0, pool=2.0)


@dataclass
class RawRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Behaviour = Callable[[RawRequest, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class RawServer:
    """``behaviour(request, writer)`` answers each request; the connection closes after it."""

    behaviour: Behaviour
    requests: list[RawRequest] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 1)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            request = RawRequest(method, path, headers, body)
            self.requests.append(request)
            await self.behaviour(request, writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # a handler cancelled at teardown ends quietly (this is a test server)
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def http_head(status: int = 200, content_type: str = "application/json",
              extra: dict[str, str] | None = None, length: int | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}",
             "X-Tt-Logid: 20250301120000RAWSERVERLOGID0001"]
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    lines.append(f"Content-Length: {length}" if length is not None else "Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def json_response(body: dict[str, Any], status: int = 200,
                  extra: dict[str, str] | None = None) -> bytes:
    payload = json.dumps(body).encode()
    return http_head(status, extra=extra, length=len(payload)) + payload


async def write(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    await writer.drain()


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CountingTransport(httpx.AsyncBaseTransport):
    """Wraps a real transport; records every request that was handed to it."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()
        self.requests: list[httpx.Request] = []

    def paths(self, path: str | None = None) -> list[str]:
        seen = [r.url.path for r in self.requests]
        return seen if path is None else [p for p in seen if p == path]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def raw_client(url: str, *, transport: httpx.AsyncBaseTransport | None = None,
               timeouts: Timeouts = FAST_TIMEOUTS, retry: RetryPolicy = FAST_RETRY) -> CozeClient:
    return CozeClient(url, PATAuth("pat_test"), timeouts=timeouts, retry_policy=retry,
                      transport=transport)


SUCCESS_RUN = {"code": 0, "msg": "", "data": '{"output":"ok"}', "debug_url": "",
               "execute_id": "7516000000000000101",
               "usage": {"input_count": 1, "output_count": 2, "token_count": 3}}
WORKFLOW_INFO = {"code": 0, "msg": "", "data": {"workflow_detail": {
    "workflow_id": "1", "workflow_name": "w", "description": "", "icon_url": "", "app_id": "0"}}}
