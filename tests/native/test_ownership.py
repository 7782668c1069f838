"""Per-user isolation of execute_ids and conversation_ids, and the Coze Plus paths of seed 001
(run list from cozegate's own store, conversation create for a chat flow)."""

from __future__ import annotations

import httpx
import pytest
from cozepy import CozeAPIError, Message
from cozepy.chat import ChatEventType

from tests.fixtures_emulator import catalog
from tests.fixtures_gateway import Gateway
from tests.native.conftest import coze_client

pytestmark = pytest.mark.db


def get(gateway: Gateway, path: str, key: str, **params: object) -> dict:
    response = httpx.get(f"{gateway.url}{path}", params=params,
                         headers={"Authorization": f"Bearer {key}"}, timeout=30)
    return response.json()


def post(gateway: Gateway, path: str, key: str, body: dict) -> dict:
    response = httpx.post(f"{gateway.url}{path}", json=body,
                          headers={"Authorization": f"Bearer {key}"}, timeout=30)
    return response.json()


async def test_execute_ids_are_visible_to_their_owner_only(gateway: Gateway) -> None:
    _, alice = await gateway.create_user("alice", "1")
    _, bob = await gateway.create_user("bob", "1")
    mine = coze_client(gateway, alice).workflows.runs.create(
        workflow_id=catalog.STORY, parameters={"topic": "owls", "chunks": 1})
    asked = list(coze_client(gateway, alice).workflows.runs.stream(workflow_id=catalog.ASK_CITY))
    event_id = asked[-1].interrupt.interrupt_data.event_id
    other = coze_client(gateway, bob)
    with pytest.raises(CozeAPIError) as info:
        other.workflows.runs.run_histories.retrieve(workflow_id=catalog.STORY,
                                                    execute_id=mine.execute_id)
    assert info.value.code == 4200
    history = coze_client(gateway, alice).workflows.runs.run_histories.retrieve(
        workflow_id=catalog.STORY, execute_id=mine.execute_id)
    node = history.node_execute_status["Output"].node_execute_uuid
    with pytest.raises(CozeAPIError) as info:
        other.workflows.runs.run_histories.execute_nodes.retrieve(
            workflow_id=catalog.STORY, execute_id=mine.execute_id, node_execute_uuid=node)
    assert info.value.code == 4200
    with pytest.raises(CozeAPIError) as info:
        other.workflows.runs.resume(workflow_id=catalog.ASK_CITY, event_id=event_id,
                                    resume_data="Rome", interrupt_type=2)
    assert info.value.code == 4200
    # The owner still resumes it (Bob's attempt did not consume the question).
    resumed = list(coze_client(gateway, alice).workflows.runs.resume(
        workflow_id=catalog.ASK_CITY, event_id=event_id, resume_data="Rome", interrupt_type=2))
    assert "Rome" in resumed[-1].message.content
    # Ids the gateway never handed out are unknown to users; the admin may look them up.
    with pytest.raises(CozeAPIError) as info:
        other.workflows.runs.run_histories.retrieve(workflow_id=catalog.STORY, execute_id="42")
    assert info.value.code == 4200
    admin = coze_client(gateway).workflows.runs.run_histories.retrieve(
        workflow_id=catalog.STORY, execute_id=mine.execute_id)
    assert admin.execute_id == mine.execute_id


async def test_conversations_are_visible_to_their_owner_only(gateway: Gateway) -> None:
    _, alice = await gateway.create_user("alice", "1")
    _, bob = await gateway.create_user("bob", "1")
    created = coze_client(gateway, alice).conversations.create()
    chatted = list(coze_client(gateway, alice).workflows.chat.stream(
        workflow_id=catalog.CHAT_MEMORY,
        additional_messages=[Message.build_user_question_text("secret")]))
    implicit = chatted[0].chat.conversation_id
    other = coze_client(gateway, bob)
    for conversation_id in (created.id, implicit):
        with pytest.raises(CozeAPIError) as info:
            other.conversations.retrieve(conversation_id=conversation_id)
        assert info.value.code == 4200
        with pytest.raises(CozeAPIError) as info:
            other.conversations.messages.list(conversation_id=conversation_id)
        assert info.value.code == 4200
        with pytest.raises(CozeAPIError) as info:
            other.workflows.chat.stream(
                workflow_id=catalog.CHAT_MEMORY, conversation_id=conversation_id,
                additional_messages=[Message.build_user_question_text("what was it?")])
        assert info.value.code == 4200
    messages = list(coze_client(gateway, alice).conversations.messages.list(
        conversation_id=implicit))
    assert "secret" in [m.content for m in messages]


