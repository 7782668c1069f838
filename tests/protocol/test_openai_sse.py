"""SSE encoding of stream items, checked by feeding the bytes to the openai SDK's own decoder."""

from __future__ import annotations

import httpx
import openai
import pytest
from openai import Stream
from openai.types.chat import ChatCompletionChunk

from cozegate.protocol.openai_sse import DONE, KEEPALIVE, encode_item
from cozegate.protocol.stream_common import KeepAlive, StreamError
from cozegate.protocol.workflow_stream import WorkflowStreamConverter

from . import fixtures as fx
from .helpers import context, drive


def _sdk_stream(body: bytes) -> Stream[ChatCompletionChunk]:
    client = openai.OpenAI(api_key="sk-test", base_url="http://gateway/v1",
                           http_client=httpx.Client(transport=httpx.MockTransport(
                               lambda request: httpx.Response(
                                   200, content=body,
                                   headers={"content-type": "text/event-stream"}))))
    return client.chat.completions.create(model="coze-workflow", stream=True,
                                          messages=[{"role": "user", "content": "hi"}])


def test_encoding() -> None:
    assert encode_item(KeepAlive()) == KEEPALIVE == b": keep-alive\n\n"
    assert encode_item({"a": "杭州"}) == 'data: {"a":"杭州"}\n\n'.encode()


def test_openai_sdk_reads_our_stream() -> None:
    items = drive(WorkflowStreamConverter(context(include_usage=True)),
                  fx.WORKFLOW_OUTPUT_THEN_END)
    body = b"".join(encode_item(i) for i in items) + DONE
    received = list(_sdk_stream(body))
    text = "".join(c.choices[0].delta.content or "" for c in received if c.choices)
    assert text == "Hangzhou"
    assert received[-1].usage is not None and received[-1].usage.total_tokens == 15
    assert received[-2].coze_debug_url == fx.DEBUG_URL  # type: ignore[attr-defined]


def test_openai_sdk_raises_on_error_event() -> None:
    items = drive(WorkflowStreamConverter(context()), fx.WORKFLOW_ERROR_AFTER_CONTENT)
    assert isinstance(items[-1], StreamError)
    body = b"".join(encode_item(i) for i in items) + DONE
    with pytest.raises(openai.APIError, match="node failed"):
        list(_sdk_stream(body))
