"""RelayRun.bursts over a real upstream stream (lean client and httpx): events already
received go out together; nothing waits to fill a burst; silences become keep-alives without
losing the read or holding off the read timeout; the call is settled once, whatever ends the
stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from cozegate.billing.schemas import PriceSnapshot
from cozegate.keys.schemas import KeyRecord
from cozegate.kit.sse import SSEEvent
from cozegate.protocol.stream_common import KeepAlive, StreamError
from cozegate.protocol.workflow_stream import WorkflowStreamConverter
from cozegate.relay.metering import Call, Outcome
from cozegate.relay.service import RelayRun
from cozegate.upstream.streams import WorkflowStream
from cozegate.upstream.transport.lean import LeanPool, LeanRequest
from tests.protocol.fixtures import WORKFLOW_OUTPUT_THEN_END
from tests.protocol.helpers import context
from tests.upstream.helpers import RawRequest, RawServer, write


def frames(pairs: list[tuple[str, Any]]) -> list[bytes]:
    return [SSEEvent(data=json.dumps(data), event=name, id=str(i)).encode()
            for i, (name, data) in enumerate(pairs)]


class Upstream:
    """A Coze stream served over real HTTP (chunked SSE); each group of events is written as
    one packet when ``release`` is put to. ``stream()`` opens it with the lean client (or
    through httpx, ``lean=False``) as the relay would."""

    def __init__(self, groups: list[list[bytes]]) -> None:
        self.groups = groups
        self.release = asyncio.Queue[None]()
        self.response: Any = None
        self._server = RawServer(self._answer)
        self._pool: LeanPool | None = None
        self._client: httpx.AsyncClient | None = None

    @property
    def closed(self) -> bool:
        return bool(self.response is not None and self.response.is_closed)

    async def _answer(self, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        await write(writer, b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n")
        for group in self.groups:
            await self.release.get()
            packet = b"".join(group)
            await write(writer, b"%x\r\n%b\r\n" % (len(packet), packet))
        await write(writer, b"0\r\n\r\n")

    async def stream(self, *, lean: bool = True, read_timeout: float = 5.0) -> WorkflowStream:
        await self._server.__aenter__()
        url = httpx.URL(self._server.url)
        timeout = httpx.Timeout(5.0, read=read_timeout)
        if lean:
            self._pool = LeanPool(url, limits=httpx.Limits(max_connections=2))
            self.response = await self._pool.send(
                LeanRequest("POST", "/v1/workflow/stream_run", [], b"{}", timeout))
        else:
            self._client = httpx.AsyncClient(timeout=timeout)
            request = self._client.build_request("POST", url.join("/v1/workflow/stream_run"),
                                                 content=b"{}")
            self.response = await self._client.send(request, stream=True)
        return WorkflowStream(self.response, idle_timeout=read_timeout)

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
        if self._client is not None:
            await self._client.aclose()
        if self._server.port:
            await self._server.__aexit__(None, None, None)


@pytest.fixture
async def upstreams() -> AsyncIterator[Callable[[list[list[bytes]]], Upstream]]:
    made: list[Upstream] = []

    def make(groups: list[list[bytes]]) -> Upstream:
        made.append(Upstream(groups))
        return made[-1]

    yield make
    for upstream in made:
        await upstream.aclose()


class Metering:
    def __init__(self) -> None:
        self.finished: list[Outcome] = []

    async def finish(self, call: Call, outcome: Outcome) -> None:
        self.finished.append(outcome)


def run_for(stream: WorkflowStream, metering: Metering, keepalive: float = 30) -> RelayRun:
    key = KeyRecord(id=1, user_id=1, name="k", key_hash="h", enabled=True, expires_at=None,
                    quota_remaining=None, allowed_models=None, allowed_networks=(),
                    rpm_limit=None)
    price = PriceSnapshot(target="*", kind="tokens", input_price=1, output_price=1,
                          fixed_price=0)
    call = Call(request_id="r", key=key, model="m", workflow_id="w", price=price,
                stream=True, surface="openai")
    return RelayRun(call, stream, WorkflowStreamConverter(context()),
                    metering, keepalive=keepalive)  # type: ignore[arg-type]


LEAN_AND_HTTPX = pytest.mark.parametrize("lean", [True, False], ids=["lean", "httpx"])


@LEAN_AND_HTTPX
async def test_events_received_together_form_one_burst(upstreams, lean: bool) -> None:
    all_frames = frames(WORKFLOW_OUTPUT_THEN_END)
    upstream = upstreams([all_frames[:2], all_frames[2:]])
    metering = Metering()
    bursts = run_for(await upstream.stream(lean=lean), metering).bursts()
    upstream.release.put_nowait(None)
    first = await anext(bursts)
    upstream.release.put_nowait(None)
    rest = [burst async for burst in bursts]
    assert first and all(rest)
    assert len(rest) <= 2  # the second packet's events together (+ the converter's tail)
    assert upstream.closed and [o.status for o in metering.finished] == ["success"]


@LEAN_AND_HTTPX
async def test_silence_is_a_keepalive_and_nothing_is_lost(upstreams, lean: bool) -> None:
    upstream = upstreams([frames(WORKFLOW_OUTPUT_THEN_END)])
    metering = Metering()
    bursts = run_for(await upstream.stream(lean=lean), metering, keepalive=0.01).bursts()
    assert await anext(bursts) == [KeepAlive()]
    assert await anext(bursts) == [KeepAlive()]
    upstream.release.put_nowait(None)
    rest = [burst async for burst in bursts]
    content = "".join(item["choices"][0]["delta"].get("content") or ""
                      for burst in rest for item in burst
                      if isinstance(item, dict) and item["choices"])
    assert content == "Hangzhou"  # the events the interrupted waits were reading
    assert [o.status for o in metering.finished] == ["success"]


@LEAN_AND_HTTPX
async def test_leaving_early_settles_once(upstreams, lean: bool) -> None:
    upstream = upstreams([frames(WORKFLOW_OUTPUT_THEN_END)])
    metering = Metering()
    bursts = run_for(await upstream.stream(lean=lean), metering, keepalive=0.01).bursts()
    assert await anext(bursts) == [KeepAlive()]
    await bursts.aclose()  # the client went away
    assert upstream.closed and [o.status for o in metering.finished] == ["cancelled"]


@LEAN_AND_HTTPX
async def test_keepalives_do_not_hold_off_the_read_timeout(upstreams, lean: bool) -> None:
    """A silent upstream gets keep-alives to the client, then fails at the read timeout:
    each keep-alive must not restart the upstream's silence clock."""
    upstream = upstreams([frames(WORKFLOW_OUTPUT_THEN_END)])  # never released
    metering = Metering()
    stream = await upstream.stream(lean=lean, read_timeout=0.3)
    bursts = run_for(stream, metering, keepalive=0.05).bursts()
    async with asyncio.timeout(5):
        seen = [burst async for burst in bursts]
    assert len([b for b in seen if b == [KeepAlive()]]) >= 3
    assert isinstance(seen[-1][-1], StreamError)
    assert [o.status for o in metering.finished] == ["error"]
