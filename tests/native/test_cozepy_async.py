"""The acceptance with cozepy 0.20.0's ``AsyncCoze``, through both channel kinds."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from cozepy import (
    AsyncCoze,
    CozeAPIError,
    Message,
    WorkflowEventType,
    WorkflowExecuteStatus,
)
from cozepy.chat import ChatEventType

from cozegate.emulator import scripts
from tests.fixtures_emulator import catalog
from tests.fixtures_gateway import Gateway
from tests.native.conftest import async_coze_client

pytestmark = pytest.mark.db


@pytest.fixture
def coze(coze_gateway: Gateway) -> AsyncCoze:
    return async_coze_client(coze_gateway)


async def test_run_and_async_run(coze: AsyncCoze) -> None:
    result = await coze.workflows.runs.create(workflow_id=catalog.ECHO,
                                              parameters={"input": "async"})
    assert result.data == '{"input":"async"}' and result.usage.token_count == 10
    accepted = await coze.workflows.runs.create(workflow_id=catalog.SLOW_JOB,
                                                parameters={"seconds": 0.1}, is_async=True)
    deadline = time.monotonic() + 10
    while True:
        history = await coze.workflows.runs.run_histories.retrieve(
            workflow_id=catalog.SLOW_JOB, execute_id=accepted.execute_id)
        if history.execute_status != WorkflowExecuteStatus.RUNNING:
            break
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert history.execute_status == WorkflowExecuteStatus.SUCCESS


async def test_stream_and_resume(coze: AsyncCoze) -> None:
    events = [e async for e in coze.workflows.runs.stream(
        workflow_id=catalog.STORY, parameters={"topic": "owls", "chunks": 3})]
    assert [e.id for e in events] == [0, 1, 2, 3]
    assert events[-1].message.usage.output_count > 0
    asked = [e async for e in coze.workflows.runs.stream(workflow_id=catalog.ASK_CITY)]
    interrupt = asked[-1].interrupt.interrupt_data
    resumed = [e async for e in coze.workflows.runs.resume(
        workflow_id=catalog.ASK_CITY, event_id=interrupt.event_id, resume_data="Oslo",
        interrupt_type=interrupt.type)]
    assert resumed[-1].event == WorkflowEventType.MESSAGE
    assert json.loads(resumed[-1].message.content) == {"output": scripts.city_answer("Oslo")}


async def test_pre_stream_error_raises_on_iteration(coze: AsyncCoze) -> None:
    with pytest.raises(CozeAPIError) as info:
        _ = [e async for e in coze.workflows.runs.stream(workflow_id=catalog.DRAFT_ONLY)]
    assert info.value.code == 4200


async def test_chat_flow_question_twice_on_one_conversation(coze: AsyncCoze) -> None:
    conversation = await coze.conversations.create()
    first = [e async for e in coze.workflows.chat.stream(
        workflow_id=catalog.CHAT_ASK, conversation_id=conversation.id,
        additional_messages=[Message.build_user_question_text("hi")])]
    assert first[-1].event == ChatEventType.CONVERSATION_CHAT_REQUIRES_ACTION
    second = [e async for e in coze.workflows.chat.stream(
        workflow_id=catalog.CHAT_ASK, conversation_id=conversation.id,
        additional_messages=[Message.build_user_question_text("Grace")])]
    assert any(e.message and e.message.content == "Nice to meet you, Grace!" for e in second)
    again = await coze.conversations.retrieve(conversation_id=conversation.id)
    assert again.id == conversation.id
    messages = [m async for m in await coze.conversations.messages.list(
        conversation_id=conversation.id)]
    assert "Grace" in [m.content for m in messages]


async def test_info_and_lists(coze: AsyncCoze) -> None:
    info = await coze.workflows.retrieve(workflow_id=catalog.CHAT_ASK)
    assert info.workflow_detail.workflow_name == "chat_ask"
    workflows = [w async for w in await coze.workflows.list(
        workspace_id=catalog.WORKSPACE_PERSONAL)]
    assert catalog.ECHO in {w.workflow_id for w in workflows}
    spaces = [s async for s in await coze.workspaces.list()]
    assert {s.id for s in spaces} == {catalog.WORKSPACE_PERSONAL, catalog.WORKSPACE_TEAM}
