"""The emulator as seen by cozepy 0.20.0's AsyncCoze over real HTTP."""

from __future__ import annotations

import asyncio
import json
import math

import pytest
from cozepy import (
    AsyncCoze,
    AsyncJWTAuth,
    AsyncTokenAuth,
    CozeAPIError,
    Message,
    WorkflowEventType,
    WorkflowExecuteStatus,
)
from cozepy.chat import ChatEventType

from cozegate.emulator import scripts
from tests.fixtures_emulator import (
    SANDBOX_OAUTH_APP_ID,
    SANDBOX_OAUTH_KEY_ID,
    SANDBOX_PRIVATE_KEY,
    SANDBOX_TOKEN,
    catalog,
)


def tok(text: str) -> int:
    return math.ceil(len(text) / 4)


@pytest.fixture
def coze(emulator_url: str) -> AsyncCoze:
    return AsyncCoze(auth=AsyncTokenAuth(SANDBOX_TOKEN), base_url=emulator_url)


async def test_run_and_stream(coze: AsyncCoze) -> None:
    result = await coze.workflows.runs.create(workflow_id=catalog.ECHO,
                                              parameters={"input": "async"})
    assert result.data == '{"input":"async"}'
    assert result.usage and result.usage.token_count == 2 * tok('{"input":"async"}')
    events = [e async for e in coze.workflows.runs.stream(
        workflow_id=catalog.STORY, parameters={"topic": "bees", "chunks": 3})]
    assert [e.id for e in events] == [0, 1, 2, 3]
    assert "".join(e.message.content for e in events[:3]) == scripts.story_text("bees")


async def test_stream_error_before_start_raises_on_iteration(coze: AsyncCoze) -> None:
    with pytest.raises(CozeAPIError) as info:
        async for _ in coze.workflows.runs.stream(workflow_id=catalog.DRAFT_ONLY):
            pass
    assert info.value.code == 4200
    with pytest.raises(CozeAPIError) as info:
        async for _ in coze.workflows.runs.stream(workflow_id=catalog.STORY, parameters={}):
            pass
    assert info.value.code == 4000 and "topic" in info.value.msg


async def test_interrupt_resume(coze: AsyncCoze) -> None:
    events = [e async for e in coze.workflows.runs.stream(workflow_id=catalog.ASK_CITY)]
    assert events[-1].event == WorkflowEventType.INTERRUPT
    event_id = events[-1].interrupt.interrupt_data.event_id
    resumed = [e async for e in coze.workflows.runs.resume(
        workflow_id=catalog.ASK_CITY, event_id=event_id, resume_data="Oslo", interrupt_type=2)]
    assert json.loads(resumed[0].message.content) == {"output": scripts.city_answer("Oslo")}


async def test_error_event(coze: AsyncCoze) -> None:
    events = [e async for e in coze.workflows.runs.stream(workflow_id=catalog.ALWAYS_FAIL)]
    assert events[0].event == WorkflowEventType.ERROR
    assert events[0].error.error_message == scripts.FAIL_MESSAGE


async def test_async_run_and_history(coze: AsyncCoze) -> None:
    result = await coze.workflows.runs.create(workflow_id=catalog.SLOW_JOB,
                                              parameters={"seconds": 0.1}, is_async=True)
    for _ in range(100):
        history = await coze.workflows.runs.run_histories.retrieve(
            workflow_id=catalog.SLOW_JOB, execute_id=result.execute_id)
        if history.execute_status != WorkflowExecuteStatus.RUNNING:
            break
        await asyncio.sleep(0.02)
    assert history.execute_status == WorkflowExecuteStatus.SUCCESS
    end = history.node_execute_status["End"]
    node = await coze.workflows.runs.run_histories.execute_nodes.retrieve(
        workflow_id=catalog.SLOW_JOB, execute_id=result.execute_id,
        node_execute_uuid=end.node_execute_uuid)
    assert node.is_finish


async def test_chat_and_messages(coze: AsyncCoze) -> None:
    conversation = await coze.conversations.create()
    events = [e async for e in coze.workflows.chat.stream(
        workflow_id=catalog.CHAT_MEMORY, conversation_id=conversation.id,
        additional_messages=[Message.build_user_question_text("ping")])]
    assert events[-1].event == ChatEventType.CONVERSATION_CHAT_COMPLETED
    retrieved = await coze.conversations.retrieve(conversation_id=conversation.id)
    assert retrieved.id == conversation.id
    paged = await coze.conversations.messages.list(conversation_id=conversation.id)
    contents = [m.content async for m in paged]
    assert contents == ['You said: "ping". This is turn 1.', "ping"]


async def test_chat_ask(coze: AsyncCoze) -> None:
    first = [e async for e in coze.workflows.chat.stream(
        workflow_id=catalog.CHAT_ASK,
        additional_messages=[Message.build_user_question_text("hello")])]
    assert first[-1].event == ChatEventType.CONVERSATION_CHAT_REQUIRES_ACTION
    conversation_id = first[0].chat.conversation_id
    second = [e async for e in coze.workflows.chat.stream(
        workflow_id=catalog.CHAT_ASK, conversation_id=conversation_id,
        additional_messages=[Message.build_user_question_text("Grace")])]
    assert second[-1].event == ChatEventType.CONVERSATION_CHAT_COMPLETED
    assert second[-1].chat.usage.output_count == tok("Nice to meet you, Grace!")


async def test_metadata(coze: AsyncCoze) -> None:
    info = await coze.workflows.retrieve(workflow_id=catalog.CHAT_ASK)
    assert info.workflow_detail.workflow_name == "chat_ask"
    workflows = [w async for w in await coze.workflows.list(
        workspace_id=catalog.WORKSPACE_PERSONAL, workflow_mode="chatflow")]
    assert {w.workflow_id for w in workflows} == {catalog.CHAT_MEMORY, catalog.CHAT_ASK}
    versions = [v async for v in await coze.workflows.versions.list(workflow_id=catalog.ECHO)]
    assert len(versions) == 1
    spaces = [s async for s in await coze.workspaces.list()]
    assert len(spaces) == 2


async def test_jwt_auth(emulator_url: str) -> None:
    auth = AsyncJWTAuth(client_id=SANDBOX_OAUTH_APP_ID, private_key=SANDBOX_PRIVATE_KEY,
                        public_key_id=SANDBOX_OAUTH_KEY_ID, base_url=emulator_url)
    coze = AsyncCoze(auth=auth, base_url=emulator_url)
    result = await coze.workflows.runs.create(workflow_id=catalog.ECHO, parameters={"input": "j"})
    assert result.data == '{"input":"j"}'
