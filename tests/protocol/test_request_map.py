"""Target resolution and message → Coze input mapping."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from cozegate.protocol.openai import ChatCompletionRequest, OpenAIError
from cozegate.protocol.request_map import (
    MAX_CHATFLOW_MESSAGES,
    CozeTarget,
    ModelAlias,
    chatflow_messages,
    chatflow_parameters,
    resolve_target,
    workflow_parameters,
    workflow_resume,
)

WF = "7342866812345"


def req(**body: Any) -> ChatCompletionRequest:
    body.setdefault("model", "coze-workflow")
    body.setdefault("messages", [{"role": "user", "content": "你的输入内容"}])
    return ChatCompletionRequest.model_validate(body)


ALIASES = {
    "weather": ModelAlias(kind="workflow", workflow_id="111", parameters={"unit": "C"}),
    "support-bot": ModelAlias(kind="chatflow", workflow_id="222"),
}


# --- target resolution ----------------------------------------------------------------


def test_seed_form() -> None:
    request = req(workflow_id=WF, stream=True,
                  workflow_parameters={"custom_param1": "value1", "custom_param2": "value2"})
    target = resolve_target(request)
    assert target == CozeTarget(kind="workflow", workflow_id=WF, model="coze-workflow")
    assert workflow_parameters(request, target) == {
        "BOT_USER_INPUT": "你的输入内容", "custom_param1": "value1", "custom_param2": "value2"}


def test_numeric_workflow_id_from_js_clients() -> None:
    assert resolve_target(req(workflow_id=7342866812345)).workflow_id == WF


@pytest.mark.parametrize(("model", "kind"), [
    (f"coze-workflow/{WF}", "workflow"), (f"coze-chatflow/{WF}", "chatflow"),
])
def test_model_name_carries_target(model: str, kind: str) -> None:
    target = resolve_target(req(model=model))
    assert (target.kind, target.workflow_id, target.model) == (kind, WF, model)
    # the same id in the body is fine
    assert resolve_target(req(model=model, workflow_id=WF)).workflow_id == WF


def test_generic_chatflow_with_body_id() -> None:
    assert resolve_target(req(model="coze-chatflow", workflow_id=WF)).kind == "chatflow"


def test_alias() -> None:
    target = resolve_target(req(model="weather"), ALIASES)
    assert (target.kind, target.workflow_id, target.alias) == ("workflow", "111", "weather")
    assert dict(target.fixed_parameters) == {"unit": "C"}
    assert resolve_target(req(model="support-bot"), ALIASES).kind == "chatflow"


def _error(request: ChatCompletionRequest, aliases: Any = None) -> OpenAIError:
    with pytest.raises(OpenAIError) as info:
        resolve_target(request, aliases)
    return info.value


@pytest.mark.parametrize(("body", "status", "param", "code"), [
    ({}, 400, "workflow_id", "missing_workflow_id"),
    ({"model": "coze-chatflow"}, 400, "workflow_id", "missing_workflow_id"),
    ({"model": f"coze-workflow/{WF}", "workflow_id": "999"}, 400, "workflow_id",
     "workflow_id_conflict"),
    ({"model": "coze-workflow/"}, 400, "model", "invalid_workflow_id"),
    ({"model": "coze-workflow/a b"}, 400, "model", "invalid_workflow_id"),
    ({"workflow_id": "../etc"}, 400, "workflow_id", "invalid_workflow_id"),
    ({"model": "gpt-4o"}, 404, "model", "model_not_found"),
    ({"model": "weather", "workflow_id": "999"}, 400, "workflow_id", "workflow_id_conflict"),
    ({"workflow_id": WF, "n": 2}, 400, "n", "invalid_request"),
])
def test_target_errors(body: dict[str, Any], status: int, param: str, code: str) -> None:
    error = _error(req(**body), ALIASES)
    assert (error.status_code, error.param, error.openai_code) == (status, param, code)
    assert error.body()["error"]["type"] == "invalid_request_error"


def test_alias_with_same_body_id_is_fine() -> None:
    assert resolve_target(req(model="weather", workflow_id="111"), ALIASES).workflow_id == "111"


# --- workflow inputs -------------------------------------------------------------------


def test_last_user_message_and_content_array() -> None:
    request = req(workflow_id=WF, messages=[
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [
            {"type": "text", "text": "look at"},
            {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
            {"type": "text", "text": "this"},
        ]},
    ])
    params = workflow_parameters(request, resolve_target(request))
    assert params == {"BOT_USER_INPUT": "look at\nthis"}


def test_precedence_message_then_body_then_alias() -> None:
    request = req(model="weather", workflow_parameters={"BOT_USER_INPUT": "explicit",
                                                        "unit": "F", "x": 1})
    params = workflow_parameters(request, resolve_target(request, ALIASES))
    assert params == {"BOT_USER_INPUT": "explicit", "unit": "C", "x": 1}


def test_no_user_message_means_no_bot_user_input() -> None:
    request = req(workflow_id=WF, messages=[{"role": "system", "content": "s"}],
                  workflow_parameters={"input": "x"})
    assert workflow_parameters(request, resolve_target(request)) == {"input": "x"}


# --- chat-flow inputs ------------------------------------------------------------------


def _turns(n: int) -> list[dict[str, str]]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": f"m{i}"}
            for i in range(n)]


def test_chatflow_messages_map_roles_and_drop_others() -> None:
    request = req(model="coze-chatflow/1", messages=[
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "tool", "content": "t", "tool_call_id": "x"},
        {"role": "user", "content": [{"type": "text", "text": "again"}]},
    ])
    assert chatflow_messages(request) == [
        {"role": "user", "type": "question", "content": "hi", "content_type": "text"},
        {"role": "assistant", "type": "answer", "content": "hello", "content_type": "text"},
        {"role": "user", "type": "question", "content": "again", "content_type": "text"},
    ]


def test_chatflow_keeps_last_50() -> None:
    mapped = chatflow_messages(req(model="coze-chatflow/1", messages=_turns(61)))
    assert len(mapped) == MAX_CHATFLOW_MESSAGES
    assert mapped[0]["content"] == "m11" and mapped[-1]["content"] == "m60"


def test_chatflow_last_must_be_user() -> None:
    with pytest.raises(OpenAIError) as info:
        chatflow_messages(req(model="coze-chatflow/1", messages=_turns(2)))
    assert info.value.param == "messages" and info.value.status_code == 400


def test_chatflow_with_conversation_sends_only_new_turn() -> None:
    request = req(model="coze-chatflow/1", conversation_id="c1",
                  messages=[*_turns(4), {"role": "user", "content": "m4b"}])
    assert [m["content"] for m in chatflow_messages(request)] == ["m4b"]


def test_chatflow_parameters_alias_wins() -> None:
    aliases = {"bot": ModelAlias(kind="chatflow", workflow_id="2", parameters={"k": "fixed"})}
    request = req(model="bot", workflow_parameters={"k": "client", "j": 1})
    assert chatflow_parameters(request, resolve_target(request, aliases)) == {"k": "fixed", "j": 1}


# --- resume ----------------------------------------------------------------------------


def test_resume_from_echoed_marker() -> None:
    request = req(workflow_id=WF, messages=[{"role": "user", "content": "Hangzhou"}],
                  coze_resume={"kind": "workflow", "event_id": "1/2", "type": 2,
                               "node_title": "Question"})
    resume = workflow_resume(request, resolve_target(request))
    assert resume is not None
    assert (resume.event_id, resume.interrupt_type, resume.resume_data) == ("1/2", 2, "Hangzhou")
    assert workflow_resume(req(workflow_id=WF), resolve_target(req(workflow_id=WF))) is None


def test_resume_errors() -> None:
    chat = req(model="coze-chatflow/1", coze_resume={"event_id": "1/2", "type": 2})
    with pytest.raises(OpenAIError):
        workflow_resume(chat, resolve_target(chat))
    empty = req(workflow_id=WF, messages=[{"role": "user", "content": ""}],
                coze_resume={"event_id": "1/2", "type": 2})
    with pytest.raises(OpenAIError):
        workflow_resume(empty, resolve_target(empty))


# --- request model ---------------------------------------------------------------------


def test_request_accepts_unknown_openai_fields_and_stream_options() -> None:
    request = req(workflow_id=WF, stream=True, stream_options={"include_usage": True},
                  tools=[{"type": "function"}], response_format={"type": "text"},
                  temperature=0.2)
    assert request.include_usage and request.stream
    assert req(workflow_id=WF).include_usage is False


@pytest.mark.parametrize("body", [
    {"model": "coze-workflow", "messages": []},
    {"model": "", "messages": [{"role": "user", "content": "x"}]},
    {"messages": [{"role": "user", "content": "x"}]},
    {"model": "coze-workflow", "messages": [{"role": "user", "content": "x"}],
     "coze_output": "yaml"},
])
def test_request_validation_errors(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ChatCompletionRequest.model_validate(body)
