"""Every endpoint of the client against the emulator over real HTTP, with a PAT."""

from __future__ import annotations

import asyncio
import json

import pytest

from cozegate.protocol.coze import (
    ChatEventType,
    ChatStatus,
    ExecuteStatus,
    RunMode,
    WorkflowEventType,
)
from cozegate.upstream import CozeAPIError, CozeAuthError, CozeClient, PATAuth

from .conftest import (
    ALWAYS_FAIL,
    ASK_CITY,
    CHAT_ASK,
    CHAT_MEMORY,
    DRAFT_ONLY,
    ECHO,
    SLOW_JOB,
    STORY,
    WORKSPACE,
    MakeClient,
)
from .helpers import CountingTransport


async def test_sync_run(make_client: MakeClient, counting: CountingTransport) -> None:
    client = make_client(transport=counting)
    result = await client.run_workflow(ECHO, {"input": "hello"}, ext={"user_id": "u1"})
    assert json.loads(result.data or "") == {"input": "hello"}
    assert result.execute_id and result.debug_url and result.logid
    assert result.usage is not None and result.usage.token_count > 0
    assert result.raw["debug_url"] == result.debug_url
    sent = json.loads(counting.requests[0].content)
    assert sent == {"workflow_id": ECHO, "parameters": {"input": "hello"},
                    "ext": {"user_id": "u1"}, "is_async": False}
    assert counting.requests[0].headers["authorization"] == "Bearer pat_sandbox"


async def test_async_run_and_run_history(make_client: MakeClient) -> None:
    client = make_client()
    accepted = await client.run_workflow(SLOW_JOB, {"seconds": 0.2}, is_async=True)
    assert accepted.is_async_accepted and accepted.execute_id
    history = await client.get_run_history(SLOW_JOB, accepted.execute_id)
    assert history.execute_status is ExecuteStatus.RUNNING
    for _ in range(50):
        await asyncio.sleep(0.05)
        history = await client.get_run_history(SLOW_JOB, accepted.execute_id)
        if history.execute_status is not ExecuteStatus.RUNNING:
            break
    assert history.execute_status is ExecuteStatus.SUCCESS
    assert history.run_mode is RunMode.ASYNC
    assert history.execute_id == accepted.execute_id
    assert history.error_code == 0 and history.output
    assert history.logid and history.response_logid and history.logid != history.response_logid
    assert history.is_output_trimmed is False


async def test_node_execute_history(make_client: MakeClient) -> None:
    client = make_client()
    async with client.stream_workflow(STORY, {"topic": "cats", "chunks": 2}) as stream:
        events = [event async for event in stream]
    uuid = next(e.message.node_execute_uuid for e in events
                if e.message is not None and e.message.node_execute_uuid)
    execute_id = next(e.debug_url for e in events if e.debug_url)
    execute_id = execute_id.split("execute_id=")[1].split("&")[0]
    history = await client.get_run_history(STORY, execute_id)
    assert history.run_mode is RunMode.STREAM and history.node_execute_status
    node = await client.get_node_execute_history(STORY, execute_id, uuid)
    assert node.is_finish is True and node.node_output and node.logid


async def test_failing_workflow_run_and_stream(make_client: MakeClient) -> None:
    client = make_client()
    with pytest.raises(CozeAPIError) as info:
        await client.run_workflow(ALWAYS_FAIL)
    assert info.value.code and info.value.code > 0 and info.value.logid
    async with client.stream_workflow(ALWAYS_FAIL) as stream:
        events = [event async for event in stream]
    error = events[-1].error
    assert events[-1].type is WorkflowEventType.ERROR and error is not None
    assert error.error_code and error.error_message


async def test_unpublished_workflow_is_4200_with_debug_url(make_client: MakeClient) -> None:
    client = make_client()
    with pytest.raises(CozeAPIError) as info:
        await client.run_workflow(DRAFT_ONLY)
    assert info.value.code == 4200
    with pytest.raises(CozeAPIError) as info:
        async with client.stream_workflow(DRAFT_ONLY):
            pass
    assert info.value.code == 4200


async def test_stream_run_events(make_client: MakeClient) -> None:
    client = make_client()
    async with client.stream_workflow(STORY, {"topic": "owls", "chunks": 3}) as stream:
        events = [event async for event in stream]
        assert stream.logid and stream.headers["content-type"].startswith("text/event-stream")
    kinds = [e.type for e in events if e.type is not WorkflowEventType.PING]
    assert kinds[-1] is WorkflowEventType.DONE
    assert kinds.count(WorkflowEventType.MESSAGE) >= 3
    assert [e.id for e in events] == list(range(len(events)))
    text = "".join(e.message.content for e in events
                   if e.message is not None and e.message.node_title != "End")
    assert "owls" in text
    assert events[-1].debug_url
    # byte-faithful relay: re-encoding a parsed event gives back canonical wire text
    assert events[0].encode().startswith(b"id: 0\nevent: Message\ndata: {")


