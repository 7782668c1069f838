"""Choosing a converter for a target, and the non-stream aggregator.

Non-stream requests run through the very same converters as streams (the chunks are simply
not sent), so a ``chat.completion`` and the concatenated chunks of the same run always agree
on content, finish reason, usage and extension fields. Chat flows have no non-stream mode at
Coze, so this is the only way to answer them without streaming.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cozegate.protocol.chatflow_stream import ChatflowStreamConverter
from cozegate.protocol.request_map import CozeTarget
from cozegate.protocol.stream_common import (
    CozeEventLike,
    StreamContext,
    StreamConverter,
    StreamResult,
)
from cozegate.protocol.workflow_stream import WorkflowStreamConverter


def converter_for(target: CozeTarget, context: StreamContext, *,
                  conversation_id: str | None = None) -> StreamConverter:
    """The stream converter matching the target's kind."""
    if target.kind == "chatflow":
        return ChatflowStreamConverter(context, conversation_id=conversation_id)
    return WorkflowStreamConverter(context)


class CompletionAggregator:
    """Feed Coze events, then call :meth:`completion` for the ``chat.completion`` body.

    ``completion()`` raises the run's ``OpenAIError`` (with its HTTP status) when the run
    failed; ``result`` is available either way for billing and the usage log.
    """

    def __init__(self, converter: StreamConverter) -> None:
        self.converter = converter

    @classmethod
    def for_target(cls, target: CozeTarget, context: StreamContext, *,
                   conversation_id: str | None = None) -> CompletionAggregator:
        return cls(converter_for(target, context, conversation_id=conversation_id))

    @property
    def result(self) -> StreamResult:
        return self.converter.result

    def set_logid(self, logid: str | None) -> None:
        self.converter.set_logid(logid)

    def feed(self, event: str, data: Any) -> None:
        self.converter.feed(event, data)  # keep-alives and chunks are irrelevant here

    def feed_event(self, event: CozeEventLike) -> None:
        self.converter.feed_event(event)

    def feed_run_result(self, body: Mapping[str, Any]) -> None:
        """A non-stream workflow run's body (workflow targets only)."""
        if not isinstance(self.converter, WorkflowStreamConverter):
            raise TypeError("feed_run_result needs a workflow converter")
        self.converter.feed_run_result(body)

    def completion(self) -> dict[str, Any]:
        return self.converter.completion()
