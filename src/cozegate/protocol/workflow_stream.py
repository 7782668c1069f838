"""Coze workflow stream (``stream_run`` / ``stream_resume``) → OpenAI chunks.

Rules (docs/openai-mapping.md has the long form):

* ``Message`` from any node other than End (Output/Message nodes, Question nodes, streaming
  or not): its ``content`` is a delta as it arrives.
* ``Message`` from the End node (``node_type == "End"``; without ``node_type``, a title of
  ``"End"`` or ``""``): used **only if no other node produced content** — flows that stream an
  Output node usually repeat the same text in End, and sending both would double the answer.
  A one-piece End message (``node_seq_id "0"``, ``node_is_finish`` true) is rendered by
  :func:`render_output`; a streamed End (``node_is_finish`` false chunks) is text, relayed as is.
* ``coze_output: "raw"``: the content is exactly the End node's data, verbatim; other nodes'
  messages are not part of it (they would corrupt the JSON).
* ``usage`` on any message: field-wise maximum (Coze's counts are cumulative per run).
* ``Done`` → finish chunk (``finish_reason: "stop"``) with ``coze_debug_url`` and
  ``coze_execute_id`` (read from the debug URL's query).
* ``Interrupt`` → if nothing was sent yet, the question text from ``interrupt_data.data``;
  then the finish chunk (``"stop"``) carrying ``coze_interrupt`` = ``{kind: "workflow",
  event_id, type, node_title, data, execute_id}``. Send ``event_id``/``type`` back as
  ``coze_resume`` with the answer to continue the run.
* ``Error`` → :class:`StreamError`; ``PING`` → :class:`KeepAlive`; other events are ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from cozegate.protocol.error_map import coerce_code, error_from_coze
from cozegate.protocol.output_render import interrupt_question, render_output
from cozegate.protocol.stream_common import (
    CozeUsage,
    KeepAlive,
    StreamContext,
    StreamConverter,
    StreamItem,
)


class WorkflowStreamConverter(StreamConverter):
    """Feed it ``(event_name, data)`` pairs of one workflow stream; see the module docstring."""

    def __init__(self, context: StreamContext) -> None:
        super().__init__(context)
        self._other_node_content = False  # a non-End node produced text
        self._end_streaming = False  # the End node is streaming chunks (text mode)

    def feed_run_result(self, body: Mapping[str, Any]) -> list[StreamItem]:
        """A successful non-stream ``/v1/workflow/run`` body (``data``, ``usage``,
        ``execute_id``, ``debug_url``, newer ``interrupt_data``), handled as a whole stream:
        the same rendering, interrupt marker and usage rules apply."""
        if self.closed:
            return []
        usage = CozeUsage.from_coze(body.get("usage"))
        if usage is not None:
            self.result.usage = usage.merged_max(self.result.usage)
        execute_id = body.get("execute_id")
        if isinstance(execute_id, str) and execute_id:
            self.result.execute_id = execute_id
        self._note_debug_url(body.get("debug_url"))
        interrupt = body.get("interrupt_data")
        if isinstance(interrupt, dict) and interrupt.get("event_id"):
            return self._on_interrupt({"interrupt_data": interrupt,
                                       "node_title": body.get("node_title") or ""})
        data = body.get("data")
        if data is not None and not isinstance(data, str):
            data = json.dumps(data, ensure_ascii=False)
        items = self._on_message({"content": data or "", "node_type": "End",
                                  "node_seq_id": "0", "node_is_finish": True})
        return items + self._final("stop")

    def _handle(self, event: str, data: dict[str, Any]) -> list[StreamItem]:
        if event == "Message":
            return self._on_message(data)
        if event == "Done":
            self._note_debug_url(data.get("debug_url"))
            return self._final("stop")
        if event == "Interrupt":
            return self._on_interrupt(data)
        if event == "Error":
            self._note_debug_url(data.get("debug_url"))
            error = error_from_coze(coerce_code(data.get("error_code")),
                                    str(data.get("error_message") or ""))
            return self._fail(error)
        if event == "PING":
            return [KeepAlive()]
        return []  # unknown events: tolerated, as cozepy does

    def _after_close(self, event: str, data: dict[str, Any]) -> None:
        if event in ("Done", "Error"):
            self._note_debug_url(data.get("debug_url"))

    def _on_message(self, data: dict[str, Any]) -> list[StreamItem]:
        reported = data.get("usage")
        if reported is not None:  # most chunks carry none: no call for them
            usage = CozeUsage.from_coze(reported)
            if usage is not None:
                self.result.usage = usage.merged_max(self.result.usage)
        content = data.get("content")
        text = content if isinstance(content, str) else ""
        raw = self.context.output_mode == "raw"

        if not _is_end_node(data):
            if raw or not text:
                return []
            self._other_node_content = True
            return self._content(text)

        if raw:
            return self._content(text)
        if self._other_node_content:
            return []  # dedupe: the answer was already streamed by an Output node
        one_piece = str(data.get("node_seq_id", "0")) == "0" and data.get("node_is_finish", True)
        if one_piece and not self._end_streaming:
            return self._content(render_output(text))
        self._end_streaming = True
        return self._content(text)

    def _on_interrupt(self, data: dict[str, Any]) -> list[StreamItem]:
        interrupt = data.get("interrupt_data")
        interrupt = interrupt if isinstance(interrupt, dict) else {}
        event_id = str(interrupt.get("event_id") or "")
        question_data = interrupt.get("data")
        if question_data is not None and not isinstance(question_data, str):
            question_data = json.dumps(question_data, ensure_ascii=False)
        execute_id = event_id.split("/", 1)[0] if "/" in event_id else None
        if execute_id and not self.result.execute_id:
            self.result.execute_id = execute_id
        marker: dict[str, Any] = {
            "kind": "workflow",
            "event_id": event_id,
            "type": coerce_code(interrupt.get("type")),
            "node_title": str(data.get("node_title") or ""),
            "data": question_data or "",
            "execute_id": self.result.execute_id,
        }
        if isinstance(interrupt.get("required_parameters"), dict):
            marker["required_parameters"] = interrupt["required_parameters"]
        if self.context.session_id:
            marker["conversation_id"] = self.context.session_id
            self.result.conversation_id = self.context.session_id
        self.result.interrupt = marker
        items: list[StreamItem] = []
        if not self.result.parts:
            items += self._content(interrupt_question(question_data))
        return items + self._final("stop")

    def _note_debug_url(self, value: Any) -> None:
        if not isinstance(value, str) or not value:
            return
        self.result.debug_url = value
        if not self.result.execute_id:
            self.result.execute_id = execute_id_from_debug_url(value)


def _is_end_node(data: dict[str, Any]) -> bool:
    node_type = data.get("node_type")
    if isinstance(node_type, str) and node_type:
        return node_type.lower() == "end"
    return data.get("node_title") in ("End", "", None)


_EXECUTE_ID = re.compile(r"(?:^|&)execute_id=([^&]+)")


def execute_id_from_debug_url(url: str) -> str | None:
    """Coze's debug URLs carry ``execute_id=`` in the query; the stream carries it nowhere else.

    Read like ``parse_qs(urlsplit(url).query)["execute_id"][0]``, without building the whole
    split and query (once per streamed call)."""
    query = url.split("#", 1)[0].partition("?")[2]
    match = _EXECUTE_ID.search(query)
    return unquote_plus(match.group(1)) if match else None
