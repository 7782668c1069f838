"""The emulator as seen by cozepy 0.20.0's sync client over real HTTP (the judge of fidelity)."""

from __future__ import annotations

import json
import math
import time

import pytest
from cozepy import (
    Coze,
    CozeAPIError,
    JWTAuth,
    JWTOAuthApp,
    Message,
    TokenAuth,
    WorkflowEventType,
    WorkflowExecuteStatus,
    WorkflowRunMode,
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


def compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@pytest.fixture
def coze(emulator_url: str) -> Coze:
    return Coze(auth=TokenAuth(SANDBOX_TOKEN), base_url=emulator_url)


def test_run_echo_exact_output_and_usage(coze: Coze) -> None:
    params = {"input": "hello emulator"}
    result = coze.workflows.runs.create(workflow_id=catalog.ECHO, parameters=params)
    assert result.data == compact(params)
    assert result.execute_id and result.debug_url.startswith("https://www.coze.cn/work_flow?")
    assert result.usage is not None
    assert result.usage.input_count == tok(compact(params))
    assert result.usage.output_count == tok(result.data)
    assert result.usage.token_count == result.usage.input_count + result.usage.output_count
    history = coze.workflows.runs.run_histories.retrieve(
        workflow_id=catalog.ECHO, execute_id=result.execute_id)
    assert history.run_mode == WorkflowRunMode.SYNCHRONOUS
    assert history.execute_status == WorkflowExecuteStatus.SUCCESS
    assert json.loads(history.output) == {"Output": result.data}


def test_missing_required_input_is_4000(coze: Coze) -> None:
    with pytest.raises(CozeAPIError) as info:
        coze.workflows.runs.create(workflow_id=catalog.ECHO, parameters={})
    assert info.value.code == 4000 and "'input'" in info.value.msg


def test_wrong_type_is_4000(coze: Coze) -> None:
    with pytest.raises(CozeAPIError) as info:
        coze.workflows.runs.create(workflow_id=catalog.STORY,
                                   parameters={"topic": "x", "chunks": "many"})
    assert info.value.code == 4000 and "chunks" in info.value.msg


def test_draft_only_is_4200_for_run_and_stream(coze: Coze) -> None:
    with pytest.raises(CozeAPIError) as info:
        coze.workflows.runs.create(workflow_id=catalog.DRAFT_ONLY)
    assert info.value.code == 4200
    with pytest.raises(CozeAPIError) as info:
        coze.workflows.runs.stream(workflow_id=catalog.DRAFT_ONLY)
    assert info.value.code == 4200


def test_always_fail_sync_carries_debug_url(coze: Coze) -> None:
    with pytest.raises(CozeAPIError) as info:
        coze.workflows.runs.create(workflow_id=catalog.ALWAYS_FAIL)
    assert info.value.code == scripts.FAIL_CODE
    assert info.value.debug_url and "workflow_id=" + catalog.ALWAYS_FAIL in info.value.debug_url
    assert info.value.logid


def test_story_stream(coze: Coze) -> None:
    params = {"topic": "a cat", "chunks": 4}
    events = list(coze.workflows.runs.stream(workflow_id=catalog.STORY, parameters=params))
    assert [e.id for e in events] == [0, 1, 2, 3, 4]  # Done is swallowed by cozepy
    pieces = [e.message for e in events[:4] if e.message]
    assert [m.node_seq_id for m in pieces] == ["0", "1", "2", "3"]
    assert [m.node_is_finish for m in pieces] == [False, False, False, True]
    text = scripts.story_text("a cat")
    assert "".join(m.content for m in pieces) == text
    end = events[4].message
    assert end is not None and end.node_title == "End"
    assert json.loads(end.content) == {"output": text}
    assert end.usage is not None
    assert end.usage.input_count == tok(compact(params))
    assert end.usage.output_count == tok(end.content)


def test_story_default_chunks_is_five(coze: Coze) -> None:
    events = list(coze.workflows.runs.stream(workflow_id=catalog.STORY,
                                             parameters={"topic": "dogs"}))
    outputs = [e for e in events if e.message and e.message.node_title == "Output"]
    assert len(outputs) == 5
    usage = events[-1].message.usage  # defaults filled in are not counted as input
    assert usage.input_count == tok('{"topic":"dogs"}')


def test_always_fail_stream_error_event(coze: Coze) -> None:
    events = list(coze.workflows.runs.stream(workflow_id=catalog.ALWAYS_FAIL))
    assert [e.event for e in events] == [WorkflowEventType.ERROR]
    assert events[0].error is not None and events[0].error.error_code == scripts.FAIL_CODE


def test_slow_job_stream_sends_pings_with_ids(coze: Coze) -> None:
    events = list(coze.workflows.runs.stream(workflow_id=catalog.SLOW_JOB,
                                             parameters={"seconds": 0.2}))
    pings = [e for e in events if e.event == WorkflowEventType.UNKNOWN]
    assert pings and all(e.unknown and e.unknown["event"] == "PING" for e in pings)
    assert [int(e.id) for e in events] == list(range(len(events)))
    assert events[-1].message and json.loads(events[-1].message.content) == {
        "output": "slept 0.2 seconds"}


def test_ask_city_interrupt_and_resume(coze: Coze) -> None:
    events = list(coze.workflows.runs.stream(workflow_id=catalog.ASK_CITY))
    assert events[0].message and events[0].message.content == scripts.CITY_QUESTION
    interrupt = events[-1].interrupt
    assert events[-1].event == WorkflowEventType.INTERRUPT and interrupt is not None
    assert interrupt.interrupt_data.type == 2 and interrupt.node_title == "Question"
    execute_id = interrupt.interrupt_data.event_id.split("/")[0]
    running = coze.workflows.runs.run_histories.retrieve(
        workflow_id=catalog.ASK_CITY, execute_id=execute_id)
    assert running.execute_status == WorkflowExecuteStatus.RUNNING
    resumed = list(coze.workflows.runs.resume(
        workflow_id=catalog.ASK_CITY, event_id=interrupt.interrupt_data.event_id,
        resume_data="Paris", interrupt_type=2))
    assert [e.id for e in resumed] == [0]  # ids restart at 0; cozepy swallows Done
    assert resumed[0].message is not None
    assert json.loads(resumed[0].message.content) == {"output": scripts.city_answer("Paris")}
    assert resumed[0].message.usage and resumed[0].message.usage.input_count == tok("Paris")
    done = coze.workflows.runs.run_histories.retrieve(
        workflow_id=catalog.ASK_CITY, execute_id=execute_id)
    assert done.execute_status == WorkflowExecuteStatus.SUCCESS
    assert done.run_mode == WorkflowRunMode.STREAMING


def _resume(coze: Coze, event_id: str, answer: str) -> list:
    return list(coze.workflows.runs.resume(workflow_id=catalog.ASK_CITY, event_id=event_id,
                                           resume_data=answer, interrupt_type=2))


def test_ask_city_invalid_answer_reinterrupts_then_limit_fails(coze: Coze) -> None:
    events = list(coze.workflows.runs.stream(workflow_id=catalog.ASK_CITY))
    event_id = events[-1].interrupt.interrupt_data.event_id
    for answer in ("", "   ", "12345"):  # three resumes are allowed, each re-asks
        again = _resume(coze, event_id, answer)
        assert again[-1].event == WorkflowEventType.INTERRUPT
        new_id = again[-1].interrupt.interrupt_data.event_id
        assert new_id != event_id and new_id.split("/")[0] == event_id.split("/")[0]
        event_id = new_id
    failed = _resume(coze, event_id, "Berlin")  # the fourth resume fails the run
    assert [e.event for e in failed] == [WorkflowEventType.ERROR]
    execute_id = event_id.split("/")[0]
    history = coze.workflows.runs.run_histories.retrieve(
        workflow_id=catalog.ASK_CITY, execute_id=execute_id)
    assert history.execute_status == WorkflowExecuteStatus.FAIL
    assert history.error_code == failed[0].error.error_code


def test_stale_event_id_is_rejected(coze: Coze) -> None:
    events = list(coze.workflows.runs.stream(workflow_id=catalog.ASK_CITY))
    event_id = events[-1].interrupt.interrupt_data.event_id
    _resume(coze, event_id, "Rome")
    with pytest.raises(CozeAPIError) as info:
        coze.workflows.runs.resume(workflow_id=catalog.ASK_CITY, event_id=event_id,
                                   resume_data="Rome", interrupt_type=2)
    assert info.value.code == 4000


def test_async_run_history_transitions(coze: Coze) -> None:
    result = coze.workflows.runs.create(workflow_id=catalog.SLOW_JOB,
                                        parameters={"seconds": 0.3}, is_async=True)
    assert result.execute_id and result.debug_url and not result.data
    first = coze.workflows.runs.run_histories.retrieve(
        workflow_id=catalog.SLOW_JOB, execute_id=result.execute_id)
    assert first.execute_status == WorkflowExecuteStatus.RUNNING
    assert first.run_mode == WorkflowRunMode.ASYNCHRONOUS and first.output == ""
    deadline = time.monotonic() + 5
    history = first
    while history.execute_status == WorkflowExecuteStatus.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.05)
        history = coze.workflows.runs.run_histories.retrieve(
            workflow_id=catalog.SLOW_JOB, execute_id=result.execute_id)
    assert history.execute_status == WorkflowExecuteStatus.SUCCESS
    assert history.is_output_trimmed is False and history.error_code == 0
    assert json.loads(json.loads(history.output)["Output"]) == {"output": "slept 0.3 seconds"}
    assert history.usage is not None and history.usage.input_count == tok('{"seconds":0.3}')
    end = history.node_execute_status["End"]
    assert end.is_finish
    node = coze.workflows.runs.run_histories.execute_nodes.retrieve(
        workflow_id=catalog.SLOW_JOB, execute_id=result.execute_id,
        node_execute_uuid=end.node_execute_uuid)
    assert node.is_finish and json.loads(node.node_output) == {"output": "slept 0.3 seconds"}


