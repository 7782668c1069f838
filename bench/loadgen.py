"""Closed-loop load generator: C workers, one keep-alive connection each, for D seconds or N
requests; non-stream, stream, and "hold" (open C streams, keep them open, report when live).

Reports RPS, latency p50/p90/p99, time to first chunk (first SSE ``data:`` line after the
headers) p50/p90/p99, and errors by kind, as JSON. Targets 127.0.0.1 only (the harness never
loads anything else). Every loop is bounded by a deadline and/or a request budget.

    python -m bench.loadgen --url http://127.0.0.1:8000 --api coze --mode stream -c 64 -d 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from time import perf_counter
from typing import cast
from urllib.parse import urlsplit

from bench.aio import run_fast
from bench.rawhttp import (
    FIRST_CONTENT,
    FIRST_DATA,
    RawConnection,
    Reply,
    RequestError,
    build_request,
)
from bench.stats import summarize_ms

WORKFLOW_ID = "7516000000000000001"
ALLOWED_HOSTS = {"127.0.0.1", "localhost"}


@dataclass(slots=True)
class LoadConfig:
    url: str  # base URL, e.g. http://127.0.0.1:8000
    api: str = "coze"  # coze | coze-chat | openai
    mode: str = "nonstream"  # nonstream | stream | hold
    concurrency: int = 1
    duration: float = 5.0  # seconds measured after warm-up (ignored when requests > 0)
    requests: int = 0  # total request budget; 0 = run for `duration`
    warmup: float = 0.0
    timeout: float = 30.0
    key: str = "pat_bench"
    workflow_id: str = WORKFLOW_ID
    expect_events: int = 0  # streams: exact SSE data lines expected per stream (0 = don't check)
    hold_seconds: float = 5.0  # hold mode: how long to keep the streams open once all are live
    ramp_batch: int = 200  # hold mode: connections opened at once (keeps the SYN backlog sane)
    ready_timeout: float = 60.0  # hold mode: longest wait for every stream's first chunk
    extra_headers: dict[str, str] = field(default_factory=dict)


def first_marker(cfg: LoadConfig) -> re.Pattern[bytes]:
    """TTFC marker: first content delta on the OpenAI surface, first data line on Coze's."""
    return FIRST_CONTENT if cfg.api == "openai" else FIRST_DATA


def request_target(cfg: LoadConfig) -> tuple[str, int, bytes, bool]:
    """(host, port, raw request bytes, is_stream) for the configured API and mode."""
    parts = urlsplit(cfg.url)
    host, port = parts.hostname or "", parts.port or 80
    if host not in ALLOWED_HOSTS:
        raise SystemExit(f"loadgen only targets 127.0.0.1, not {host!r}")
    stream = cfg.mode in ("stream", "hold")
    if cfg.api == "openai":
        path = "/v1/chat/completions"
        body: dict[str, object] = {
            "model": "coze-workflow",
            "workflow_id": cfg.workflow_id,
            "messages": [{"role": "user", "content": "hi"}],
            "stream": stream,
        }
    elif cfg.api == "coze-chat":
        path = "/v1/workflows/chat"
        body = {
            "workflow_id": cfg.workflow_id,
            "additional_messages": [{"role": "user", "content": "hi", "content_type": "text"}],
        }
    else:
        path = "/v1/workflow/stream_run" if stream else "/v1/workflow/run"
        body = {"workflow_id": cfg.workflow_id, "parameters": {"input": "hi"}}
    headers = {
        "Authorization": f"Bearer {cfg.key}",
        "Content-Type": "application/json",
        **cfg.extra_headers,
    }
    raw = build_request(host, port, path, json.dumps(body).encode(), headers)
    return host, port, raw, stream


def classify(reply: Reply, stream: bool, expect_events: int) -> str | None:
    """Error kind for a completed exchange, or None when it is a success."""
    if reply.status != 200:
        return f"http_{reply.status}"
    if stream:
        if reply.error_event:
            return "stream_error_event"
        if not reply.done:
            return "stream_no_done"
        if expect_events and reply.events != expect_events:
            return "wrong_event_count"
    return None


async def run_load(cfg: LoadConfig) -> dict[str, object]:
    host, port, raw, stream = request_target(cfg)
    marker = first_marker(cfg)
    latencies: list[float] = []
    ttfcs: list[float] = []
    errors: Counter[str] = Counter()
    events = 0
    issued = 0
    completed = 0  # every exchange answered, warm-up included: the server's work, for CPU/req
    limit = cfg.requests if cfg.requests > 0 else sys.maxsize
    t_start = perf_counter()
    warm_end = t_start + (0.0 if cfg.requests > 0 else cfg.warmup)
    deadline = warm_end + cfg.duration if cfg.requests <= 0 else float("inf")

    async def worker() -> None:
        nonlocal events, issued, completed
        conn: RawConnection | None = None
        while perf_counter() < deadline and issued < limit:
            issued += 1
            try:
                if conn is None or conn.closed:
                    conn = await RawConnection.open(host, port, marker)
                reply = await conn.request(raw, stream, cfg.timeout)
            except RequestError as exc:
                errors[exc.kind] += 1
                conn = None
                await asyncio.sleep(0.01)  # a dead target must not turn this into a busy spin
                continue
            completed += 1
            if perf_counter() < warm_end:
                continue
            kind = classify(reply, stream, cfg.expect_events)
            if kind is not None:
                errors[kind] += 1
                continue
            latencies.append(reply.latency)
            if reply.ttfc is not None:
                ttfcs.append(reply.ttfc)
            events += reply.events
        if conn is not None:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(cfg.concurrency)))
    elapsed = perf_counter() - max(t_start, warm_end)
    ok = len(latencies)
    return {
        "config": asdict(cfg),
        "ok": ok,
        "completed_total": completed,
        "errors": dict(errors),
        "error_count": sum(errors.values()),
        "elapsed_s": round(elapsed, 4),
        "rps": round(ok / elapsed, 1) if elapsed > 0 else 0.0,
        "latency_ms": summarize_ms(latencies),
        "ttfc_ms": summarize_ms(ttfcs) if stream else None,
        "events": events,
        "events_per_stream": round(events / ok, 2) if stream and ok else None,
    }


