"""The client over ``httpx.ASGITransport`` (the gateway's in-process sandbox upstream).

Uses the shared ``emulator_app`` fixture. There is no socket here, so the emulator's drop and
break faults surface as the app's own exceptions; the client must still raise its own tree.
"""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from cozegate.emulator import SANDBOX_TOKEN
from cozegate.upstream import CozeClient, CozeTransportError, PATAuth

from .conftest import ECHO, STORY
from .helpers import FAST_RETRY, CountingTransport

BASE = "http://emulator.local"


def _client(app: Starlette, counting: CountingTransport | None = None,
            fault: str | None = None) -> CozeClient:
    inner = httpx.ASGITransport(app=app)
    headers = {"X-Emulator-Fault": fault} if fault else None
    return CozeClient(BASE, PATAuth(SANDBOX_TOKEN), retry_policy=FAST_RETRY,
                      transport=CountingTransport(inner) if counting is None else counting,
                      headers=headers)


async def test_run_and_stream_in_process(emulator_app: Starlette) -> None:
    async with _client(emulator_app) as client:
        result = await client.run_workflow(ECHO, {"input": "x"})
        assert result.data == '{"input":"x"}'
        async with client.stream_workflow(STORY, {"topic": "x", "chunks": 2}) as stream:
            events = [event async for event in stream]
    assert events[-1].event == "Done"


@pytest.mark.parametrize("fault", ["drop", "break=1"])
async def test_in_process_faults_are_mapped(emulator_app: Starlette, fault: str) -> None:
    counting = CountingTransport(httpx.ASGITransport(app=emulator_app))
    async with _client(emulator_app, counting, fault) as client:
        with pytest.raises(CozeTransportError) as info:
            async with client.stream_workflow(STORY, {"topic": "x", "chunks": 3}) as stream:
                async for _ in stream:
                    pass
    assert info.value.sent
    assert len(counting.requests) == 1  # a run that may have started is never resent