async def test_interrupt_then_stream_resume(make_client: MakeClient) -> None:
    client = make_client()
    async with client.stream_workflow(ASK_CITY) as stream:
        events = [event async for event in stream]
    interrupt = events[-1].interrupt
    assert interrupt is not None and "/" in interrupt.interrupt_data.event_id
    data = interrupt.interrupt_data
    async with client.resume_workflow_stream(ASK_CITY, data.event_id, "Hangzhou",
                                             data.type) as stream:
        resumed = [event async for event in stream]
    assert resumed[0].id == 0  # ids restart on resume
    assert resumed[-1].type is WorkflowEventType.DONE
    assert any("Hangzhou" in (e.message.content if e.message else "") for e in resumed)


async def test_non_stream_resume(make_client: MakeClient) -> None:
    client = make_client()
    async with client.stream_workflow(ASK_CITY) as stream:
        events = [event async for event in stream]
    interrupt = events[-1].interrupt
    assert interrupt is not None
    data = interrupt.interrupt_data
    result = await client.resume_workflow(ASK_CITY, data.event_id, "Paris", data.type)
    assert result.data is not None and "Paris" in result.data
    assert result.logid


async def test_chat_flow_and_conversations(make_client: MakeClient) -> None:
    client = make_client()
    conversation = await client.create_conversation(meta_data={"k": "v"})
    assert conversation.id and conversation.meta_data == {"k": "v"} and conversation.logid
    for turn in ("hello", "again"):
        message = {"role": "user", "content": turn, "content_type": "text", "type": "question"}
        async with client.chat_workflow(CHAT_MEMORY, [message],
                                        conversation_id=conversation.id) as stream:
            events = [event async for event in stream]
            assert stream.logid
    types = [e.type for e in events]
    assert types[0] is ChatEventType.CHAT_CREATED and types[-1] is ChatEventType.DONE
    completed = next(e.chat for e in events if e.type is ChatEventType.CHAT_COMPLETED)
    assert completed is not None and completed.status is ChatStatus.COMPLETED
    assert completed.usage is not None and completed.conversation_id == conversation.id
    answer = next(e.message for e in events if e.type is ChatEventType.MESSAGE_COMPLETED)
    assert answer is not None and answer.role == "assistant" and answer.content
    assert events[-1].debug_url

    again = await client.retrieve_conversation(conversation.id)
    assert again.id == conversation.id
    page = await client.list_messages(conversation.id, limit=2)
    assert len(page.items) == 2 and page.has_more and page.first_id and page.last_id
    rest = await client.list_messages(conversation.id, after_id=page.last_id, limit=50)
    assert rest.items and not rest.has_more


async def test_chat_flow_requires_action(make_client: MakeClient) -> None:
    client = make_client()
    async with client.chat_workflow(CHAT_ASK, [{"role": "user", "content": "weather?"}]) as s:
        events = [event async for event in s]
    assert any(e.type is ChatEventType.CHAT_REQUIRES_ACTION for e in events)
    assert events[-1].type is ChatEventType.DONE


async def test_workflow_info_list_versions_workspaces(make_client: MakeClient) -> None:
    client = make_client()
    info = await client.get_workflow(ECHO)
    assert info.workflow_detail.workflow_id == ECHO and info.input is None
    full = await client.get_workflow(ECHO, include_input_output=True)
    assert full.input is not None and full.input.parameters["input"].required
    assert full.output is not None

    first = await client.list_workflows(WORKSPACE, page_size=2)
    assert len(first.items) == 2 and first.has_more and first.logid
    chatflows = await client.list_workflows(WORKSPACE, workflow_mode="chatflow", page_size=30)
    assert {w.workflow_id for w in chatflows.items} >= {CHAT_MEMORY, CHAT_ASK}

    versions = await client.list_workflow_versions(ECHO, page_size=1)
    assert versions.items and versions.items[0].version
    assert isinstance(versions.items[0].created_at, str)
    if versions.has_more:
        more = await client.list_workflow_versions(ECHO, page_size=1,
                                                   page_token=versions.next_page_token)
        assert more.items and more.items[0].version != versions.items[0].version

    spaces = await client.list_workspaces()
    assert spaces.total_count >= 2
    assert {w.id for w in spaces.workspaces} >= {WORKSPACE, "7500000000000000002"}


async def test_bad_pat_is_an_auth_error_and_not_retried(emu_url: str) -> None:
    counting = CountingTransport()
    async with CozeClient(emu_url, PATAuth("pat_wrong"), transport=counting) as client:
        with pytest.raises(CozeAuthError) as info:
            await client.list_workspaces()
        with pytest.raises(CozeAuthError):
            async with client.stream_workflow(ECHO, {"input": "x"}):
                pass
    assert info.value.code == 4100
    assert len(counting.requests) == 2