async def test_plus_run_history_lists_own_runs_from_the_store(gateway: Gateway) -> None:
    _, alice = await gateway.create_user("alice", "1")
    _, bob = await gateway.create_user("bob", "1")
    coze = coze_client(gateway, alice)
    first = coze.workflows.runs.create(workflow_id=catalog.ECHO, parameters={"input": "one"})
    second = coze.workflows.runs.create(workflow_id=catalog.ECHO, parameters={"input": "two"})
    coze.workflows.runs.create(workflow_id=catalog.STORY, parameters={"topic": "x", "chunks": 1})
    coze_client(gateway, bob).workflows.runs.create(workflow_id=catalog.ECHO,
                                                    parameters={"input": "bob"})

    page = get(gateway, "/v1/workflow/get_run_history", alice, workflow_id=catalog.ECHO,
               page_size=1)
    assert page["code"] == 0 and page["data"]["has_more"] is True
    [newest] = page["data"]["histories"]
    assert newest["execute_id"] == second.execute_id and newest["status"] == "success"
    assert newest["execute_status"] == "Success" and newest["input"] == '{"input":"two"}'
    assert newest["output"] == '{"input":"two"}' and newest["workflow_id"] == catalog.ECHO
    assert newest["usage"]["token_count"] == 8 and newest["cost"] == "0.000012"
    rest = get(gateway, "/v1/workflow/get_run_history", alice, workflow_id=catalog.ECHO,
               page_size=1, page_token=page["data"]["page_token"])["data"]
    assert [h["execute_id"] for h in rest["histories"]] == [first.execute_id]
    assert rest["has_more"] is False and rest["page_token"] == ""

    everything = get(gateway, "/v1/workflow/get_run_history", alice)["data"]
    assert len(everything["histories"]) == 3  # Bob's run is not Alice's
    one = get(gateway, "/v1/workflow/get_run_history", alice,
              execute_id=first.execute_id)["data"]["histories"]
    assert [h["input"] for h in one] == ['{"input":"one"}']
    assert get(gateway, "/v1/workflow/get_run_history", bob,
               execute_id=first.execute_id)["data"]["histories"] == []
    assert len(get(gateway, "/v1/workflow/get_run_history",
                   gateway.admin_key)["data"]["histories"]) == 4


async def test_plus_conversation_create_for_a_chat_flow(gateway: Gateway) -> None:
    _, alice = await gateway.create_user("alice", "1")
    body = {"workflow_id": catalog.CHAT_MEMORY, "conversation_name": "support",
            "get_or_create": True, "metadata": {"source": "web"}}
    created = post(gateway, "/v1/workflow/conversation/create", alice, body)
    assert created["code"] == 0 and created["detail"]["logid"]
    data = created["data"]
    assert data["conversation_id"] == data["id"] and data["workflow_id"] == catalog.CHAT_MEMORY
    assert data["meta_data"] == {"source": "web"} and data["created_at"]
    again = post(gateway, "/v1/workflow/conversation/create", alice, body)["data"]
    assert again["conversation_id"] == data["conversation_id"]  # get_or_create by name
    fresh = post(gateway, "/v1/workflow/conversation/create", alice,
                 {"workflow_id": catalog.CHAT_MEMORY})["data"]
    assert fresh["conversation_id"] != data["conversation_id"]
    events = list(coze_client(gateway, alice).workflows.chat.stream(
        workflow_id=catalog.CHAT_MEMORY, conversation_id=data["conversation_id"],
        additional_messages=[Message.build_user_question_text("hello")]))
    assert events[-1].event == ChatEventType.CONVERSATION_CHAT_COMPLETED
    # Another user's get_or_create under the same name gets a conversation of their own.
    _, bob = await gateway.create_user("bob", "1")
    theirs = post(gateway, "/v1/workflow/conversation/create", bob, body)["data"]
    assert theirs["conversation_id"] != data["conversation_id"]
