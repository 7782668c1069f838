"""Workflow stream → chat.completion.chunk: exact chunks for recorded-style sequences."""

from __future__ import annotations

import pytest
from openai.types.chat import ChatCompletion

from cozegate.protocol.aggregate import CompletionAggregator
from cozegate.protocol.openai import OpenAIError
from cozegate.protocol.stream_common import KeepAlive, StreamError
from cozegate.protocol.workflow_stream import WorkflowStreamConverter, execute_id_from_debug_url

from . import fixtures as fx
from .helpers import (
    CID,
    base_chunk,
    chunks,
    content_of,
    context,
    drive,
    validated_completion,
)


def test_output_node_streams_and_end_is_deduplicated() -> None:
    conv = WorkflowStreamConverter(context())
    items = drive(conv, fx.WORKFLOW_OUTPUT_THEN_END)
    assert items == [
        KeepAlive(),
        base_chunk({"role": "assistant", "content": "Hang"}),
        base_chunk({"content": "zhou"}),
        base_chunk({}, "stop", coze_execute_id=fx.EXECUTE_ID, coze_debug_url=fx.DEBUG_URL),
    ]
    assert conv.result.usage is not None
    assert conv.result.usage.as_openai() == {"prompt_tokens": 12, "completion_tokens": 3,
                                             "total_tokens": 15}


