"""The acceptance: cozepy 0.20.0's sync client, pointed at the gateway with a gateway key,
passes the scenarios it passes against the emulator — once through the sandbox (PAT)
channel, once through an OAuth JWT channel (``coze_gateway`` is parametrized).

Expected texts and token counts are the emulator's deterministic ones (docs/emulator.md).
"""

from __future__ import annotations

import json
import math
import time

import pytest
from cozepy import (
    Coze,
    Message,
    WorkflowEventType,
    WorkflowExecuteStatus,
    WorkflowRunMode,
)
from cozepy.chat import ChatEventType

from cozegate.emulator import scripts
from tests.fixtures_emulator import catalog
from tests.fixtures_gateway import Gateway
from tests.native.conftest import coze_client

pytestmark = pytest.mark.db


def tok(text: str) -> int:
    return math.ceil(len(text) / 4)


def compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@pytest.fixture
def coze(coze_gateway: Gateway) -> Coze:
    return coze_client(coze_gateway)


def test_sync_run_and_its_history(coze: Coze) -> None:
    params = {"input": "hello gateway"}
    result = coze.workflows.runs.create(workflow_id=catalog.ECHO, parameters=params)
    assert result.data == compact(params)
    assert result.execute_id and "execute_id=" + result.execute_id in result.debug_url
    assert result.usage is not None
    assert (result.usage.input_count, result.usage.output_count) == (
        tok(compact(params)), tok(result.data))
    assert result.response.logid  # X-Tt-Logid relayed
    history = coze.workflows.runs.run_histories.retrieve(
        workflow_id=catalog.ECHO, execute_id=result.execute_id)
    assert history.execute_status == WorkflowExecuteStatus.SUCCESS
    assert history.run_mode == WorkflowRunMode.SYNCHRONOUS
    assert json.loads(history.output) == {"Output": result.data}


def test_parameters_as_a_json_string(coze_gateway: Gateway) -> None:
    # Coze (and Coze Plus, seed 001) take parameters as JSON text too; cozepy types it as a
    # dict, so send the body by hand through cozepy's requester.
    coze = coze_client(coze_gateway)
    result = coze.workflows.runs.create(workflow_id=catalog.ECHO,
                                        parameters='{"input":"as text"}')  # type: ignore[arg-type]
    assert result.data == '{"input":"as text"}'


def test_async_run_until_success(coze: Coze) -> None:
    result = coze.workflows.runs.create(workflow_id=catalog.SLOW_JOB,
                                        parameters={"seconds": 0.2}, is_async=True)
    assert result.execute_id and result.debug_url and not result.data
    deadline = time.monotonic() + 10
    while True:
        history = coze.workflows.runs.run_histories.retrieve(
            workflow_id=catalog.SLOW_JOB, execute_id=result.execute_id)
        if history.execute_status != WorkflowExecuteStatus.RUNNING:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert history.execute_status == WorkflowExecuteStatus.SUCCESS
    assert history.run_mode == WorkflowRunMode.ASYNCHRONOUS
    assert json.loads(json.loads(history.output)["Output"]) == {"output": "slept 0.2 seconds"}
    end = history.node_execute_status["End"]
    node = coze.workflows.runs.run_histories.execute_nodes.retrieve(
        workflow_id=catalog.SLOW_JOB, execute_id=result.execute_id,
        node_execute_uuid=end.node_execute_uuid)
    assert node.is_finish and json.loads(node.node_output) == {"output": "slept 0.2 seconds"}


def test_stream_ids_names_and_usage_intact(coze: Coze) -> None:
    params = {"topic": "a cat", "chunks": 4}
    events = list(coze.workflows.runs.stream(workflow_id=catalog.STORY, parameters=params))
    assert [e.id for e in events] == [0, 1, 2, 3, 4]  # Done (id 5) is swallowed by cozepy
    assert all(e.event == WorkflowEventType.MESSAGE for e in events)
    pieces = [e.message for e in events[:4]]
    assert [m.node_seq_id for m in pieces] == ["0", "1", "2", "3"]
    assert [m.node_is_finish for m in pieces] == [False, False, False, True]
    text = scripts.story_text("a cat")
    assert "".join(m.content for m in pieces) == text
    end = events[4].message
    assert end.node_title == "End" and json.loads(end.content) == {"output": text}
    assert end.usage is not None
    assert (end.usage.input_count, end.usage.output_count) == (tok(compact(params)),
                                                               tok(end.content))


def test_stream_error_event_is_relayed(coze: Coze) -> None:
    events = list(coze.workflows.runs.stream(workflow_id=catalog.ALWAYS_FAIL))
    assert [e.event for e in events] == [WorkflowEventType.ERROR]
    assert events[0].error.error_code == scripts.FAIL_CODE


