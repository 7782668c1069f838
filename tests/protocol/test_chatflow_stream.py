"""Chat-flow stream → chat.completion.chunk: exact chunks for recorded-style sequences."""

from __future__ import annotations

import pytest

from cozegate.protocol.aggregate import CompletionAggregator, converter_for
from cozegate.protocol.chatflow_stream import ChatflowStreamConverter
from cozegate.protocol.openai import OpenAIError
from cozegate.protocol.request_map import CozeTarget
from cozegate.protocol.stream_common import StreamError

from . import fixtures as fx
from .helpers import base_chunk, chunks, content_of, context, drive, validated_completion

MODEL = "coze-chatflow/7516000000000000002"


def _conv(*, include_usage: bool = False) -> ChatflowStreamConverter:
    return ChatflowStreamConverter(context(model=MODEL, include_usage=include_usage))


def test_success_exact_chunks() -> None:
    conv = _conv()
    items = drive(conv, fx.CHATFLOW_SUCCESS)
    assert items == [
        base_chunk({"role": "assistant", "content": "Hi "}, model=MODEL,
                   conversation_id=fx.CONV),
        base_chunk({"content": "there"}, model=MODEL, conversation_id=fx.CONV),
        base_chunk({}, "stop", model=MODEL, conversation_id=fx.CONV,
                   coze_execute_id="7516000000000004001", coze_debug_url=fx.CHAT_DEBUG_URL,
                   coze_follow_ups=["Tell me more?"]),
    ]
    assert conv.result.chat_id == fx.CHAT
    assert conv.result.usage is not None
    assert conv.result.usage.as_openai() == {"prompt_tokens": 21, "completion_tokens": 11,
                                             "total_tokens": 32}


def test_success_completion() -> None:
    conv = _conv()
    drive(conv, fx.CHATFLOW_SUCCESS)
    body = validated_completion(conv)
    assert body["choices"][0]["message"]["content"] == "Hi there"
    assert body["usage"] == {"prompt_tokens": 21, "completion_tokens": 11, "total_tokens": 32}
    assert body["conversation_id"] == fx.CONV
    assert "coze_usage_missing" not in body


def test_include_usage_chunk() -> None:
    out = chunks(drive(_conv(include_usage=True), fx.CHATFLOW_SUCCESS))
    assert out[-1]["choices"] == [] and out[-1]["usage"]["total_tokens"] == 32


def test_completed_only_answers_are_sent_once() -> None:
    items = drive(_conv(), fx.CHATFLOW_COMPLETED_ONLY)
    assert content_of(items) == "Whole answer"


def test_requires_action_marks_interrupt() -> None:
    conv = _conv()
    items = drive(conv, fx.CHATFLOW_REQUIRES_ACTION)
    assert content_of(items) == "Which city?"
    last = chunks(items)[-1]
    assert last["choices"][0]["finish_reason"] == "stop"
    assert last["coze_interrupt"] == {"kind": "chatflow", "conversation_id": fx.CONV,
                                      "chat_id": fx.CHAT}
    assert conv.result.usage is not None and conv.result.usage.total_tokens == 9


def test_failed_chat_is_error_with_last_error() -> None:
    conv = _conv()
    items = drive(conv, fx.CHATFLOW_FAILED)
    assert len(items) == 1 and isinstance(items[0], StreamError)
    error = items[0].error
    assert (error.status_code, error.type, error.coze_code) == (502, "upstream_error", 5000)
    assert error.message == "Coze error 5000: internal error"
    # done after failure still records the debug url for the log
    assert conv.result.debug_url == fx.CHAT_DEBUG_URL
    with pytest.raises(OpenAIError):
        conv.completion()


def test_failed_chat_doc_shape() -> None:
    items = drive(_conv(), fx.CHATFLOW_FAILED_DOC_SHAPE)
    assert isinstance(items[0], StreamError) and items[0].error.coze_code == 720702204


def test_error_event_after_content() -> None:
    items = drive(_conv(), fx.CHATFLOW_ERROR_EVENT)
    assert content_of(items) == "Hi"
    assert isinstance(items[-1], StreamError)
    assert items[-1].error.status_code == 429


def test_missing_done_after_completed_still_finishes() -> None:
    conv = _conv()
    items = drive(conv, fx.CHATFLOW_SUCCESS[:-1])
    assert chunks(items)[-1]["choices"][0]["finish_reason"] == "stop"
    assert not any(isinstance(i, StreamError) for i in items)


def test_stream_cut_before_completion_is_error() -> None:
    items = drive(_conv(), fx.CHATFLOW_SUCCESS[:3])
    assert isinstance(items[-1], StreamError)


def test_known_conversation_id_is_on_every_chunk() -> None:
    conv = ChatflowStreamConverter(context(model=MODEL), conversation_id="42")
    items = conv.feed("conversation.message.delta", {"type": "answer", "role": "assistant",
                                                     "content": "x", "content_type": "text"})
    assert chunks(items)[0]["conversation_id"] == "42"


def test_audio_and_verbose_ignored() -> None:
    conv = _conv()
    assert conv.feed("conversation.audio.delta", {"type": "answer", "role": "assistant",
                                                  "content": "AAAA",
                                                  "content_type": "audio"}) == []
    assert conv.feed("conversation.message.delta", {"type": "verbose", "role": "assistant",
                                                    "content": "{}",
                                                    "content_type": "text"}) == []


def test_aggregator_for_chatflow_target() -> None:
    target = CozeTarget(kind="chatflow", workflow_id="7516000000000000002", model=MODEL)
    assert isinstance(converter_for(target, context(model=MODEL)), ChatflowStreamConverter)
    agg = CompletionAggregator.for_target(target, context(model=MODEL))
    for name, data in fx.CHATFLOW_REQUIRES_ACTION:
        agg.feed(name, data)
    body = agg.completion()
    assert body["coze_interrupt"]["kind"] == "chatflow"
    assert body["choices"][0]["message"]["content"] == "Which city?"
    with pytest.raises(TypeError):
        agg.feed_run_result({})


def test_usage_missing_when_terminal_chat_has_none() -> None:
    # chat.created carries zeros; only the terminal Chat object's usage counts.
    completed = {"id": fx.CHAT, "conversation_id": fx.CONV, "status": "completed"}
    events = [fx.CHATFLOW_SUCCESS[0], fx.CHATFLOW_SUCCESS[2],
              ("conversation.chat.completed", completed), ("done", {})]
    conv = _conv()
    drive(conv, events)
    body = validated_completion(conv)
    assert body["coze_usage_missing"] is True
    assert body["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    assert conv.result.usage is None


class _Event:
    """Shaped like the Coze client's event objects (``.event``, ``.payload``)."""

    def __init__(self, event: str, payload: object) -> None:
        self.event = event
        self.payload = payload


def test_feed_event_adapter() -> None:
    conv = _conv()
    items = [item for name, data in fx.CHATFLOW_SUCCESS for item in
             conv.feed_event(_Event(name, data))]
    assert content_of(items) == "Hi there"
