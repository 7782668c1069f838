"""Coze chat-flow stream (``/v1/workflows/chat``) → OpenAI chunks.

Rules (docs/openai-mapping.md has the long form):

* ``conversation.chat.created`` / ``in_progress``: remember ``conversation_id`` and the chat
  id; from then on every chunk carries ``conversation_id`` (send it back to continue).
* ``conversation.message.delta`` of an assistant ``answer``: a content delta.
  ``conversation.message.completed`` of an answer whose id was never seen in a delta (flows
  that only send completed messages): its whole content. ``follow_up`` messages are collected
  into ``coze_follow_ups``; ``verbose``, tool and audio messages are ignored.
* ``conversation.chat.completed``: usage (the Chat object's ``usage``); the finish chunk goes
  out on ``done`` (which carries ``debug_url``), or at the end of the stream if ``done`` never
  comes.
* ``conversation.chat.requires_action``: same, with ``coze_interrupt`` = ``{kind:
  "chatflow", conversation_id, chat_id, required_action?}``; answer by sending the next user
  message with the same ``conversation_id``.
* ``conversation.chat.failed`` (``last_error``, or the bare ``{code,msg}`` of the docs'
  example) and ``error`` → :class:`StreamError`.
"""

from __future__ import annotations

from typing import Any

from cozegate.protocol.error_map import coerce_code, error_from_coze
from cozegate.protocol.openai import OpenAIError
from cozegate.protocol.stream_common import (
    CozeUsage,
    StreamContext,
    StreamConverter,
    StreamItem,
)
from cozegate.protocol.workflow_stream import execute_id_from_debug_url

_CHAT_STARTED = ("conversation.chat.created", "conversation.chat.in_progress")


class ChatflowStreamConverter(StreamConverter):
    """Feed it ``(event_name, data)`` pairs of one chat-flow stream; see the module docstring."""

    def __init__(self, context: StreamContext, *, conversation_id: str | None = None) -> None:
        super().__init__(context)
        # Known up front when the client continues a conversation: chunks carry it from the start.
        self.result.conversation_id = conversation_id or None
        self._delta_message_ids: set[str] = set()
        self._answered_without_id = False
        self._pending_finish = False  # chat.completed / requires_action seen, waiting for done

    def _handle(self, event: str, data: dict[str, Any]) -> list[StreamItem]:
        if event in _CHAT_STARTED:
            self._note_chat(data)
            return []
        if event == "conversation.message.delta":
            return self._on_delta(data)
        if event == "conversation.message.completed":
            return self._on_completed_message(data)
        if event == "conversation.chat.completed":
            self._note_chat(data)
            self._note_usage(data)
            self._pending_finish = True
            return []
        if event == "conversation.chat.requires_action":
            self._note_chat(data)
            self._note_usage(data)
            self.result.interrupt = self._interrupt_marker(data)
            self._pending_finish = True
            return []
        if event == "conversation.chat.failed":
            self._note_chat(data)
            self._note_usage(data)
            return self._fail(self._failure(data))
        if event == "error":
            return self._fail(self._failure(data))
        if event == "done":
            self._note_debug_url(data.get("debug_url"))
            return self._final("stop")
        return []

    def _after_close(self, event: str, data: dict[str, Any]) -> None:
        if event == "done":
            self._note_debug_url(data.get("debug_url"))

    def finish(self) -> list[StreamItem]:
        if not self.closed and self._pending_finish:
            return self._final("stop")  # the chat finished; only the done event went missing
        return super().finish()

    # -- events ----------------------------------------------------------------------

    def _on_delta(self, data: dict[str, Any]) -> list[StreamItem]:
        if not _is_answer(data):
            return []
        message_id = data.get("id")
        if isinstance(message_id, str) and message_id:
            self._delta_message_ids.add(message_id)
        else:
            self._answered_without_id = True
        self._note_conversation(data)
        return self._content(_text(data))

    def _on_completed_message(self, data: dict[str, Any]) -> list[StreamItem]:
        if data.get("type") == "follow_up":
            text = _text(data)
            if text:
                self.result.follow_ups.append(text)
            return []
        if not _is_answer(data):
            return []
        message_id = data.get("id")
        if message_id in self._delta_message_ids:
            return []
        # An answer with no id cannot be matched to its deltas; if deltas without ids came,
        # assume this is their completed form rather than risk doubling the text.
        if not message_id and self._answered_without_id:
            return []
        self._note_conversation(data)
        return self._content(_text(data))

    # -- helpers ---------------------------------------------------------------------

    def _note_chat(self, data: dict[str, Any]) -> None:
        self._note_conversation(data)
        chat_id = data.get("id")
        if isinstance(chat_id, str) and chat_id:
            self.result.chat_id = chat_id
        execute_id = data.get("execute_id")
        if isinstance(execute_id, str) and execute_id:
            self.result.execute_id = execute_id

    def _note_conversation(self, data: dict[str, Any]) -> None:
        conversation_id = data.get("conversation_id")
        if isinstance(conversation_id, str) and conversation_id:
            self.result.conversation_id = conversation_id

    def _note_usage(self, data: dict[str, Any]) -> None:
        usage = CozeUsage.from_coze(data.get("usage"))
        if usage is not None:
            self.result.usage = usage  # the terminal Chat object's usage is the run's total

    def _note_debug_url(self, value: Any) -> None:
        if isinstance(value, str) and value:
            self.result.debug_url = value
            if not self.result.execute_id:
                self.result.execute_id = execute_id_from_debug_url(value)

    def _interrupt_marker(self, data: dict[str, Any]) -> dict[str, Any]:
        marker: dict[str, Any] = {
            "kind": "chatflow",
            "conversation_id": self.result.conversation_id,
            "chat_id": self.result.chat_id,
        }
        if isinstance(data.get("required_action"), dict):
            marker["required_action"] = data["required_action"]
        return marker

    def _failure(self, data: dict[str, Any]) -> OpenAIError:
        last_error = data.get("last_error")
        source = last_error if isinstance(last_error, dict) else data
        code = coerce_code(source.get("code")) or None  # 0 is "no error", not a code
        msg = source.get("msg") or source.get("message") or ""
        if code is None and not msg:
            msg = "the chat flow failed without an error message"
        return error_from_coze(code, str(msg))


def _is_answer(data: dict[str, Any]) -> bool:
    return data.get("type") == "answer" and data.get("role", "assistant") == "assistant" \
        and data.get("content_type", "text") != "audio"


def _text(data: dict[str, Any]) -> str:
    content = data.get("content")
    return content if isinstance(content, str) else ""
