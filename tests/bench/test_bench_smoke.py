"""Smoke tests of the benchmark harness: the fake upstream and the load generator agree on
what was sent. Correctness only; nothing here asserts timing (that is bench/run.py's job)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from bench.fake_upstream import UpstreamConfig, bound_port, start_server
from bench.loadgen import LoadConfig, hold_streams, run_load
from bench.stack_floor import StackFloor

from cozegate.kit.serving import ThreadedServer

CHUNKS = 5
WORKFLOW_EVENTS = CHUNKS + 2  # N Messages + End message with usage + Done
CHAT_EVENTS = CHUNKS + 5  # created, in_progress, N deltas, message.completed, completed, done


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[str, UpstreamConfig]]:
    cfg = UpstreamConfig(delay_ms=0, chunks=CHUNKS)
    server = await start_server("127.0.0.1", 0, cfg)
    try:
        yield f"http://127.0.0.1:{bound_port(server)}", cfg
    finally:
        server.close()
        await server.wait_closed()


async def test_nonstream_for_a_duration(upstream: tuple[str, UpstreamConfig]) -> None:
    url, _ = upstream
    r = await run_load(LoadConfig(url=url, concurrency=4, duration=0.5))
    assert r["errors"] == {}
    assert r["ok"] > 0
    assert r["latency_ms"]["n"] == r["ok"]
    assert r["events"] == 0


async def test_nonstream_request_budget_is_exact(upstream: tuple[str, UpstreamConfig]) -> None:
    url, _ = upstream
    r = await run_load(LoadConfig(url=url, concurrency=4, requests=37))
    assert (r["ok"], r["errors"]) == (37, {})


async def test_workflow_stream_counts_every_event(upstream: tuple[str, UpstreamConfig]) -> None:
    url, cfg = upstream
    cfg.delay_ms = 1  # paced, so the chunks really arrive as separate writes
    r = await run_load(LoadConfig(url=url, mode="stream", concurrency=4, duration=0.5,
                                  expect_events=WORKFLOW_EVENTS))
    assert r["errors"] == {}
    assert r["ok"] > 0
    assert r["events"] == r["ok"] * WORKFLOW_EVENTS
    assert r["ttfc_ms"]["n"] == r["ok"]


async def test_chat_stream_counts_every_event(upstream: tuple[str, UpstreamConfig]) -> None:
    url, _ = upstream
    r = await run_load(LoadConfig(url=url, api="coze-chat", mode="stream", concurrency=2,
                                  requests=10, expect_events=CHAT_EVENTS))
    assert (r["ok"], r["errors"]) == (10, {})
    assert r["events"] == 10 * CHAT_EVENTS


async def test_per_request_override_header(upstream: tuple[str, UpstreamConfig]) -> None:
    url, _ = upstream
    r = await run_load(LoadConfig(url=url, mode="stream", requests=3, expect_events=3 + 2,
                                  extra_headers={"X-Fake-Chunks": "3"}))
    assert (r["ok"], r["errors"]) == (3, {})


async def test_error_kinds_are_counted(upstream: tuple[str, UpstreamConfig]) -> None:
    url, _ = upstream
    # The fake upstream has no OpenAI surface: every request is a 404, none a success.
    r = await run_load(LoadConfig(url=url, api="openai", requests=5))
    assert r["ok"] == 0
    assert r["errors"] == {"http_404": 5}


async def test_hold_keeps_streams_open(upstream: tuple[str, UpstreamConfig]) -> None:
    url, cfg = upstream
    cfg.delay_ms, cfg.chunks = 100, 1000  # far longer than the hold
    seen: list[dict[str, object]] = []
    r = await hold_streams(
        LoadConfig(url=url, mode="hold", concurrency=20, hold_seconds=0.2, ramp_batch=8),
        seen.append,
    )
    assert seen and seen[0]["live"] == 20
    assert r["errors"] == {}
    assert (r["live_at_ready"], r["still_open_at_end"], r["ended_early"]) == (20, 20, 0)


OPENAI_EVENTS = [
    b'{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}',
    b'{"choices":[{"index":0,"delta":{"content":"Hel"}}]}',
    b'{"choices":[{"index":0,"delta":{"content":"lo"}}]}',
    b"[DONE]",
]


async def _openai_like(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Stands in for the gateway's OpenAI stream: a role-only delta first, then content."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    await reader.readexactly(length)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                 b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    for i, data in enumerate(OPENAI_EVENTS):
        if i == 1:
            await asyncio.sleep(0.05)  # upstream latency after the immediate role delta
        event = b"data: " + data + b"\n\n"
        writer.write(b"%x\r\n%b\r\n" % (len(event), event))
        await writer.drain()
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    writer.close()


async def test_openai_stream_ttfc_waits_for_content() -> None:
    server = await asyncio.start_server(_openai_like, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        r = await run_load(LoadConfig(url=f"http://127.0.0.1:{port}", api="openai",
                                      mode="stream", requests=3,
                                      expect_events=len(OPENAI_EVENTS)))
    finally:
        server.close()
        await server.wait_closed()
    assert (r["ok"], r["errors"]) == (3, {})  # Connection: close → reconnects each time
    # The role-only delta came at once; TTFC is measured to the first real content.
    assert r["ttfc_ms"]["min"] >= 40


async def test_stack_floor_relays_both_modes(upstream: tuple[str, UpstreamConfig]) -> None:
    """The runner's stack floor (bench/stack_floor.py) answers the load generator's OpenAI
    requests through the fake upstream: JSON, and streams ending with [DONE]."""
    url, cfg = upstream
    cfg.delay_ms = 1
    with ThreadedServer(StackFloor(url)) as floor:
        plain = await run_load(LoadConfig(url=floor.url, api="openai", requests=20,
                                          concurrency=2))
        streamed = await run_load(LoadConfig(url=floor.url, api="openai", mode="stream",
                                             requests=10, concurrency=2))
    assert (plain["ok"], plain["errors"]) == (20, {})
    assert (streamed["ok"], streamed["errors"]) == (10, {})
    assert streamed["ttfc_ms"]["n"] == 10  # a content delta came before [DONE]


@pytest.mark.slow
def test_hops_stamps_every_step_of_a_real_gateway() -> None:
    """bench.hops wraps private methods of uvicorn and cozegate: if one is renamed, its
    stamps stop and the steps go missing (a gateway subprocess, ~10 s)."""
    from bench.hops import STEPS, measure

    [(api, concurrency, hops)] = measure([("openai", 2)], duration=1.0, warmup=0.5)
    assert (api, concurrency) == ("openai", 2)
    assert hops["loadgen"]["errors"] == {}
    assert hops["streams"] > 0
    assert set(STEPS) <= set(hops)
    # The upstream waits 5 ms before the first chunk, and the whole covers every step.
    assert hops["head->rx"]["p50"] >= 4.5
    assert hops["recv->tx"]["p50"] >= hops["head->rx"]["p50"]