def test_async_failure_history(coze: Coze) -> None:
    result = coze.workflows.runs.create(workflow_id=catalog.ALWAYS_FAIL, is_async=True)
    deadline = time.monotonic() + 5
    while True:
        history = coze.workflows.runs.run_histories.retrieve(
            workflow_id=catalog.ALWAYS_FAIL, execute_id=result.execute_id)
        if history.execute_status != WorkflowExecuteStatus.RUNNING:
            break
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert history.execute_status == WorkflowExecuteStatus.FAIL
    assert history.error_code == scripts.FAIL_CODE and history.error_message


def test_story_output_node_history(coze: Coze) -> None:
    result = coze.workflows.runs.create(workflow_id=catalog.STORY,
                                        parameters={"topic": "owls", "chunks": 2})
    history = coze.workflows.runs.run_histories.retrieve(
        workflow_id=catalog.STORY, execute_id=result.execute_id)
    output = history.node_execute_status["Output"]
    node = coze.workflows.runs.run_histories.execute_nodes.retrieve(
        workflow_id=catalog.STORY, execute_id=result.execute_id,
        node_execute_uuid=output.node_execute_uuid)
    assert node.node_output == scripts.story_text("owls")


def test_chat_memory_remembers_and_lists_messages(coze: Coze) -> None:
    def say(text: str, conversation_id: str | None = None) -> list:
        return list(coze.workflows.chat.stream(
            workflow_id=catalog.CHAT_MEMORY, conversation_id=conversation_id,
            additional_messages=[Message.build_user_question_text(text)]))

    first = say("hello")
    kinds = [e.event for e in first]
    assert kinds[:2] == [ChatEventType.CONVERSATION_CHAT_CREATED,
                         ChatEventType.CONVERSATION_CHAT_IN_PROGRESS]
    assert kinds[-1] == ChatEventType.CONVERSATION_CHAT_COMPLETED
    conversation_id = first[0].chat.conversation_id
    second = say("how are you?", conversation_id)
    completed = [e.message for e in second
                 if e.event == ChatEventType.CONVERSATION_MESSAGE_COMPLETED
                 and e.message.type == "answer"]
    answer = 'You said: "how are you?". Earlier you said: "hello". This is turn 2.'
    assert completed[0].content == answer
    deltas = [e.message.content for e in second
              if e.event == ChatEventType.CONVERSATION_MESSAGE_DELTA]
    assert "".join(deltas) == answer
    usage = second[-1].chat.usage
    assert (usage.input_count, usage.output_count) == (tok("how are you?"), tok(answer))
    messages = list(coze.conversations.messages.list(conversation_id=conversation_id, limit=3))
    assert [m.content for m in messages][:2] == [answer, "how are you?"]
    assert len(messages) == 4  # cozepy paged through with after_id


