"""Drive converters with fixture events; every chunk/completion is checked by the openai SDK."""

from __future__ import annotations

from typing import Any

from openai.types.chat import ChatCompletion, ChatCompletionChunk

from cozegate.protocol.openai import ChatCompletion as OurCompletion
from cozegate.protocol.openai import ChatCompletionChunk as OurChunk
from cozegate.protocol.stream_common import StreamContext, StreamConverter, StreamItem

from .fixtures import Events

CID = "chatcmpl-test"
CREATED = 1_740_801_600


def context(*, include_usage: bool = False, raw: bool = False,
            model: str = "coze-workflow") -> StreamContext:
    return StreamContext(completion_id=CID, model=model, created=CREATED,
                         include_usage=include_usage, output_mode="raw" if raw else "text")


def drive(converter: StreamConverter, events: Events) -> list[StreamItem]:
    """Feed every event, then end the stream; validate each chunk with the official types."""
    items: list[StreamItem] = []
    for name, data in events:
        items += converter.feed(name, data)
    items += converter.finish()
    for item in items:
        if isinstance(item, dict):
            ChatCompletionChunk.model_validate(item)
            OurChunk.model_validate(item)
    return items


def chunks(items: list[StreamItem]) -> list[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)]


def content_of(items: list[StreamItem]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or ""
                   for c in chunks(items) if c["choices"])


def validated_completion(converter: StreamConverter) -> dict[str, Any]:
    body = converter.completion()
    ChatCompletion.model_validate(body)
    OurCompletion.model_validate(body)
    return body


def base_chunk(delta: dict[str, Any], finish_reason: str | None = None,
               **extra: Any) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        "id": CID, "object": "chat.completion.chunk", "created": CREATED,
        "model": extra.pop("model", "coze-workflow"),
        "choices": [{"index": 0, "delta": delta, "logprobs": None,
                     "finish_reason": finish_reason}],
    }
    chunk.update(extra)
    return chunk