async def hold_streams(
    cfg: LoadConfig, on_ready: Callable[[dict[str, object]], None] | None = None
) -> dict[str, object]:
    """Open ``cfg.concurrency`` streams, wait until each has sent its first data line, call
    ``on_ready`` (the runner samples RSS then), keep them open ``hold_seconds``, close all."""
    host, port, raw, _ = request_target(cfg)
    conns: list[RawConnection] = []
    replies: list[asyncio.Future[Reply]] = []
    errors: Counter[str] = Counter()
    ttfcs: list[float] = []

    # Streams must outlive the ramp and the hold, whatever the per-request timeout says.
    timeout = max(cfg.timeout, cfg.hold_seconds + 120.0)
    firsts: list[asyncio.Future[float]] = []

    async def open_one() -> None:
        try:
            conn = await RawConnection.open(host, port, first_marker(cfg))
        except RequestError as exc:
            errors[exc.kind] += 1
            return
        conns.append(conn)
        replies.append(conn.request(raw, True, timeout, notify_first=True))
        assert conn.first_data is not None
        firsts.append(conn.first_data)

    t0 = perf_counter()
    # Connect in batches (a 2,000-SYN burst overflows listen backlogs), without waiting for
    # each batch's first chunk, so a slow upstream does not stretch the ramp.
    for start in range(0, cfg.concurrency, cfg.ramp_batch):
        batch = min(cfg.ramp_batch, cfg.concurrency - start)
        await asyncio.gather(*(open_one() for _ in range(batch)))
    if firsts:
        await asyncio.wait(firsts, timeout=cfg.ready_timeout)
    for fut in firsts:
        if not fut.done():
            errors["no_first_chunk"] += 1
        elif isinstance(fut.exception(), RequestError):
            errors[cast(RequestError, fut.exception()).kind] += 1
        else:
            ttfcs.append(fut.result())
    live = sum(1 for c, f in zip(conns, firsts, strict=True)
               if not c.closed and f.done() and f.exception() is None)
    ready = {
        "event": "ready",
        "requested": cfg.concurrency,
        "live": live,
        "open_s": round(perf_counter() - t0, 3),
        "errors": dict(errors),
    }
    if on_ready is not None:
        on_ready(ready)
    await asyncio.sleep(cfg.hold_seconds)
    still_open = sum(1 for f in replies if not f.done())
    for conn in conns:
        conn.close()
    # Collect the outcomes so no future is left with an unretrieved exception.
    outcomes = await asyncio.gather(*replies, return_exceptions=True)
    ended_early = sum(1 for o in outcomes if isinstance(o, Reply))
    return {
        "event": "result",
        "config": asdict(cfg),
        "requested": cfg.concurrency,
        "live_at_ready": live,
        "still_open_at_end": still_open,
        "ended_early": ended_early,
        "open_s": ready["open_s"],
        "errors": dict(errors),
        "error_count": sum(errors.values()),
        "ttfc_ms": summarize_ms(ttfcs),
    }


def _print_line(obj: dict[str, object]) -> None:
    print(json.dumps(obj), flush=True)


async def _main_async(cfg: LoadConfig) -> dict[str, object]:
    if cfg.mode == "hold":
        return await hold_streams(cfg, _print_line)
    return await run_load(cfg)


def parse_args(argv: list[str] | None) -> tuple[LoadConfig, str | None]:
    p = argparse.ArgumentParser(description="closed-loop HTTP load generator for cozegate")
    p.add_argument("--url", required=True)
    p.add_argument("--api", choices=["coze", "coze-chat", "openai"], default="coze")
    p.add_argument("--mode", choices=["nonstream", "stream", "hold"], default="nonstream")
    p.add_argument("-c", "--concurrency", type=int, default=1)
    p.add_argument("-d", "--duration", type=float, default=5.0)
    p.add_argument("-n", "--requests", type=int, default=0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--key", default="pat_bench")
    p.add_argument("--workflow-id", default=WORKFLOW_ID)
    p.add_argument("--expect-events", type=int, default=0)
    p.add_argument("--hold-seconds", type=float, default=5.0)
    p.add_argument("--header", action="append", default=[], help="extra 'Name: value' header")
    p.add_argument("--json-out", default=None)
    a = p.parse_args(argv)
    headers = dict(h.split(":", 1) for h in a.header)
    cfg = LoadConfig(
        url=a.url,
        api=a.api,
        mode=a.mode,
        concurrency=a.concurrency,
        duration=a.duration,
        requests=a.requests,
        warmup=a.warmup,
        timeout=a.timeout,
        key=a.key,
        workflow_id=a.workflow_id,
        expect_events=a.expect_events,
        hold_seconds=a.hold_seconds,
        extra_headers={k.strip(): v.strip() for k, v in headers.items()},
    )
    return cfg, a.json_out


def main(argv: list[str] | None = None) -> None:
    cfg, json_out = parse_args(argv)
    result = run_fast(_main_async(cfg))
    if json_out:
        with open(json_out, "w") as f:
            json.dump(result, f, indent=2)
    _print_line(result)


if __name__ == "__main__":
    main()