def test_interrupt_then_resume(coze: Coze) -> None:
    events = list(coze.workflows.runs.stream(workflow_id=catalog.ASK_CITY))
    assert events[0].message and events[0].message.content == scripts.CITY_QUESTION
    assert events[-1].event == WorkflowEventType.INTERRUPT
    interrupt = events[-1].interrupt.interrupt_data
    assert interrupt.type == 2
    execute_id = interrupt.event_id.split("/")[0]
    waiting = coze.workflows.runs.run_histories.retrieve(
        workflow_id=catalog.ASK_CITY, execute_id=execute_id)
    assert waiting.execute_status == WorkflowExecuteStatus.RUNNING
    resumed = list(coze.workflows.runs.resume(
        workflow_id=catalog.ASK_CITY, event_id=interrupt.event_id, resume_data="Paris",
        interrupt_type=interrupt.type))
    assert [e.id for e in resumed] == [0]  # ids restart at 0
    assert json.loads(resumed[0].message.content) == {"output": scripts.city_answer("Paris")}
    done = coze.workflows.runs.run_histories.retrieve(
        workflow_id=catalog.ASK_CITY, execute_id=execute_id)
    assert done.execute_status == WorkflowExecuteStatus.SUCCESS


def test_chat_flow_question_on_one_conversation(coze: Coze) -> None:
    first = list(coze.workflows.chat.stream(
        workflow_id=catalog.CHAT_ASK,
        additional_messages=[Message.build_user_question_text("hi")]))
    assert first[0].event == ChatEventType.CONVERSATION_CHAT_CREATED
    assert first[-1].event == ChatEventType.CONVERSATION_CHAT_REQUIRES_ACTION
    assert any(e.message and e.message.content == "What is your name?" for e in first)
    conversation_id = first[0].chat.conversation_id
    second = list(coze.workflows.chat.stream(
        workflow_id=catalog.CHAT_ASK, conversation_id=conversation_id,
        additional_messages=[Message.build_user_question_text("Ada")]))
    assert second[-1].event == ChatEventType.CONVERSATION_CHAT_COMPLETED
    assert second[-1].chat.conversation_id == conversation_id
    assert any(e.message and e.message.content == "Nice to meet you, Ada!" for e in second)
    usage = second[-1].chat.usage
    assert (usage.input_count, usage.output_count) == (tok("Ada"),
                                                       tok("Nice to meet you, Ada!"))


def test_chat_memory_then_message_list(coze: Coze) -> None:
    def say(text: str, conversation_id: str | None = None) -> list:
        return list(coze.workflows.chat.stream(
            workflow_id=catalog.CHAT_MEMORY, conversation_id=conversation_id,
            additional_messages=[Message.build_user_question_text(text)]))

    conversation_id = say("hello")[0].chat.conversation_id
    second = say("how are you?", conversation_id)
    answer = 'You said: "how are you?". Earlier you said: "hello". This is turn 2.'
    deltas = [e.message.content for e in second
              if e.event == ChatEventType.CONVERSATION_MESSAGE_DELTA]
    assert "".join(deltas) == answer
    messages = list(coze.conversations.messages.list(conversation_id=conversation_id, limit=3))
    assert [m.content for m in messages][:2] == [answer, "how are you?"]
    assert len(messages) == 4  # cozepy paged through with after_id


def test_workflow_info_and_lists(coze: Coze) -> None:
    info = coze.workflows.retrieve(workflow_id=catalog.STORY)
    assert info.workflow_detail.workflow_id == catalog.STORY
    assert info.workflow_detail.workflow_name == "story"
    names = {w.workflow_name for w in coze.workflows.list(workspace_id=catalog.WORKSPACE_PERSONAL)}
    assert {"echo", "story", "ask_city", "chat_memory"} <= names
    team = list(coze.workflows.list(workspace_id=catalog.WORKSPACE_TEAM))
    assert {w.workflow_id for w in team} == {catalog.SLOW_JOB, catalog.DRAFT_ONLY}
    versions = list(coze.workflows.versions.list(workflow_id=catalog.ECHO))
    assert versions[0].version == "v0.0.1"
    spaces = list(coze.workspaces.list())
    assert [(s.id, s.name) for s in spaces] == [(catalog.WORKSPACE_PERSONAL, "Sandbox"),
                                                (catalog.WORKSPACE_TEAM, "Team Demo")]


def test_conversations_create_retrieve_messages(coze: Coze) -> None:
    created = coze.conversations.create(messages=[Message.build_user_question_text("seed")],
                                        meta_data={"k": "v"})
    again = coze.conversations.retrieve(conversation_id=created.id)
    assert again.id == created.id and again.meta_data == {"k": "v"}
    assert [m.content for m in coze.conversations.messages.list(conversation_id=created.id)] \
        == ["seed"]
    # A chat flow turn on a conversation made through the gateway.
    events = list(coze.workflows.chat.stream(
        workflow_id=catalog.CHAT_MEMORY, conversation_id=created.id,
        additional_messages=[Message.build_user_question_text("hi")]))
    assert events[-1].event == ChatEventType.CONVERSATION_CHAT_COMPLETED
    assert events[-1].chat.conversation_id == created.id