def test_include_usage_adds_usage_chunk_with_empty_choices() -> None:
    items = drive(WorkflowStreamConverter(context(include_usage=True)),
                  fx.WORKFLOW_OUTPUT_THEN_END)
    out = chunks(items)
    assert all("usage" in c for c in out)
    assert all(c["usage"] is None for c in out[:-1])
    assert out[-1]["choices"] == []
    assert out[-1]["usage"] == {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
    assert out[-2]["choices"][0]["finish_reason"] == "stop"


def test_end_only_renders_json_object_pretty() -> None:
    conv = WorkflowStreamConverter(context())
    items = drive(conv, fx.WORKFLOW_END_ONLY)
    expected = '{\n  "city": "Hangzhou",\n  "temp": 21\n}'
    assert items == [
        base_chunk({"role": "assistant", "content": expected}),
        base_chunk({}, "stop", coze_execute_id=fx.EXECUTE_ID, coze_debug_url=fx.DEBUG_URL),
    ]


def test_end_only_single_string_output_unwrapped() -> None:
    events = [("Message", {"content": '{"output":"Hangzhou"}', "node_title": "End",
                           "node_seq_id": "0", "node_is_finish": True}), ("Done", {})]
    assert content_of(drive(WorkflowStreamConverter(context()), events)) == "Hangzhou"


def test_raw_mode_sends_end_data_verbatim_and_skips_output_nodes() -> None:
    conv = WorkflowStreamConverter(context(raw=True))
    items = drive(conv, fx.WORKFLOW_OUTPUT_THEN_END)
    assert content_of(items) == '{"output":"Hangzhou"}'


def test_streaming_end_node_relayed_as_text() -> None:
    conv = WorkflowStreamConverter(context())
    items = drive(conv, fx.WORKFLOW_END_STREAMING)
    assert [c["choices"][0]["delta"] for c in chunks(items)] == [
        {"role": "assistant", "content": "Once "}, {"content": "upon"}, {"content": " a time"},
        {},
    ]
    # Done without debug_url: no execute id or debug url is invented.
    assert "coze_debug_url" not in chunks(items)[-1]
    assert conv.result.usage is not None and conv.result.usage.total_tokens == 12


def test_usage_takes_fieldwise_maximum_of_cumulative_reports() -> None:
    events = [
        ("Message", {"content": "a", "node_title": "LLM", "node_seq_id": "0",
                     "node_is_finish": True, "node_type": "Message",
                     "usage": {"input_count": 10, "output_count": 2, "token_count": 12}}),
        ("Message", {"content": "{}", "node_title": "End", "node_seq_id": "0",
                     "node_is_finish": True, "node_type": "End",
                     "usage": {"input_count": 10, "output_count": 5, "token_count": 15}}),
        ("Done", {}),
    ]
    conv = WorkflowStreamConverter(context())
    drive(conv, events)
    assert conv.result.usage is not None
    assert conv.result.usage.as_openai() == {"prompt_tokens": 10, "completion_tokens": 5,
                                             "total_tokens": 15}


def test_interrupt_uses_question_message_and_marks_interrupt() -> None:
    conv = WorkflowStreamConverter(context())
    items = drive(conv, fx.WORKFLOW_INTERRUPT)
    marker = {"kind": "workflow", "event_id": "7516000000000000104/7516000000000000555",
              "type": 2, "node_title": "Question", "data": "",
              "execute_id": "7516000000000000104"}
    assert items == [
        base_chunk({"role": "assistant", "content": "Which city and date?"}),
        base_chunk({}, "stop", coze_execute_id="7516000000000000104", coze_interrupt=marker,
                   coze_usage_missing=True),
    ]
    # A Done arriving after the interrupt (some servers send one) adds only its debug url.
    assert conv.feed("Done", {"debug_url": fx.DEBUG_URL}) == []
    assert conv.result.debug_url == fx.DEBUG_URL


def test_interrupt_without_message_takes_question_from_interrupt_data() -> None:
    conv = WorkflowStreamConverter(context())
    items = drive(conv, fx.WORKFLOW_INTERRUPT_DATA_ONLY)
    assert content_of(items) == "Which city?"
    assert chunks(items)[-1]["coze_interrupt"]["type"] == 5
    body = validated_completion(conv)
    assert body["choices"][0]["message"]["content"] == "Which city?"
    assert body["coze_interrupt"]["event_id"] == "7516000000000000104/7516000000000000556"


def test_error_event_becomes_stream_error_with_debug_url() -> None:
    conv = WorkflowStreamConverter(context())
    conv.set_logid("20250301120000A1B2C3D4E5F60718293A")
    items = drive(conv, fx.WORKFLOW_ERROR)
    assert items[0] == KeepAlive()
    assert isinstance(items[1], StreamError) and len(items) == 2
    assert items[1].error.status_code == 400
    assert items[1].payload() == {"error": {
        "message": "Coze error 4000: Request parameter error", "type": "invalid_request_error",
        "param": None, "code": "invalid_request", "coze_code": 4000,
        "logid": "20250301120000A1B2C3D4E5F60718293A", "debug_url": fx.DEBUG_URL}}
    with pytest.raises(OpenAIError) as info:
        conv.completion()
    assert info.value.coze_code == 4000


def test_error_after_content_is_final_item() -> None:
    items = drive(WorkflowStreamConverter(context()), fx.WORKFLOW_ERROR_AFTER_CONTENT)
    assert content_of(items) == "partial"
    assert isinstance(items[-1], StreamError)
    assert items[-1].error.status_code == 502
    assert items[-1].error.coze_code == 720702001


def test_stream_ending_without_terminal_event_is_an_error() -> None:
    conv = WorkflowStreamConverter(context())
    items = drive(conv, fx.WORKFLOW_OUTPUT_THEN_END[:3])
    assert isinstance(items[-1], StreamError)
    assert items[-1].error.openai_code == "upstream_protocol_error"


def test_unknown_events_and_non_dict_payloads_are_ignored() -> None:
    conv = WorkflowStreamConverter(context())
    assert conv.feed("message", {"content": "x"}) == []
    assert conv.feed("Whatever", None) == []
    assert conv.feed("Message", "not json") == []
    assert content_of(drive(conv, fx.WORKFLOW_END_ONLY)) .startswith("{")


def test_events_after_close_are_ignored() -> None:
    conv = WorkflowStreamConverter(context())
    drive(conv, fx.WORKFLOW_END_ONLY)
    assert conv.feed("Message", {"content": "late", "node_title": "Output",
                                 "node_seq_id": "0", "node_is_finish": True}) == []
    assert "late" not in conv.result.content


def test_non_stream_aggregation_matches_stream() -> None:
    agg = CompletionAggregator(WorkflowStreamConverter(context()))
    for name, data in fx.WORKFLOW_OUTPUT_THEN_END:
        agg.feed(name, data)
    body = agg.completion()
    ChatCompletion.model_validate(body)
    assert body == {
        "id": CID, "object": "chat.completion", "created": 1_740_801_600,
        "model": "coze-workflow",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hangzhou"},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
        "coze_execute_id": fx.EXECUTE_ID, "coze_debug_url": fx.DEBUG_URL,
    }


def test_missing_usage_is_zero_and_flagged() -> None:
    conv = WorkflowStreamConverter(context(include_usage=True))
    items = drive(conv, fx.WORKFLOW_NO_USAGE)
    assert chunks(items)[-1]["usage"] == {"prompt_tokens": 0, "completion_tokens": 0,
                                          "total_tokens": 0}
    assert chunks(items)[-2]["coze_usage_missing"] is True
    body = validated_completion(conv)
    assert body["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    assert body["coze_usage_missing"] is True
    assert conv.result.usage_missing


def test_non_stream_run_result() -> None:
    conv = WorkflowStreamConverter(context())
    items = conv.feed_run_result({
        "code": 0, "msg": "", "data": "{\"output\":\"Hangzhou: light rain, 21C\"}",
        "debug_url": fx.DEBUG_URL, "execute_id": "7516000000000000101",
        "usage": {"input_count": 50, "output_count": 100, "token_count": 150}})
    assert content_of(items) == "Hangzhou: light rain, 21C"
    body = validated_completion(conv)
    assert body["coze_execute_id"] == "7516000000000000101"
    assert body["usage"]["total_tokens"] == 150


def test_non_stream_run_result_with_interrupt() -> None:
    agg = CompletionAggregator(WorkflowStreamConverter(context()))
    agg.feed_run_result({"data": "", "debug_url": "", "interrupt_data": {
        "event_id": "1/2", "type": 2, "data": '{"content":"Which city?"}'}})
    body = agg.completion()
    ChatCompletion.model_validate(body)
    assert body["choices"][0]["message"]["content"] == "Which city?"
    assert body["coze_interrupt"]["event_id"] == "1/2"


def test_execute_id_from_debug_url() -> None:
    assert execute_id_from_debug_url(fx.DEBUG_URL) == fx.EXECUTE_ID
    assert execute_id_from_debug_url("https://www.coze.cn/work_flow") is None
