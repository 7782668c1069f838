"""Coze stream events: workflow ``stream_run``/``stream_resume`` and chat-flow events.

Each event wraps one parsed SSE event and keeps it intact for byte-faithful relay; the typed
payload is decoded on first access and is ``None`` when it does not fit (never raises).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from cozegate.kit import jsonfast
from cozegate.kit.lazy import lazy_property
from cozegate.kit.sse import SSEEvent
from cozegate.protocol.coze_base import (
    CozeModel,
    IdStr,
    InterruptData,
    IntLike,
    TolerantEnum,
    Usage,
)


class WorkflowEventType(str, TolerantEnum):
    MESSAGE = "Message"
    ERROR = "Error"
    DONE = "Done"
    INTERRUPT = "Interrupt"
    PING = "PING"
    UNKNOWN = "Unknown"


class ChatStatus(str, TolerantEnum):
    CREATED = "created"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    REQUIRES_ACTION = "requires_action"
    CANCELED = "canceled"
    UNKNOWN = "unknown"


class ChatEventType(str, TolerantEnum):
    CHAT_CREATED = "conversation.chat.created"
    CHAT_IN_PROGRESS = "conversation.chat.in_progress"
    CHAT_COMPLETED = "conversation.chat.completed"
    CHAT_FAILED = "conversation.chat.failed"
    CHAT_REQUIRES_ACTION = "conversation.chat.requires_action"
    MESSAGE_DELTA = "conversation.message.delta"
    MESSAGE_COMPLETED = "conversation.message.completed"
    AUDIO_DELTA = "conversation.audio.delta"
    ERROR = "error"
    DONE = "done"
    UNKNOWN = "unknown"


class WorkflowEventMessage(CozeModel):
    content: str = ""
    node_title: str = ""
    node_seq_id: IdStr = "0"
    node_is_finish: bool = False
    node_id: IdStr | None = None
    node_type: str | None = None
    node_execute_uuid: IdStr | None = None
    content_type: str | None = None
    ext: dict[str, Any] | None = None
    usage: Usage | None = None


class WorkflowEventError(CozeModel):
    error_code: IntLike | None = None
    error_message: str = ""
    debug_url: str | None = None


class WorkflowEventInterrupt(CozeModel):
    interrupt_data: InterruptData
    node_title: str = ""


class _EventBase:
    """One SSE event as received, plus its JSON payload decoded lazily and leniently."""

    def __init__(self, sse: SSEEvent) -> None:
        self.sse = sse  # kept verbatim: relaying ``sse.encode()`` reproduces the event
        self.event: str = sse.event or "message"
        self.data: str = sse.data

    @property
    def raw(self) -> SSEEvent:
        """The SSE event exactly as parsed (alias of ``sse``)."""
        return self.sse

    @lazy_property
    def payload(self) -> Any:
        """The ``data:`` JSON, or ``None`` when it is not JSON (e.g. ``[DONE]``)."""
        try:
            return jsonfast.loads(self.data) if self.data else None
        except ValueError:
            return None

    def _as(self, model: type[Any]) -> Any:
        payload = self.payload
        if not isinstance(payload, dict):
            return None
        try:
            return model.model_validate(payload)
        except ValidationError:
            return None

    def encode(self) -> bytes:
        return self.sse.encode()


class WorkflowEvent(_EventBase):
    """An event of ``stream_run`` / ``stream_resume``; unknown event names are preserved."""

    def __init__(self, sse: SSEEvent) -> None:
        super().__init__(sse)
        self.id: int | None = _parse_id(sse.id)
        self.type: WorkflowEventType = WorkflowEventType.parse(self.event)
        # Done, Error or Interrupt: the run is over (a Done may still follow the others).
        # Set here rather than a property: the stream asks it of every event.
        self.is_final: bool = self.type in _WORKFLOW_FINAL

    def __repr__(self) -> str:
        return f"WorkflowEvent(id={self.id!r}, event={self.event!r}, data={self.data[:80]!r})"

    @lazy_property
    def message(self) -> WorkflowEventMessage | None:
        return self._as(WorkflowEventMessage) if self.type is WorkflowEventType.MESSAGE else None

    @lazy_property
    def error(self) -> WorkflowEventError | None:
        return self._as(WorkflowEventError) if self.type is WorkflowEventType.ERROR else None

    @lazy_property
    def interrupt(self) -> WorkflowEventInterrupt | None:
        if self.type is not WorkflowEventType.INTERRUPT:
            return None
        return self._as(WorkflowEventInterrupt)

    @property
    def debug_url(self) -> str | None:
        """Carried by ``Done`` (and sometimes ``Error``) events."""
        payload = self.payload
        if isinstance(payload, dict) and isinstance(payload.get("debug_url"), str):
            return payload["debug_url"] or None
        return None


_WORKFLOW_FINAL = frozenset(
    (WorkflowEventType.DONE, WorkflowEventType.ERROR, WorkflowEventType.INTERRUPT))


def _parse_id(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)  # surrounding whitespace is allowed by int() itself
    except ValueError:
        return None


# --- chat flow -------------------------------------------------------------------------


class LastError(CozeModel):
    code: IntLike = 0
    msg: str = ""


class Chat(CozeModel):
    id: IdStr
    conversation_id: IdStr
    bot_id: IdStr | None = None
    section_id: IdStr | None = None
    created_at: IntLike | None = None
    completed_at: IntLike | None = None
    failed_at: IntLike | None = None
    meta_data: dict[str, str] | None = None
    last_error: LastError | None = None
    status: ChatStatus | None = None
    required_action: dict[str, Any] | None = None
    usage: Usage | None = None
    execute_id: IdStr | None = None


class Message(CozeModel):
    role: str = ""
    content: str = ""
    content_type: str = "text"
    type: str = ""
    id: IdStr | None = None
    conversation_id: IdStr | None = None
    section_id: IdStr | None = None
    bot_id: IdStr | None = None
    chat_id: IdStr | None = None
    created_at: IntLike | None = None
    updated_at: IntLike | None = None
    meta_data: dict[str, Any] | None = None
    reasoning_content: str | None = None


class ChatEvent(_EventBase):
    """An event of ``/v1/workflows/chat``: a Chat or a Message payload, by event name."""

    def __init__(self, sse: SSEEvent) -> None:
        super().__init__(sse)
        self.type: ChatEventType = ChatEventType.parse(self.event)

    def __repr__(self) -> str:
        return f"ChatEvent(event={self.event!r}, data={self.data[:80]!r})"

    @property
    def is_final(self) -> bool:
        return self.type in (ChatEventType.DONE, ChatEventType.CHAT_FAILED, ChatEventType.ERROR)

    @lazy_property
    def chat(self) -> Chat | None:
        return self._as(Chat) if self.event.startswith("conversation.chat.") else None

    @lazy_property
    def message(self) -> Message | None:
        if self.event.startswith(("conversation.message.", "conversation.audio.")):
            return self._as(Message)
        return None

    @property
    def debug_url(self) -> str | None:
        payload = self.payload
        if self.type is ChatEventType.DONE and isinstance(payload, dict):
            return payload.get("debug_url") or None
        return None


class ChatMessageInput(CozeModel):
    """A message sent in ``additional_messages`` (or to create a conversation)."""

    role: str = "user"
    content: str
    content_type: str = "text"
    type: str | None = "question"
    meta_data: dict[str, str] | None = None
