"""The seed gateway's curl examples (seeds/000), sent as written, with the sandbox's
`assistant` workflow id in place of the seed's placeholder id."""

from __future__ import annotations

import json

import httpx
import pytest

from cozegate.emulator.scripts import assistant_reply
from tests.fixtures_emulator import catalog
from tests.fixtures_gateway import Gateway

pytestmark = pytest.mark.db


def seed_body(**overrides: object) -> dict:
    return {"model": "coze-workflow", "workflow_id": catalog.ASSISTANT,
            "messages": [{"role": "user", "content": "你的输入内容"}], **overrides}


async def call(gateway: Gateway, body: dict) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        return await http.post("/v1/chat/completions", json=body, headers={
            "Authorization": f"Bearer {gateway.admin_key}", "Content-Type": "application/json"})


def chunks_of(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [event for event in response.text.split("\n\n") if event]
    assert events[-1] == "data: [DONE]"
    return [json.loads(event.removeprefix("data: ")) for event in events[:-1]]


def text_of(chunks: list[dict]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)


async def test_stream_with_workflow_parameters(gateway: Gateway) -> None:
    chunks = chunks_of(await call(gateway, seed_body(stream=True, workflow_parameters={
        "custom_param1": "value1", "custom_param2": "value2"})))
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "coze-workflow"
               for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert text_of(chunks) == assistant_reply("你的输入内容")
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


async def test_plain_stream(gateway: Gateway) -> None:
    body = seed_body(stream=True)
    body["messages"] = [{"role": "user", "content": "Hello"}]
    chunks = chunks_of(await call(gateway, body))
    assert text_of(chunks) == assistant_reply("Hello")


async def test_non_stream(gateway: Gateway) -> None:
    body = seed_body()
    body["messages"] = [{"role": "user", "content": "Hello"}]
    completion = (await call(gateway, body)).json()
    assert completion["object"] == "chat.completion"
    assert completion["choices"][0]["message"] == {"role": "assistant",
                                                   "content": assistant_reply("Hello")}
    assert completion["choices"][0]["finish_reason"] == "stop"
    assert completion["usage"]["total_tokens"] == (completion["usage"]["prompt_tokens"]
                                                   + completion["usage"]["completion_tokens"])
    assert completion["usage"]["completion_tokens"] > 0
