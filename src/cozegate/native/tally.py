"""What a relayed Coze stream told about its run: usage, ids, how it ended. Pure, no I/O.

The events themselves are relayed untouched; a tally only reads them. Usage arrives on the
last messages (workflow ``Message`` events carry Coze's cumulative ``usage``; a chat flow's
Chat objects carry it on ``conversation.chat.completed``), so the field-wise maximum seen is
the run's usage. The execute_id shows in an ``Interrupt``'s event id
(``<execute_id>/<n>``) and in the ``debug_url`` of ``Done``/``Error``/``done``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cozegate.protocol.coze import (
    ChatEvent,
    ChatEventType,
    WorkflowEvent,
    WorkflowEventType,
)
from cozegate.protocol.error_map import coerce_code
from cozegate.protocol.stream_common import CozeUsage
from cozegate.relay.metering import Outcome, Status

MAX_TEXT = 100_000  # characters kept of the output (the run record, a usage estimate)
STREAM_BROKE_CODE = 5000


@dataclass
class Facts:
    """Ids learnt from one event, to record before the event goes out."""

    execute_id: str | None = None
    conversation_id: str | None = None
    debug_url: str | None = None

    def __bool__(self) -> bool:
        return bool(self.execute_id or self.conversation_id or self.debug_url)


@dataclass
class Tally:
    logid: str | None = None
    usage: CozeUsage | None = None
    execute_id: str | None = None
    conversation_id: str | None = None
    debug_url: str | None = None
    error: str | None = None
    error_code: int | None = None
    interrupt: dict[str, Any] | None = None
    ended: bool = False  # the run reached its end (a final event arrived)
    last: bool = False  # and nothing more is expected: settle before relaying this event
    text: list[str] = field(default_factory=list)
    _size: int = 0

    @property
    def status(self) -> Status:
        if self.error is not None or not self.ended:
            return "error"
        return "interrupted" if self.interrupt is not None else "success"

    @property
    def output(self) -> str:
        return "".join(self.text)

    def outcome(self, status: Status) -> Outcome:
        usage = self.usage
        return Outcome(
            status=status,
            input_tokens=usage.input_tokens if usage else None,
            output_tokens=usage.output_tokens if usage else None,
            output_text=self.output,
            error=self.error,
            http_status=200,
            execute_id=self.execute_id,
            logid=self.logid,
            debug_url=self.debug_url,
        )

    def broke(self, message: str) -> None:
        self.error = message
        self.error_code = STREAM_BROKE_CODE

    def _add_usage(self, value: Any) -> None:
        usage = CozeUsage.from_coze(value)
        if usage is not None:
            self.usage = usage.merged_max(self.usage)

    def _add_text(self, text: str) -> None:
        if self._size < MAX_TEXT:
            piece = text[:MAX_TEXT - self._size]
            self.text.append(piece)
            self._size += len(piece)

    def _learn(self, facts: Facts) -> Facts:
        """Keep only what is new."""
        new = Facts()
        if facts.execute_id and facts.execute_id != self.execute_id:
            self.execute_id = new.execute_id = facts.execute_id
        if facts.conversation_id and facts.conversation_id != self.conversation_id:
            self.conversation_id = new.conversation_id = facts.conversation_id
        if facts.debug_url and facts.debug_url != self.debug_url:
            self.debug_url = new.debug_url = facts.debug_url
            if not self.execute_id and (execute_id := execute_id_of(facts.debug_url)):
                self.execute_id = new.execute_id = execute_id
        return new


@dataclass
class WorkflowTally(Tally):
    last_id: int = -1

    def see(self, event: WorkflowEvent) -> Facts:
        if event.id is not None:
            self.last_id = event.id
        facts = Facts()
        if event.type is WorkflowEventType.MESSAGE:
            # The hot path (every chunk of every stream): read the decoded JSON directly
            # instead of building a model per event.
            payload = event.payload if isinstance(event.payload, dict) else {}
            self._add_usage(payload.get("usage"))
            if payload.get("node_is_finish") is True and isinstance(payload.get("content"), str):
                # The run's output is its last finished node (the End node, or the question
                # of an interrupt), not the sum of every node's pieces.
                self.text, self._size = [], 0
                self._add_text(payload["content"])
        elif event.type is WorkflowEventType.DONE:
            facts.debug_url = event.debug_url
        elif event.type is WorkflowEventType.INTERRUPT and event.interrupt is not None:
            data = event.interrupt.interrupt_data
            self.interrupt = {"event_id": data.event_id, "type": data.type, "data": data.data,
                              "node_title": event.interrupt.node_title}
            facts.execute_id = data.event_id.split("/", 1)[0] or None
        elif event.type is WorkflowEventType.ERROR:
            error = event.error
            self.error_code = coerce_code(error.error_code) if error else None
            self.error = (error.error_message if error else "") or event.data
            facts.debug_url = event.debug_url
        if event.is_final:
            self.ended = self.last = True
        return self._learn(facts)

    def failure_event(self, message: str) -> bytes:
        """The ``Error`` event ending a stream that broke mid-way (next id in sequence)."""
        data = json.dumps({"error_code": STREAM_BROKE_CODE, "error_message": message},
                          ensure_ascii=False, separators=(",", ":"))
        return f"id: {self.last_id + 1}\nevent: Error\ndata: {data}\n\n".encode()


@dataclass
class ChatTally(Tally):
    chat_id: str | None = None

    def see(self, event: ChatEvent) -> Facts:
        facts = Facts(debug_url=event.debug_url)
        chat = event.chat
        if chat is not None:
            self.chat_id = chat.id
            facts.conversation_id = chat.conversation_id
            facts.execute_id = chat.execute_id
            if chat.usage is not None:
                self._add_usage(chat.usage.model_dump())
        if event.type is ChatEventType.MESSAGE_DELTA and event.message is not None \
                and event.message.type == "answer":
            self._add_text(event.message.content)
        elif event.type is ChatEventType.CHAT_REQUIRES_ACTION:
            self.interrupt = {"kind": "chatflow", "chat_id": self.chat_id}
        elif event.type is ChatEventType.CHAT_FAILED:
            last_error = chat.last_error if chat is not None else None
            self.error_code = last_error.code if last_error else None
            self.error = (last_error.msg if last_error else "") or "chat flow failed"
        elif event.type is ChatEventType.ERROR:
            self.error = event.data or "chat flow error"
        if event.is_final or event.type is ChatEventType.DONE:
            self.ended = True
        # A failed chat is still followed by ``done`` (its debug_url); wait for that one.
        self.last = event.type in (ChatEventType.DONE, ChatEventType.ERROR)
        return self._learn(facts)

    def failure_event(self, message: str) -> bytes:
        """How a chat stream that broke mid-way ends: a failed Chat when the chat is known
        (cozepy yields it), else an ``error`` event (cozepy raises it)."""
        if self.chat_id and self.conversation_id:
            chat = {"id": self.chat_id, "conversation_id": self.conversation_id,
                    "status": "failed",
                    "last_error": {"code": STREAM_BROKE_CODE, "msg": message}}
            data = json.dumps(chat, ensure_ascii=False, separators=(",", ":"))
            return f"event: conversation.chat.failed\ndata: {data}\n\n".encode()
        data = json.dumps({"code": STREAM_BROKE_CODE, "msg": message}, ensure_ascii=False,
                          separators=(",", ":"))
        return f"event: error\ndata: {data}\n\n".encode()


def execute_id_of(debug_url: str) -> str | None:
    """``…/work_flow?execute_id=75…&space_id=…`` → ``75…``."""
    try:
        values = parse_qs(urlsplit(debug_url).query).get("execute_id")
    except ValueError:
        return None
    return values[0] if values else None
