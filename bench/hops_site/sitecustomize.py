"""Loaded by the gateway that ``bench.hops`` starts (``PYTHONPATH``): stamps each stream's
way to its first chunk. Inert unless ``BENCH_HOPS_OUT`` names the output file.

It wraps, once ``cozegate.app`` is imported, private methods of uvicorn's httptools protocol
and of cozegate's lean client and fast paths: a diagnostic for one uvicorn and cozegate
version, not an interface. Stamps (``time.monotonic``, one clock for the whole process):

- ``recv``: the request's bytes reach uvicorn (``data_received`` of an idle connection);
- ``task``: the request's task starts (``FastPath.__call__``);
- ``up``: the upstream request is handed to a connection (lean ``_Connection.start``);
- ``head``: the upstream's response head is parsed;
- ``rx``: the upstream's first body bytes are parsed;
- ``tx``: the first body write to the client that carries ``content`` (a chunk with text).

SIGUSR2 writes the p50/p90 of each step over the streams completed since the last signal
(JSON) and starts afresh.
"""

from __future__ import annotations

import builtins
import contextvars
import itertools
import json
import os
import signal
import time
from typing import Any

_OUT = os.environ.get("BENCH_HOPS_OUT")
STEPS = ("recv", "task", "up", "head", "rx", "tx")


def _install() -> None:
    from uvicorn.protocols.http import httptools_impl

    from cozegate import fast_paths
    from cozegate.upstream.transport import lean

    now = time.monotonic
    current: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar(
        "bench_hops", default=None)
    done: list[dict[str, float]] = []

    protocol = httptools_impl.HttpToolsProtocol
    data_received = protocol.data_received
    headers_complete = protocol.on_headers_complete

    def on_data(self: Any, data: bytes) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self.bench_recv = now()  # a new request begins on this connection
        data_received(self, data)

    def on_headers(self: Any) -> None:
        headers_complete(self)
        self.scope["bench_hops"] = {"recv": getattr(self, "bench_recv", now())}

    protocol.data_received = on_data
    protocol.on_headers_complete = on_headers

    fast_call = fast_paths.FastPath.__call__

    async def fast(self: Any, scope: Any, receive: Any, send: Any) -> None:
        stamps = scope.get("bench_hops")
        if stamps is not None:
            stamps["task"] = now()
            current.set(stamps)
        await fast_call(self, scope, receive, send)

    fast_paths.FastPath.__call__ = fast

    connection = lean._Connection
    start, head, body = connection.start, connection.on_headers_complete, connection.on_body

    def on_start(self: Any) -> Any:
        self.bench_hops = stamps = current.get()
        if stamps is not None:
            stamps.setdefault("up", now())
        return start(self)

    def on_head(self: Any) -> None:
        stamps = getattr(self, "bench_hops", None)
        if stamps is not None:
            stamps.setdefault("head", now())
        head(self)

    def on_body(self: Any, data: bytes) -> None:
        stamps = getattr(self, "bench_hops", None)
        if stamps is not None:
            stamps.setdefault("rx", now())
        body(self, data)

    connection.start, connection.on_headers_complete = on_start, on_head
    connection.on_body = on_body

    cycle = httptools_impl.RequestResponseCycle
    send_message = cycle.send

    async def send(self: Any, message: Any) -> None:
        stamps = self.scope.get("bench_hops")
        if (stamps is not None and "tx" not in stamps
                and message["type"] == "http.response.body"
                and b"content" in message.get("body", b"")):
            stamps["tx"] = now()
            done.append(stamps)
        await send_message(self, message)

    cycle.send = send

    def dump(*_: Any) -> None:
        complete = [s for s in done if all(step in s for step in STEPS)]
        done.clear()
        report: dict[str, Any] = {"streams": len(complete)}
        pairs = [*itertools.pairwise(STEPS), ("recv", "tx")]
        for a, b in pairs:
            ms = sorted((s[b] - s[a]) * 1000 for s in complete)
            if ms:
                report[f"{a}->{b}"] = {"p50": round(ms[len(ms) // 2], 3),
                                       "p90": round(ms[int(len(ms) * 0.9)], 3)}
        with open(_OUT, "w", encoding="utf-8") as out:  # type: ignore[arg-type]
            json.dump(report, out)

    signal.signal(signal.SIGUSR2, dump)


if _OUT:
    _import = builtins.__import__

    def _import_then_install(name: str, *args: Any, **kwargs: Any) -> Any:
        module = _import(name, *args, **kwargs)
        if name == "cozegate.app":
            builtins.__import__ = _import
            _install()
        return module

    builtins.__import__ = _import_then_install
