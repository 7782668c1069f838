"""OpenAI chat request → Coze target and inputs (pure; rules in docs/openai-mapping.md).

Target (:func:`resolve_target`), tried in this order:

1. ``coze-workflow`` / ``coze-chatflow`` + body ``workflow_id`` (the seed's form).
2. ``coze-workflow/<id>`` / ``coze-chatflow/<id>``, for clients that cannot add body fields.
   A body ``workflow_id`` that disagrees with the model name is a 400.
3. An operator alias (``aliases[model]``): kind, workflow id and fixed parameters. A body
   ``workflow_id`` other than the alias's is a 400 (the alias pins the target).
4. Anything else: 404 ``model_not_found``.

Inputs:

* Workflow (:func:`workflow_parameters`): the text of the **last user message** becomes
  ``BOT_USER_INPUT``; then ``workflow_parameters`` from the body; then the alias's fixed
  parameters. Later sources win, so an explicit ``BOT_USER_INPUT`` in ``workflow_parameters``
  overrides the message, and the operator's fixed parameters override the client.
  System/developer/assistant/tool messages are not sent (a workflow has no generic place for
  them; pass them through ``workflow_parameters`` if the workflow declares an input).
* Chat flow (:func:`chatflow_messages`): user and assistant text messages become
  ``additional_messages`` (``content_type: "text"``); the last 50 are kept; the last one must
  be a user message. With a ``conversation_id``, Coze already holds the earlier turns, so only
  the messages after the last assistant message are sent.
* Array content: the ``text`` parts joined with a newline; images, audio and files are
  dropped (Coze takes files as workflow parameters, not chat content).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ConfigDict, Field

from cozegate.kit.schema import Schema
from cozegate.protocol.openai import (
    ChatCompletionRequest,
    ChatMessage,
    invalid_request,
    model_not_found,
)

TargetKind = Literal["workflow", "chatflow"]
USER_INPUT_PARAMETER = "BOT_USER_INPUT"
MAX_CHATFLOW_MESSAGES = 50  # Coze's documented cap on additional_messages

_GENERIC_MODELS: tuple[tuple[str, TargetKind], ...] = (
    ("coze-workflow", "workflow"),
    ("coze-chatflow", "chatflow"),
)
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ModelAlias(Schema):
    """An operator-defined model name that stands for one workflow or chat flow."""

    model_config = ConfigDict(frozen=True)

    kind: TargetKind = "workflow"
    workflow_id: str
    parameters: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CozeTarget:
    """What a request calls. ``model`` is echoed back in responses as the client sent it."""

    kind: TargetKind
    workflow_id: str
    model: str
    alias: str | None = None
    fixed_parameters: Mapping[str, Any] = field(default_factory=dict)


def resolve_target(
    request: ChatCompletionRequest,
    aliases: Mapping[str, ModelAlias] | None = None,
) -> CozeTarget:
    """Resolve the request's target or raise an ``OpenAIError`` (400/404)."""
    if request.n not in (None, 1):
        raise invalid_request("Only n=1 is supported: a workflow run has one output.", param="n")
    model = request.model.strip()
    body_id = request.workflow_id.strip() if request.workflow_id else None

    for prefix, kind in _GENERIC_MODELS:
        if model == prefix:
            if not body_id:
                raise invalid_request(
                    f"Model `{prefix}` needs a `workflow_id` in the request body "
                    f"(or use the model name `{prefix}/<workflow_id>`).",
                    param="workflow_id", code="missing_workflow_id")
            return CozeTarget(kind=kind, workflow_id=_checked_id(body_id), model=model)
        if model.startswith(prefix + "/"):
            model_id = _checked_id(model[len(prefix) + 1:], param="model")
            if body_id and body_id != model_id:
                raise invalid_request(
                    f"`workflow_id` {body_id} disagrees with the model name `{model}`.",
                    param="workflow_id", code="workflow_id_conflict")
            return CozeTarget(kind=kind, workflow_id=model_id, model=model)

    alias = (aliases or {}).get(model)
    if alias is None:
        raise model_not_found(model)
    if body_id and body_id != alias.workflow_id:
        raise invalid_request(
            f"Model `{model}` is bound to a fixed workflow; remove `workflow_id` from the body.",
            param="workflow_id", code="workflow_id_conflict")
    return CozeTarget(kind=alias.kind, workflow_id=alias.workflow_id, model=model, alias=model,
                      fixed_parameters=dict(alias.parameters))


