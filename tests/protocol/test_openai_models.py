"""The response models agree with the official SDK types."""

from __future__ import annotations

from openai.types import Model
from openai.types.chat import ChatCompletion

from cozegate.protocol.openai import (
    AssistantMessage,
    CompletionChoice,
    ModelCard,
    Usage,
    model_list,
)
from cozegate.protocol.openai import ChatCompletion as Ours
from cozegate.protocol.stream_common import StreamContext, new_completion_id

from .test_request_map import req


def test_model_list_validates_with_sdk_model() -> None:
    body = model_list([ModelCard(id="coze-workflow"), ModelCard(id="weather", created=5)])
    assert body["object"] == "list"
    for card in body["data"]:
        Model.model_validate(card)
    assert body["data"][1] == {"id": "weather", "object": "model", "created": 5,
                               "owned_by": "cozegate"}


def test_context_from_request() -> None:
    request = req(workflow_id="1", stream=True, stream_options={"include_usage": True},
                  coze_output="raw")
    ctx = StreamContext.for_request(request, completion_id="chatcmpl-x", created=7)
    assert (ctx.model, ctx.include_usage, ctx.output_mode, ctx.created) == (
        "coze-workflow", True, "raw", 7)
    auto = StreamContext.for_request(request)
    assert auto.completion_id.startswith("chatcmpl-") and auto.created > 1_700_000_000
    assert new_completion_id() != new_completion_id()


def test_our_completion_model_dumps_sdk_valid() -> None:
    ours = Ours(id="x", created=1, model="m", usage=Usage(),
                choices=[CompletionChoice(message=AssistantMessage(content="hi"),
                                          finish_reason="stop")])
    ChatCompletion.model_validate(ours.model_dump(exclude_none=True))
