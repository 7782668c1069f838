"""Byte-level wire checks (spec §1.3–1.5, §7) and behaviours cozepy 0.20.0 cannot reach."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import httpx
import pytest

from cozegate.emulator import EmulatorServer, create_emulator_app, scripts
from tests.fixtures_emulator import (
    IN_PROCESS_BASE_URL,
    SANDBOX_TOKEN,
    catalog,
    emulator_test_config,
)

WORKFLOW_FRAME = re.compile(r"id: (\d+)\nevent: (\w+)\ndata: (\{.*\})\n\n")
CHAT_FRAME = re.compile(r"event: ([\w.]+)\ndata: (\{.*\})\n\n")
AUTH = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}


def frames(text: str, pattern: re.Pattern[str]) -> list[tuple[str, ...]]:
    """Split a whole SSE body into frames, asserting nothing else is in it."""
    found = [m.groups() for m in pattern.finditer(text)]
    assert "".join(m.group(0) for m in pattern.finditer(text)) == text
    return found


def client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                             base_url=IN_PROCESS_BASE_URL, headers=AUTH)


async def test_workflow_sse_framing(emulator_client: httpx.AsyncClient) -> None:
    response = await emulator_client.post("/v1/workflow/stream_run", json={
        "workflow_id": catalog.STORY, "parameters": {"topic": "t", "chunks": 2}})
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-tt-logid"]
    found = frames(response.text, WORKFLOW_FRAME)
    assert [(i, e) for i, e, _ in found] == [("0", "Message"), ("1", "Message"),
                                             ("2", "Message"), ("3", "Done")]
    assert all(isinstance(json.loads(d)["node_seq_id"], str) for _, _, d in found[:3])
    assert "workflow_id=" + catalog.STORY in json.loads(found[3][2])["debug_url"]


async def test_pings_carry_ids(emulator_client: httpx.AsyncClient) -> None:
    response = await emulator_client.post("/v1/workflow/stream_run", json={
        "workflow_id": catalog.SLOW_JOB, "parameters": {"seconds": 0.2}})
    found = frames(response.text, WORKFLOW_FRAME)
    assert [int(i) for i, _, _ in found] == list(range(len(found)))
    assert {e for _, e, _ in found[:-2]} == {"PING"} and len(found) >= 4
    assert [e for _, e, _ in found[-2:]] == ["Message", "Done"]


async def test_chat_sse_has_no_ids(emulator_client: httpx.AsyncClient) -> None:
    response = await emulator_client.post("/v1/workflows/chat", json={
        "workflow_id": catalog.CHAT_MEMORY, "additional_messages": [
            {"role": "user", "type": "question", "content": "hi", "content_type": "text",
             "meta_data": None, "id": None, "conversation_id": None}]})
    found = frames(response.text, CHAT_FRAME)
    assert not re.search(r"^id:", response.text, re.MULTILINE)
    assert found[-1][0] == "done" and found[-2][0] == "conversation.chat.completed"


async def test_parameters_as_json_string(emulator_client: httpx.AsyncClient) -> None:
    body = (await emulator_client.post("/v1/workflow/run", json={
        "workflow_id": catalog.ECHO, "parameters": '{"input":"s"}'})).json()
    assert body["data"] == '{"input":"s"}'


@pytest.mark.parametrize("path,body,code", [
    ("/v1/workflow/stream_run", {"workflow_id": catalog.STORY}, 4000),
    ("/v1/workflow/stream_run", {"workflow_id": catalog.STORY,
                                 "parameters": {"topic": "x", "chunks": 0}}, 4000),
    ("/v1/workflow/stream_run", {"workflow_id": "123"}, 4200),
    ("/v1/workflow/stream_run", {}, 4000),
    ("/v1/workflow/stream_run", {"workflow_id": catalog.CHAT_ASK}, 4000),
    ("/v1/workflows/chat", {"workflow_id": catalog.CHAT_MEMORY}, 4000),
    ("/v1/workflows/chat", {"workflow_id": catalog.ECHO, "additional_messages": []}, 4000),
    ("/v1/workflow/run", {"workflow_id": catalog.ECHO, "parameters": {"input": "x"},
                          "bot_id": "1", "app_id": "2"}, 4000),
    ("/v1/workflow/run", {"workflow_id": catalog.ECHO, "parameters": "{oops"}, 4000),
    ("/v1/workflow/stream_resume", {"workflow_id": catalog.ASK_CITY, "event_id": "1/2",
                                    "resume_data": "x", "interrupt_type": 2}, 4000),
])
async def test_pre_stream_errors_are_json(emulator_client: httpx.AsyncClient, path: str,
                                          body: dict, code: int) -> None:
    response = await emulator_client.post(path, json=body)
    assert response.headers["content-type"].startswith("application/json")
    payload = response.json()
    assert payload["code"] == code and payload["msg"]
    assert payload["detail"]["logid"] == response.headers["x-tt-logid"]


async def test_run_always_has_top_level_debug_url(emulator_client: httpx.AsyncClient) -> None:
    ok = (await emulator_client.post("/v1/workflow/run", json={
        "workflow_id": catalog.ECHO, "parameters": {"input": "x"}})).json()
    failed = (await emulator_client.post("/v1/workflow/run", json={
        "workflow_id": catalog.ALWAYS_FAIL})).json()
    draft = (await emulator_client.post("/v1/workflow/run", json={
        "workflow_id": catalog.DRAFT_ONLY})).json()
    assert isinstance(ok["execute_id"], str) and isinstance(ok["data"], str)
    assert ok["debug_url"] and failed["debug_url"] and draft["debug_url"] == ""
    assert failed["code"] == scripts.FAIL_CODE and draft["code"] == 4200


async def test_workflow_info_schema(emulator_client: httpx.AsyncClient) -> None:
    plain = (await emulator_client.get(f"/v1/workflows/{catalog.STORY}")).json()
    assert "debug_url" not in plain and "input" not in plain["data"]
    full = (await emulator_client.get(f"/v1/workflows/{catalog.STORY}",
                                      params={"include_input_output": "true"})).json()
    params = full["data"]["input"]["parameters"]
    assert params["topic"]["required"] is True and params["chunks"]["type"] == "integer"
    assert full["data"]["output"]["terminate_plan"] == "return_variables"


async def test_workflow_list_clamps_page_size(emulator_client: httpx.AsyncClient) -> None:
    big = (await emulator_client.get("/v1/workflows", params={"page_size": 100,
                                                              "page_num": 1})).json()
    assert big["code"] == 0 and len(big["data"]["items"]) == len(catalog.WORKFLOWS) == 9
    page = (await emulator_client.get("/v1/workflows", params={"page_size": 3,
                                                               "page_num": 3})).json()
    assert len(page["data"]["items"]) == 3 and page["data"]["has_more"] is False
    drafts = (await emulator_client.get("/v1/workflows", params={
        "publish_status": "unpublished_draft"})).json()
    assert [w["workflow_id"] for w in drafts["data"]["items"]] == [catalog.DRAFT_ONLY]


async def test_sync_interrupt_and_non_stream_resume(emulator_client: httpx.AsyncClient) -> None:
    body = (await emulator_client.post("/v1/workflow/run",
                                       json={"workflow_id": catalog.ASK_CITY})).json()
    assert body["code"] == 0 and body["data"] == "" and body["debug_url"]
    interrupt = body["interrupt_data"]
    assert interrupt["type"] == 2 and interrupt["node_title"] == "Question"
    assert interrupt["event_id"].startswith(body["execute_id"] + "/")
    resumed = (await emulator_client.post("/v1/workflows/resume", json={
        "workflow_id": catalog.ASK_CITY, "event_id": interrupt["event_id"],
        "resume_data": "Lima", "interrupt_type": 2})).json()
    assert json.loads(resumed["data"]) == {"output": scripts.city_answer("Lima")}
    assert resumed["usage"]["input_count"] == 1 and resumed["execute_id"] == body["execute_id"]


async def test_async_interrupt_and_resume(emulator_client: httpx.AsyncClient) -> None:
    started = (await emulator_client.post("/v1/workflow/run", json={
        "workflow_id": catalog.ASK_CITY, "is_async": True})).json()
    url = f"/v1/workflows/{catalog.ASK_CITY}/run_histories/{started['execute_id']}"
    for _ in range(50):
        item = (await emulator_client.get(url)).json()["data"][0]
        if "interrupt_data" in item:
            break
        await asyncio.sleep(0.01)
    assert item["execute_status"] == "Running"
    resumed = (await emulator_client.post("/v1/workflows/resume", json={
        "workflow_id": catalog.ASK_CITY, "event_id": item["interrupt_data"]["event_id"],
        "resume_data": "Quito", "interrupt_type": 2})).json()
    assert resumed["execute_id"] == started["execute_id"] and "data" not in resumed
    for _ in range(50):
        item = (await emulator_client.get(url)).json()["data"][0]
        if item["execute_status"] != "Running":
            break
        await asyncio.sleep(0.01)
    assert item["execute_status"] == "Success" and item["error_code"] == ""


async def test_history_fields_and_coze_plus_path(emulator_client: httpx.AsyncClient) -> None:
    run = (await emulator_client.post("/v1/workflow/run", json={
        "workflow_id": catalog.ECHO, "parameters": {"input": "h"},
        "ext": {"user_id": "u-77"}})).json()
    item = (await emulator_client.get("/v1/workflow/get_run_history", params={
        "workflow_id": catalog.ECHO, "execute_id": run["execute_id"]})).json()["data"][0]
    required = {"execute_id", "execute_status", "bot_id", "connector_id", "connector_uid",
                "run_mode", "logid", "create_time", "update_time", "output", "error_code",
                "debug_url", "is_output_trimmed"}
    assert required <= set(item)
    assert item["connector_uid"] == "u-77" and item["run_mode"] == 0
    assert isinstance(item["error_code"], str) and item["logid"] != run["detail"]["logid"]
    other = (await emulator_client.get(
        f"/v1/workflows/{catalog.STORY}/run_histories/{run['execute_id']}")).json()
    assert other["code"] == 4000


async def test_retention_expires_history() -> None:
    app = create_emulator_app(emulator_test_config(retention_seconds=0.1))
    async with client_for(app) as client:
        run = (await client.post("/v1/workflow/run", json={
            "workflow_id": catalog.ECHO, "parameters": {"input": "r"}})).json()
        url = f"/v1/workflows/{catalog.ECHO}/run_histories/{run['execute_id']}"
        assert (await client.get(url)).json()["code"] == 0
        await asyncio.sleep(0.15)
        expired = (await client.get(url)).json()
    assert expired["code"] == 4000 and "retention" in expired["msg"]


async def test_output_trimmed() -> None:
    app = create_emulator_app(emulator_test_config(output_trim_bytes=10))
    async with client_for(app) as client:
        run = (await client.post("/v1/workflow/run", json={
            "workflow_id": catalog.ECHO, "parameters": {"input": "x" * 50}})).json()
        item = (await client.get(f"/v1/workflows/{catalog.ECHO}/run_histories/"
                                 f"{run['execute_id']}")).json()["data"][0]
    assert item["is_output_trimmed"] is True
    assert json.loads(item["output"])["Output"] == run["data"][:10]


async def test_async_disabled_is_6003() -> None:
    app = create_emulator_app(emulator_test_config(async_enabled=False))
    async with client_for(app) as client:
        body = (await client.post("/v1/workflow/run", json={
            "workflow_id": catalog.ECHO, "parameters": {"input": "x"}, "is_async": True})).json()
    assert body["code"] == 6003


async def test_message_list_paging(emulator_client: httpx.AsyncClient) -> None:
    created = (await emulator_client.post("/v1/conversation/create", json={"messages": [
        {"role": "user", "content": f"m{i}", "content_type": "text"} for i in range(5)]})).json()
    cid = created["data"]["id"]

    async def page(**body: Any) -> dict:
        payload = {"order": "desc", "chat_id": None, "before_id": None, "after_id": None,
                   "limit": 2, **body}
        return (await emulator_client.post("/v1/conversation/message/list",
                                           params={"conversation_id": cid}, json=payload)).json()

    first = await page()
    assert [m["content"] for m in first["data"]] == ["m4", "m3"] and first["has_more"]
    second = await page(after_id=first["last_id"])
    assert [m["content"] for m in second["data"]] == ["m2", "m1"]
    back = await page(before_id=second["first_id"])
    assert [m["content"] for m in back["data"]] == ["m4", "m3"]
    asc = await page(order="asc", limit=50)
    assert [m["content"] for m in asc["data"]] == [f"m{i}" for i in range(5)]
    assert asc["has_more"] is False


async def test_coze_plus_conversation_create(emulator_client: httpx.AsyncClient) -> None:
    body = {"app_id": "1", "workflow_id": catalog.CHAT_MEMORY, "conversation_name": "support",
            "get_or_create": True}
    first = (await emulator_client.post("/v1/workflow/conversation/create", json=body)).json()
    again = (await emulator_client.post("/v1/workflow/conversation/create", json=body)).json()
    assert first["data"]["id"] == again["data"]["id"] and first["data"]["name"] == "support"
    listed = (await emulator_client.get("/v1/conversations")).json()
    assert listed["data"]["conversations"][0]["id"] == first["data"]["id"]


async def test_conversation_errors(emulator_client: httpx.AsyncClient) -> None:
    missing = (await emulator_client.get("/v1/conversation/retrieve")).json()
    unknown = (await emulator_client.get("/v1/conversation/retrieve",
                                         params={"conversation_id": "42"})).json()
    listed = (await emulator_client.post("/v1/conversation/message/list",
                                         params={"conversation_id": "42"}, json={})).json()
    assert (missing["code"], unknown["code"], listed["code"]) == (4000, 4001, 4001)


async def test_unknown_path_is_json(emulator_client: httpx.AsyncClient) -> None:
    response = await emulator_client.get("/v1/nope")
    assert response.status_code == 404 and response.json()["code"] == 4200


def test_client_disconnect_marks_stream_run_failed() -> None:
    with EmulatorServer(emulator_test_config()) as server, httpx.Client(
            base_url=server.url, headers=AUTH) as client:
        with client.stream("POST", "/v1/workflow/stream_run", json={
                "workflow_id": catalog.SLOW_JOB, "parameters": {"seconds": 5}}) as response:
            next(response.iter_lines())  # first PING arrives, then hang up
        executions = server.app.state.emulator.executions
        deadline = time.monotonic() + 3
        while not all(e.status == "Fail" for e in executions.values()):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert [e.error_code for e in executions.values()] == ["5000"]


async def test_records_are_bounded() -> None:
    app = create_emulator_app(emulator_test_config(max_records=3))
    async with client_for(app) as client:
        ids = [(await client.post("/v1/workflow/run", json={
            "workflow_id": catalog.ECHO, "parameters": {"input": str(i)}})).json()["execute_id"]
            for i in range(5)]
        oldest = (await client.get(f"/v1/workflows/{catalog.ECHO}/run_histories/{ids[0]}")).json()
        newest = (await client.get(f"/v1/workflows/{catalog.ECHO}/run_histories/{ids[-1]}")).json()
        for _ in range(5):
            await client.post("/v1/conversation/create", json={})
    assert oldest["code"] == 4000 and newest["code"] == 0
    assert len(app.state.emulator.executions) == 3 and len(app.state.emulator.conversations) == 3


async def test_assistant_replies_to_bot_user_input(emulator_client: httpx.AsyncClient) -> None:
    missing = (await emulator_client.post("/v1/workflow/run",
                                          json={"workflow_id": catalog.ASSISTANT})).json()
    assert missing["code"] == 4000 and "BOT_USER_INPUT" in missing["msg"]
    body = (await emulator_client.post("/v1/workflow/run", json={
        "workflow_id": catalog.ASSISTANT, "parameters": {"BOT_USER_INPUT": "hi"}})).json()
    assert body["code"] == 0
    assert body["data"] == '{"output":"You said: hi. Here is my answer: hello from the ' \
        'cozegate emulator!"}'
