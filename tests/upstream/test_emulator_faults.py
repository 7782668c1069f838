"""The emulator's injected faults, seen through the client: mapping and retry decisions.

Per-request faults ride on the ``X-Emulator-Fault`` header (set on the client, so they hit
every attempt); retry-then-succeed cases use the first-N fault rules from conftest.py.
The counting transport wraps the real one, so it counts what was put on the wire.
"""

from __future__ import annotations

import time

import pytest

from cozegate.upstream import (
    CozeAPIError,
    CozeStreamError,
    CozeStreamTimeoutError,
    CozeTimeoutError,
    CozeTransportError,
    Timeouts,
)

from .conftest import CHAT_ASK, DRAFT_ONLY, ECHO, SLOW_JOB, STORY, MakeClient
from .helpers import CountingTransport


def _faulty(make_client: MakeClient, counting: CountingTransport, fault: str, **kw: object):
    return make_client(transport=counting, headers={"X-Emulator-Fault": fault}, **kw)


async def test_latency_is_only_slower(make_client: MakeClient,
                                      counting: CountingTransport) -> None:
    client = _faulty(make_client, counting, "latency=150")
    started = time.monotonic()
    result = await client.run_workflow(ECHO, {"input": "x"})
    assert result.data and time.monotonic() - started >= 0.15
    assert len(counting.requests) == 1


async def test_latency_past_the_run_budget_is_a_timeout_never_retried(
        make_client: MakeClient, counting: CountingTransport) -> None:
    timeouts = Timeouts(connect=1, run=0.2, read=0.2, stream_idle=0.2)
    client = _faulty(make_client, counting, "latency=600", timeouts=timeouts)
    with pytest.raises(CozeTimeoutError) as info:
        await client.run_workflow(ECHO, {"input": "x"})
    assert info.value.sent and len(counting.requests) == 1


@pytest.mark.parametrize("fault", ["http=502:html", "http=503", "http=500", "rate_limit"])
async def test_run_on_5xx_or_4013_is_not_retried(make_client: MakeClient,
                                                 counting: CountingTransport,
                                                 fault: str) -> None:
    client = _faulty(make_client, counting, fault)
    with pytest.raises(CozeAPIError) as info:
        await client.run_workflow(ECHO, {"input": "x"})
    assert len(counting.requests) == 1
    assert info.value.retryable  # retryable for a read; a run is still never resent
    if fault == "http=502:html":
        assert info.value.code == 502 and "<html>" in info.value.msg
    if fault == "rate_limit":
        assert info.value.code == 4013 and info.value.http_status == 429


async def test_run_dropped_after_send_is_not_retried(make_client: MakeClient,
                                                     counting: CountingTransport) -> None:
    client = _faulty(make_client, counting, "drop")
    with pytest.raises(CozeTransportError) as info:
        await client.run_workflow(ECHO, {"input": "x"})
    assert info.value.sent and len(counting.requests) == 1
    with pytest.raises(CozeTransportError):
        async with client.stream_workflow(STORY, {"topic": "x"}):
            pass
    assert len(counting.requests) == 2


async def test_get_retried_on_503_then_succeeds(make_client: MakeClient,
                                                counting: CountingTransport) -> None:
    client = make_client(transport=counting)
    info = await client.get_workflow(SLOW_JOB)  # rule: first two answers are 503
    assert info.workflow_detail.workflow_id == SLOW_JOB
    assert len(counting.requests) == 3


async def test_get_retried_on_4013_then_succeeds(make_client: MakeClient,
                                                 counting: CountingTransport) -> None:
    client = make_client(transport=counting)
    versions = await client.list_workflow_versions(DRAFT_ONLY)  # rule: 4013 twice
    assert versions.logid is not None
    assert len(counting.requests) == 3


async def test_get_retried_after_a_dropped_connection(make_client: MakeClient,
                                                      counting: CountingTransport) -> None:
    client = make_client(transport=counting)
    info = await client.get_workflow(CHAT_ASK)  # rule: dropped once
    assert info.workflow_detail.workflow_id == CHAT_ASK
    assert len(counting.requests) == 2


async def test_get_gives_up_after_max_retries(make_client: MakeClient,
                                              counting: CountingTransport) -> None:
    client = _faulty(make_client, counting, "http=503")
    with pytest.raises(CozeAPIError) as info:
        await client.list_workspaces()
    assert info.value.code == 5000 and info.value.http_status == 503
    assert len(counting.requests) == 4  # 1 + max_retries


async def test_stream_broken_mid_event(make_client: MakeClient,
                                       counting: CountingTransport) -> None:
    client = _faulty(make_client, counting, "break=2")
    received = []
    with pytest.raises(CozeStreamError) as info:
        async with client.stream_workflow(STORY, {"topic": "x", "chunks": 4}) as stream:
            async for event in stream:
                received.append(event)
    assert len(received) == 2
    assert not isinstance(info.value, CozeStreamTimeoutError)
    assert len(counting.requests) == 1  # a broken run stream is never resent


async def test_chat_stream_broken_mid_event(make_client: MakeClient,
                                            counting: CountingTransport) -> None:
    client = _faulty(make_client, counting, "break=1")
    with pytest.raises(CozeStreamError):
        async with client.chat_workflow("7500000000000001007",
                                        [{"role": "user", "content": "hi"}]) as stream:
            async for _ in stream:
                pass
    assert len(counting.requests) == 1


async def test_slow_first_byte_of_a_stream_is_an_idle_timeout(
        make_client: MakeClient, counting: CountingTransport) -> None:
    timeouts = Timeouts(connect=1, run=5, read=5, stream_idle=0.2)
    client = _faulty(make_client, counting, "first_byte=3000", timeouts=timeouts)
    started = time.monotonic()
    with pytest.raises(CozeStreamTimeoutError):
        async with client.stream_workflow(STORY, {"topic": "x"}) as stream:
            async for _ in stream:
                pass
    assert time.monotonic() - started < 2  # gave up after ~0.2 s, not after the 3 s wait
    assert len(counting.requests) == 1


async def test_slow_first_byte_of_a_read_times_out_and_is_retried(
        make_client: MakeClient, counting: CountingTransport) -> None:
    timeouts = Timeouts(connect=1, run=5, read=0.15, stream_idle=5)
    client = _faulty(make_client, counting, "first_byte=400", timeouts=timeouts)
    with pytest.raises(CozeTimeoutError):
        await client.get_workflow(ECHO)
    assert len(counting.requests) == 4


async def test_slow_first_byte_within_budget_is_fine(make_client: MakeClient,
                                                     counting: CountingTransport) -> None:
    client = _faulty(make_client, counting, "first_byte=100")
    async with client.stream_workflow(STORY, {"topic": "x", "chunks": 2}) as stream:
        events = [event async for event in stream]
    assert events[-1].event == "Done"