def test_chat_ask_requires_action_then_answers(coze: Coze) -> None:
    conversation = coze.conversations.create()
    first = list(coze.workflows.chat.stream(
        workflow_id=catalog.CHAT_ASK, conversation_id=conversation.id,
        additional_messages=[Message.build_user_question_text("hi")]))
    assert first[-1].event == ChatEventType.CONVERSATION_CHAT_REQUIRES_ACTION
    assert any(e.message and e.message.content == "What is your name?" for e in first)
    second = list(coze.workflows.chat.stream(
        workflow_id=catalog.CHAT_ASK, conversation_id=conversation.id,
        additional_messages=[Message.build_user_question_text("Ada")]))
    assert second[-1].event == ChatEventType.CONVERSATION_CHAT_COMPLETED
    assert any(e.message and e.message.content == "Nice to meet you, Ada!" for e in second)


def test_chat_failed_event_is_a_chat(coze: Coze) -> None:
    events = list(coze.workflows.chat.stream(
        workflow_id=catalog.CHAT_MEMORY,
        additional_messages=[Message.build_user_question_text("!fail please")]))
    assert events[-1].event == ChatEventType.CONVERSATION_CHAT_FAILED
    chat = events[-1].chat
    assert chat.last_error.code == scripts.FAIL_CODE and chat.status == "failed"


