"""Streams on the Coze surface: framing, headers, relay as events arrive, endings.

Timing is checked only by order (an event reached the client while Coze was still
producing the run), never by time thresholds.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import httpx
import pytest
from cozepy import Message, WorkflowEventType
from sqlalchemy import select

from cozegate.emulator import EmulatorServer
from cozegate.kit.sse import parse_events
from cozegate.models import Run
from tests.fixtures_emulator import catalog
from tests.fixtures_gateway import Gateway
from tests.native.conftest import coze_client

pytestmark = pytest.mark.db


def headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_workflow_stream_framing_and_headers(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as http, http.stream(
            "POST", "/v1/workflow/stream_run", headers=headers(gateway.admin_key),
            json={"workflow_id": catalog.STORY, "parameters": {"topic": "owls", "chunks": 2}},
    ) as response:
        body = (await response.aread()).decode()
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.headers["x-tt-logid"]
    blocks = body.split("\n\n")
    assert blocks[-1] == ""  # the body ends right after the last event
    for index, block in enumerate(blocks[:-1]):
        lines = block.split("\n")
        assert [line.split(":", 1)[0] for line in lines] == ["id", "event", "data"]
        assert lines[0] == f"id: {index}"
        json.loads(lines[2].removeprefix("data: "))  # one line of JSON
    events = parse_events([body])
    assert [e.event for e in events] == ["Message", "Message", "Message", "Done"]


async def test_chat_stream_has_no_ids_and_ends_with_done(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as http, http.stream(
            "POST", "/v1/workflows/chat", headers=headers(gateway.admin_key),
            json={"workflow_id": catalog.CHAT_MEMORY, "additional_messages": [
                {"role": "user", "content": "hi", "content_type": "text", "meta_data": None}]},
    ) as response:
        body = (await response.aread()).decode()
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert "\nid:" not in "\n" + body
    events = parse_events([body])
    assert events[0].event == "conversation.chat.created"
    assert events[-1].event == "done"


async def test_errors_before_the_stream_are_json(gateway: Gateway) -> None:
    _, key = await gateway.create_user("chatter", "1")
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        response = await http.post("/v1/workflows/chat", headers=headers(key),
                                   json={"workflow_id": catalog.CHAT_MEMORY,
                                         "conversation_id": "1", "additional_messages": []})
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["code"] == 4200  # a conversation this user does not own


@pytest.fixture
def slow_emulator(emulator_server_factory: Callable[..., EmulatorServer]) -> EmulatorServer:
    return emulator_server_factory(chunk_interval=0.2)


async def _use(gateway: Gateway, server: EmulatorServer) -> None:
    await gateway.add_channel("slow", server.url)
    await gateway.disable_channel("sandbox")


def _executions(server: EmulatorServer) -> list[str]:
    return [e.status for e in list(server.app.state.emulator.executions.values())]


async def test_events_are_relayed_as_they_arrive(gateway: Gateway,
                                                 slow_emulator: EmulatorServer) -> None:
    await _use(gateway, slow_emulator)
    seen: list[tuple[str, list[str]]] = []
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http, http.stream(
            "POST", "/v1/workflow/stream_run", headers=headers(gateway.admin_key),
            json={"workflow_id": catalog.STORY, "parameters": {"topic": "owls", "chunks": 4}},
    ) as response:
        async for line in response.aiter_lines():
            if line.startswith("event:") and line != "event: PING":
                # What Coze's run looked like when this event reached the client.
                seen.append((line.removeprefix("event: "), _executions(slow_emulator)))
    assert [name for name, _ in seen] == ["Message"] * 5 + ["Done"]
    assert seen[0][1] == ["Running"]  # the first piece came while Coze was still writing
    assert _executions(slow_emulator) == ["Success"]


async def test_chat_deltas_are_relayed_as_they_arrive(gateway: Gateway,
                                                      slow_emulator: EmulatorServer) -> None:
    await _use(gateway, slow_emulator)
    events = coze_client(gateway).workflows.chat.stream(
        workflow_id=catalog.CHAT_MEMORY,
        additional_messages=[Message.build_user_question_text("one two three four")])
    conversations = slow_emulator.app.state.emulator.conversations
    busy_at_first_delta = None
    for event in events:
        if busy_at_first_delta is None and event.event == "conversation.message.delta":
            busy_at_first_delta = [c.busy for c in list(conversations.values())]
    assert busy_at_first_delta == [True]


async def test_client_leaving_mid_stream_still_settles(gateway: Gateway,
                                                       slow_emulator: EmulatorServer) -> None:
    await _use(gateway, slow_emulator)
    user_id, key = await gateway.create_user("quitter", "1")
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http, http.stream(
            "POST", "/v1/workflow/stream_run", headers=headers(key),
            json={"workflow_id": catalog.STORY, "parameters": {"topic": "owls", "chunks": 20}},
    ) as response:
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                break  # gone after the first event
    deadline = time.monotonic() + 10
    while not (rows := await gateway.usage_rows(user_id)):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert rows[0].status == "cancelled"
    assert await gateway.balance(user_id) == 1_000_000  # no usage reported yet: refunded
    while (run := await _run_of(gateway, user_id)).status == "running":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert run.status == "cancelled"


async def _run_of(gateway: Gateway, user_id: int) -> Run:
    async with gateway.sessionmaker() as session:
        run = await session.scalar(select(Run).where(Run.user_id == user_id))
    assert run is not None
    return run


async def test_upstream_breaking_mid_stream_ends_with_an_error_event(
        gateway: Gateway, emulator_server_factory: Callable[..., EmulatorServer]) -> None:
    server = emulator_server_factory(faults=[{"fault": "break=2",
                                              "path": "/v1/workflow/stream_run"}])
    await _use(gateway, server)
    user_id, key = await gateway.create_user("broken", "1")
    events = list(coze_client(gateway, key).workflows.runs.stream(
        workflow_id=catalog.STORY, parameters={"topic": "owls"}))
    assert [e.event for e in events] == [WorkflowEventType.MESSAGE] * 2 + [
        WorkflowEventType.ERROR]
    assert [e.id for e in events] == [0, 1, 2]  # the closing event continues the ids
    assert events[-1].error.error_code == 5000
    [row] = await gateway.usage_rows(user_id)
    assert row.status == "error" and await gateway.balance(user_id) == 1_000_000
