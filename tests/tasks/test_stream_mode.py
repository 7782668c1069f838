"""Tasks the gateway holds as a stream (Coze refused async with 6003; chat flows), and
outputs Coze trims in run history (fetched whole from the End node)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest

from cozegate.emulator import EmulatorServer
from cozegate.emulator.scripts import story_text
from tests.fixtures_emulator import catalog
from tests.fixtures_gateway import Gateway
from tests.tasks.helpers import TaskClient, running_gateway

pytestmark = pytest.mark.db

ServerFactory = Callable[..., EmulatorServer]


async def only_channel(gateway: Gateway, server: EmulatorServer, name: str) -> None:
    await gateway.add_channel(name, server.url)
    await gateway.disable_channel("sandbox")


async def test_coze_refusing_async_falls_back_to_a_held_stream(
        db_url: str, emulator_server_factory: ServerFactory) -> None:
    server = emulator_server_factory(async_enabled=False)
    async with running_gateway(db_url) as gateway:
        await only_channel(gateway, server, "no-async")
        user_id, key = await gateway.create_user("alice", balance="1")
        before = await gateway.balance(user_id)
        async with TaskClient(gateway.url, key) as client:
            submitted = (await client.submit(catalog.STORY, {"topic": "owls",
                                                             "chunks": 4})).json()
            task = await client.wait(submitted["task_id"])
            events = await client.events(task["id"])
            run = (await client.http.get(f"/api/runs/{task['execution_id']}")).json()
    assert (task["status"], task["mode"], task["channel"]) == ("completed", "stream", "no-async")
    assert task["output_data"] == {"output": story_text("owls")}
    assert task["execute_id"] and task["debug_url"]
    names = [event["event"] for event in events]
    assert names[:3] == ["submitted", "fallback", "started"]
    assert "6003" in json.loads(events[1]["data"])["reason"]
    streamed = "".join(json.loads(e["data"])["content"] for e in events if e["event"] == "message")
    assert streamed == story_text("owls")
    assert names[-1] == "succeeded" and [e["id"] for e in events] == list(range(1, len(events) + 1))
    cost = task["usage"]["input_tokens"] + 2 * task["usage"]["output_tokens"]
    assert before - await gateway.balance(user_id) == cost
    assert run["stream"] and not run["is_async"] and run["cost_micros"] == cost


async def test_a_chat_flow_task_runs_as_a_held_stream(db_url: str) -> None:
    async with running_gateway(db_url) as gateway, \
            TaskClient(gateway.url, gateway.admin_key) as client:
        submitted = (await client.submit(catalog.CHAT_MEMORY, workflow_type="chatflow",
                                         message="my name is Ada")).json()
        task = await client.wait(submitted["task_id"])
    assert (task["status"], task["mode"], task["workflow_type"]) == (
        "completed", "stream", "chatflow")
    assert task["output_data"] == 'You said: "my name is Ada". This is turn 1.'
    assert task["conversation_id"] and task["execute_id"]
    assert task["usage"]["output_tokens"] > 0


async def test_a_trimmed_history_output_is_fetched_whole(
        db_url: str, emulator_server_factory: ServerFactory) -> None:
    server = emulator_server_factory(output_trim_bytes=40)
    async with running_gateway(db_url) as gateway:
        await only_channel(gateway, server, "trims")
        async with TaskClient(gateway.url, gateway.admin_key) as client:
            submitted = (await client.submit(catalog.STORY, {"topic": "owls"})).json()
            task = await client.wait(submitted["task_id"])
            events = await client.events(task["id"])
    assert task["mode"] == "async"
    assert task["output_data"] == {"output": story_text("owls")}
    assert "warning" not in [event["event"] for event in events]


async def test_a_chat_flow_that_asks_ends_interrupted(db_url: str) -> None:
    async with running_gateway(db_url) as gateway, \
            TaskClient(gateway.url, gateway.admin_key) as client:
        submitted = (await client.submit(catalog.CHAT_ASK, workflow_type="chatflow",
                                         message="hello")).json()
        task = await client.wait(submitted["task_id"])
    assert (task["status"], task["execution_status"]) == ("failed", "interrupted")
    assert task["interrupt"]["type"] == "requires_action"
    assert task["output"]  # the question


async def test_cancelling_a_held_stream_closes_it(
        db_url: str, emulator_server_factory: ServerFactory) -> None:
    server = emulator_server_factory(async_enabled=False)
    async with running_gateway(db_url) as gateway:
        await only_channel(gateway, server, "no-async")
        user_id, key = await gateway.create_user("alice", balance="1")
        before = await gateway.balance(user_id)
        async with TaskClient(gateway.url, key) as client:
            submitted = (await client.submit(catalog.SLOW_JOB, {"seconds": 30})).json()
            await client.wait_started(submitted["task_id"])
            cancelled = await client.http.post(
                f"/api/coze/tasks/{submitted['task_id']}/cancel")
            task = await client.wait(submitted["task_id"])
        for _ in range(100):
            if gateway.runtime.tasks.worker.driving == 0:
                break
            await asyncio.sleep(0.02)
    assert cancelled.status_code == 200 and task["status"] == "cancelled"
    assert gateway.runtime.tasks.worker.driving == 0  # the stream was let go
    assert await gateway.balance(user_id) == before