def _checked_id(value: str, *, param: str = "workflow_id") -> str:
    if not _ID_RE.match(value):
        raise invalid_request(f"Invalid workflow id {value!r}.", param=param,
                              code="invalid_workflow_id")
    return value


def message_text(message: ChatMessage) -> str:
    """A message's text: the string content, or the text parts of an array joined by newlines."""
    content = message.content
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(part.text for part in content if part.type == "text" and part.text)


def last_user_text(request: ChatCompletionRequest) -> str | None:
    """Text of the last ``user`` message, or ``None`` when there is no user message."""
    for message in reversed(request.messages):
        if message.role == "user":
            return message_text(message)
    return None


def workflow_parameters(request: ChatCompletionRequest, target: CozeTarget) -> dict[str, Any]:
    """Start-node inputs for a workflow run (precedence in the module docstring)."""
    parameters: dict[str, Any] = {}
    text = last_user_text(request)
    if text is not None:
        parameters[USER_INPUT_PARAMETER] = text
    parameters.update(request.workflow_parameters or {})
    parameters.update(target.fixed_parameters)
    return parameters


def chatflow_parameters(request: ChatCompletionRequest, target: CozeTarget) -> dict[str, Any]:
    """``parameters`` of a chat-flow run: body ``workflow_parameters``, then the alias's."""
    return {**(request.workflow_parameters or {}), **target.fixed_parameters}


def chatflow_messages(request: ChatCompletionRequest) -> list[dict[str, Any]]:
    """``additional_messages`` for ``/v1/workflows/chat`` (rules in the module docstring)."""
    messages = request.messages
    if request.conversation_id:
        last_assistant = max((i for i, m in enumerate(messages) if m.role == "assistant"),
                             default=-1)
        messages = messages[last_assistant + 1:]
    mapped: list[dict[str, Any]] = []
    for message in messages:
        if message.role not in ("user", "assistant"):
            continue
        text = message_text(message)
        if not text:
            continue
        mapped.append({
            "role": message.role,
            "type": "question" if message.role == "user" else "answer",
            "content": text,
            "content_type": "text",
        })
    mapped = mapped[-MAX_CHATFLOW_MESSAGES:]
    if not mapped or mapped[-1]["role"] != "user":
        raise invalid_request("A chat flow needs the last message to be a user message with text.",
                              param="messages", code="last_message_not_user")
    return mapped


@dataclass(frozen=True, slots=True)
class WorkflowResume:
    """Arguments of ``stream_resume``: answer a pending interrupt."""

    workflow_id: str
    event_id: str
    interrupt_type: int
    resume_data: str


def workflow_resume(request: ChatCompletionRequest, target: CozeTarget) -> WorkflowResume | None:
    """The resume call a request asks for through ``coze_resume``, or ``None``.

    The answer is the last user message's text; without one the request is a 400.
    """
    ref = request.coze_resume
    if ref is None:
        return None
    if target.kind != "workflow":
        raise invalid_request("`coze_resume` applies to workflows; a chat flow continues with "
                              "`conversation_id`.", param="coze_resume")
    answer = last_user_text(request)
    if not answer:
        raise invalid_request("Answering an interrupt needs a user message with the answer.",
                              param="messages", code="missing_answer")
    return WorkflowResume(workflow_id=target.workflow_id, event_id=ref.event_id,
                          interrupt_type=ref.type, resume_data=answer)
