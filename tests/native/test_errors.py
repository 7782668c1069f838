"""Errors on the Coze surface: Coze's shape and codes, so cozepy's error mapping works.

Gateway refusals use Coze codes (4100 bad key, 4101 not allowed, 4200 unknown, 4013 rate
limited, 4000 bad parameters, 4028 no credit); upstream errors pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cozepy import CozeAPIError, Message

from cozegate.emulator import EmulatorServer, scripts
from tests.fixtures_emulator import catalog
from tests.fixtures_gateway import Gateway
from tests.native.conftest import coze_client

pytestmark = pytest.mark.db


def post(gateway: Gateway, path: str, body: dict[str, Any], key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return httpx.post(f"{gateway.url}{path}", json=body, headers=headers, timeout=30)


def test_bad_key_is_4100_in_coze_shape(gateway: Gateway) -> None:
    with pytest.raises(CozeAPIError) as info:
        coze_client(gateway, "sk-not-a-key").workflows.runs.create(
            workflow_id=catalog.ECHO, parameters={"input": "x"})
    assert info.value.code == 4100 and info.value.logid
    response = post(gateway, "/v1/workflow/stream_run", {"workflow_id": catalog.STORY}, None)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["code"] == 4100 and body["msg"]
    assert body["detail"]["logid"] == response.headers["x-tt-logid"]


def test_unpublished_workflow_4200_passes_through(gateway: Gateway) -> None:
    coze = coze_client(gateway)
    with pytest.raises(CozeAPIError) as info:
        coze.workflows.runs.create(workflow_id=catalog.DRAFT_ONLY)
    assert info.value.code == 4200 and info.value.logid
    with pytest.raises(CozeAPIError) as info:
        coze.workflows.runs.stream(workflow_id=catalog.DRAFT_ONLY)  # before the first byte
    assert info.value.code == 4200


def test_upstream_failure_keeps_code_msg_and_debug_url(gateway: Gateway) -> None:
    with pytest.raises(CozeAPIError) as info:
        coze_client(gateway).workflows.runs.create(workflow_id=catalog.ALWAYS_FAIL)
    assert info.value.code == scripts.FAIL_CODE
    assert info.value.msg.startswith("Workflow execution failed")
    assert info.value.debug_url and "workflow_id=" + catalog.ALWAYS_FAIL in info.value.debug_url
    assert info.value.logid


def test_malformed_body_is_4000(gateway: Gateway) -> None:
    response = post(gateway, "/v1/workflow/run", {"parameters": {}}, gateway.admin_key)
    assert response.status_code == 400
    assert response.json()["code"] == 4000 and "workflow_id" in response.json()["msg"]
    response = post(gateway, "/v1/workflow/run",
                    {"workflow_id": catalog.ECHO, "parameters": "[1, 2]"}, gateway.admin_key)
    assert response.json()["code"] == 4000 and "parameters" in response.json()["msg"]


@pytest.fixture
def refusing_emulator(emulator_server_factory: Callable[..., EmulatorServer]) -> EmulatorServer:
    """An emulator that answers every run with 4013: any run reaching it is visible."""
    return emulator_server_factory(faults=[
        {"fault": "rate_limit", "path": "/v1/workflow/run"},
        {"fault": "rate_limit", "path": "/v1/workflow/stream_run"}])


async def _only_channel(gateway: Gateway, url: str) -> None:
    await gateway.add_channel("refusing", url)
    await gateway.disable_channel("sandbox")


async def test_schema_validation_answers_4000_without_a_coze_call(
        gateway: Gateway, refusing_emulator: EmulatorServer) -> None:
    await _only_channel(gateway, refusing_emulator.url)
    coze = coze_client(gateway)
    with pytest.raises(CozeAPIError) as info:
        coze.workflows.runs.create(workflow_id=catalog.ECHO, parameters={})
    assert info.value.code == 4000 and "'input'" in info.value.msg
    with pytest.raises(CozeAPIError) as info:
        coze.workflows.runs.stream(workflow_id=catalog.STORY,
                                   parameters={"topic": "x", "chunks": "many"})
    assert info.value.code == 4000 and "'chunks'" in info.value.msg
    with pytest.raises(CozeAPIError) as info:
        coze.workflows.runs.create(workflow_id=catalog.STORY, parameters={"topic": 7})
    assert info.value.code == 4000 and "'topic'" in info.value.msg
    assert refusing_emulator.app.state.emulator.executions == {}
    # A valid request does reach Coze (which refuses it here).
    with pytest.raises(CozeAPIError) as info:
        coze.workflows.runs.create(workflow_id=catalog.ECHO, parameters={"input": "x"})
    assert info.value.code == 4013


async def test_schema_validation_can_be_turned_off(
        gateway_factory: Callable[..., Any], refusing_emulator: EmulatorServer) -> None:
    gateway = await gateway_factory(native={"validate_inputs": False})
    await _only_channel(gateway, refusing_emulator.url)
    with pytest.raises(CozeAPIError) as info:
        coze_client(gateway).workflows.runs.create(workflow_id=catalog.ECHO, parameters={})
    assert info.value.code == 4013  # it went upstream


async def test_rate_limit_per_key_and_class_is_4013(gateway: Gateway) -> None:
    _, key = await gateway.create_user("limited", "1", rate_limits={"workflow": 2})
    coze = coze_client(gateway, key)
    for _ in range(2):
        coze.workflows.runs.create(workflow_id=catalog.ECHO, parameters={"input": "x"})
    with pytest.raises(CozeAPIError) as info:
        coze.workflows.runs.create(workflow_id=catalog.ECHO, parameters={"input": "x"})
    assert info.value.code == 4013
    response = post(gateway, "/v1/workflow/stream_run",
                    {"workflow_id": catalog.STORY, "parameters": {"topic": "x"}}, key)
    assert response.status_code == 429 and response.json()["code"] == 4013
    assert int(response.headers["retry-after"]) >= 1
    # Other classes have their own budget.
    assert coze.workflows.retrieve(workflow_id=catalog.ECHO).workflow_detail.workflow_name
    chat = list(coze.workflows.chat.stream(
        workflow_id=catalog.CHAT_MEMORY,
        additional_messages=[Message.build_user_question_text("hi")]))
    assert chat


async def test_default_limits_come_from_settings(gateway_factory: Callable[..., Any]) -> None:
    gateway = await gateway_factory(rate_limits={"workflow": 30, "chat": 60, "info": 1})
    _, key = await gateway.create_user("reader", "1")
    coze = coze_client(gateway, key)
    coze.workspaces.list()
    with pytest.raises(CozeAPIError) as info:
        coze.workflows.retrieve(workflow_id=catalog.ECHO)
    assert info.value.code == 4013


async def test_insufficient_balance_is_4028(gateway: Gateway) -> None:
    user_id, key = await gateway.create_user("poor", "0")
    response = post(gateway, "/v1/workflow/run",
                    {"workflow_id": catalog.ECHO, "parameters": {"input": "x"}}, key)
    assert response.status_code == 402 and response.json()["code"] == 4028
    with pytest.raises(CozeAPIError) as info:
        coze_client(gateway, key).workflows.runs.stream(workflow_id=catalog.STORY,
                                                         parameters={"topic": "x"})
    assert info.value.code == 4028
    assert await gateway.usage_rows(user_id) == []


async def test_key_quota_exhausted_is_4028(gateway: Gateway) -> None:
    _, key = await gateway.create_user("capped", "10", quota=1)
    with pytest.raises(CozeAPIError) as info:
        coze_client(gateway, key).workflows.runs.create(workflow_id=catalog.ECHO,
                                                         parameters={"input": "x"})
    assert info.value.code == 4028


async def test_workflow_outside_the_key_allowlist_is_4101(gateway: Gateway) -> None:
    _, key = await gateway.create_user("narrow", "1", allowed_models=[catalog.ECHO])
    coze = coze_client(gateway, key)
    assert coze.workflows.runs.create(workflow_id=catalog.ECHO, parameters={"input": "x"}).data
    response = post(gateway, "/v1/workflow/run",
                    {"workflow_id": catalog.STORY, "parameters": {"topic": "x"}}, key)
    assert response.status_code == 403 and response.json()["code"] == 4101


async def test_no_channel_for_a_workflow_is_4200(gateway: Gateway) -> None:
    await gateway.disable_channel("sandbox")
    with pytest.raises(CozeAPIError) as info:
        coze_client(gateway).workflows.runs.create(workflow_id=catalog.ECHO,
                                                   parameters={"input": "x"})
    assert info.value.code == 4200 and "channel" in info.value.msg
