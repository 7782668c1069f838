"""RelayRun.bursts: events already received go out together; nothing waits to fill a burst;
the call is settled once, whatever ends the stream."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from cozegate.billing.schemas import PriceSnapshot
from cozegate.keys.schemas import KeyRecord
from cozegate.kit.sse import SSEEvent
from cozegate.protocol.coze_events import WorkflowEvent
from cozegate.protocol.stream_common import KeepAlive
from cozegate.protocol.workflow_stream import WorkflowStreamConverter
from cozegate.relay.metering import Call, Outcome
from cozegate.relay.service import RelayRun
from tests.protocol.fixtures import WORKFLOW_OUTPUT_THEN_END
from tests.protocol.helpers import context


def events(pairs: list[tuple[str, Any]]) -> list[WorkflowEvent]:
    return [WorkflowEvent(SSEEvent(data=json.dumps(data), event=name, id=str(i)))
            for i, (name, data) in enumerate(pairs)]


class Upstream:
    """Events handed out in groups; each group waits for ``release`` (one 'packet')."""

    def __init__(self, groups: list[list[WorkflowEvent]]) -> None:
        self.groups = groups
        self.release = asyncio.Queue[None]()
        self.closed = False
        self._pending: list[WorkflowEvent] = []

    def __aiter__(self) -> Upstream:
        return self

    async def __anext__(self) -> WorkflowEvent:
        if not self._pending:
            if not self.groups:
                raise StopAsyncIteration
            await self.release.get()
            self._pending = self.groups.pop(0)
        return self._pending.pop(0)

    async def aclose(self) -> None:
        self.closed = True


class Metering:
    def __init__(self) -> None:
        self.finished: list[Outcome] = []

    async def finish(self, call: Call, outcome: Outcome) -> None:
        self.finished.append(outcome)


def run_for(upstream: Upstream, metering: Metering, keepalive: float = 30) -> RelayRun:
    key = KeyRecord(id=1, user_id=1, name="k", key_hash="h", enabled=True, expires_at=None,
                    quota_remaining=None, allowed_models=None, allowed_networks=(),
                    rpm_limit=None)
    price = PriceSnapshot(target="*", kind="tokens", input_price=1, output_price=1,
                          fixed_price=0)
    call = Call(request_id="r", key=key, model="m", workflow_id="w", price=price,
                stream=True, surface="openai")
    return RelayRun(call, upstream, WorkflowStreamConverter(context()),  # type: ignore[arg-type]
                    metering, keepalive=keepalive)  # type: ignore[arg-type]


async def test_events_received_together_form_one_burst() -> None:
    all_events = events(WORKFLOW_OUTPUT_THEN_END)
    upstream = Upstream([all_events[:2], all_events[2:]])
    metering = Metering()
    bursts = run_for(upstream, metering).bursts()
    upstream.release.put_nowait(None)
    first = await anext(bursts)
    upstream.release.put_nowait(None)
    rest = [burst async for burst in bursts]
    assert first and all(rest)
    assert len(rest) <= 2  # the second packet's events together (+ the converter's tail)
    assert upstream.closed and [o.status for o in metering.finished] == ["success"]


async def test_silence_is_a_keepalive_and_leaving_early_settles_once() -> None:
    upstream = Upstream([events(WORKFLOW_OUTPUT_THEN_END)])
    metering = Metering()
    bursts = run_for(upstream, metering, keepalive=0.01).bursts()
    assert await anext(bursts) == [KeepAlive()]
    await bursts.aclose()  # the client went away
    assert upstream.closed and [o.status for o in metering.finished] == ["cancelled"]