def test_chat_unknown_conversation(coze: Coze) -> None:
    with pytest.raises(CozeAPIError) as info:
        coze.workflows.chat.stream(workflow_id=catalog.CHAT_MEMORY, conversation_id="1",
                                   additional_messages=[Message.build_user_question_text("x")])
    assert info.value.code == 4001


def test_metadata(coze: Coze) -> None:
    info = coze.workflows.retrieve(workflow_id=catalog.STORY)
    assert info.workflow_detail.workflow_name == "story"
    names = {w.workflow_name for w in coze.workflows.list(workspace_id=catalog.WORKSPACE_PERSONAL)}
    assert {"echo", "story", "ask_city", "chat_memory"} <= names
    every = list(coze.workflows.list(workspace_id=catalog.WORKSPACE_TEAM))
    assert {w.workflow_id for w in every} == {catalog.SLOW_JOB, catalog.DRAFT_ONLY}
    versions = list(coze.workflows.versions.list(workflow_id=catalog.ECHO))
    assert versions[0].version == "v0.0.1"
    spaces = list(coze.workspaces.list())
    assert [(s.id, s.name) for s in spaces] == [(catalog.WORKSPACE_PERSONAL, "Sandbox"),
                                                (catalog.WORKSPACE_TEAM, "Team Demo")]


def test_conversation_create_retrieve(coze: Coze) -> None:
    created = coze.conversations.create(messages=[Message.build_user_question_text("seed")],
                                        meta_data={"k": "v"})
    again = coze.conversations.retrieve(conversation_id=created.id)
    assert again.id == created.id and again.meta_data == {"k": "v"}
    messages = list(coze.conversations.messages.list(conversation_id=created.id))
    assert [m.content for m in messages] == ["seed"]


def test_jwt_auth_sandbox_app(emulator_url: str) -> None:
    auth = JWTAuth(client_id=SANDBOX_OAUTH_APP_ID, private_key=SANDBOX_PRIVATE_KEY,
                   public_key_id=SANDBOX_OAUTH_KEY_ID, base_url=emulator_url)
    coze = Coze(auth=auth, base_url=emulator_url)
    assert coze.workflows.runs.create(workflow_id=catalog.ECHO,
                                      parameters={"input": "jwt"}).data == '{"input":"jwt"}'
    events = list(coze.workflows.runs.stream(workflow_id=catalog.STORY,
                                             parameters={"topic": "x", "chunks": 1}))
    assert events[-1].message and events[-1].message.node_title == "End"


def test_jwt_oauth_app_token_expiry_is_absolute_and_capped(emulator_url: str) -> None:
    app = JWTOAuthApp(client_id=SANDBOX_OAUTH_APP_ID, private_key=SANDBOX_PRIVATE_KEY,
                      public_key_id=SANDBOX_OAUTH_KEY_ID, base_url=emulator_url)
    now = int(time.time())
    token = app.get_access_token(ttl=900)
    assert token.access_token.startswith("czs_")
    assert now + 899 <= token.expires_in <= now + 902
    long = app.get_access_token(ttl=500_000)
    assert long.expires_in <= int(time.time()) + 86399
    coze = Coze(auth=TokenAuth(token.access_token), base_url=emulator_url)
    assert list(coze.workspaces.list())
