"""How a task's run ended, read from Coze: a streamed run's events or an async run's history.

The output kept is the End node's data (JSON text, as the sync run's ``data`` has it), so a
task's ``output`` looks the same whether it ran async or as a held stream. A chat flow's
output is the answer text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cozegate.protocol.coze import (
    ChatEvent,
    ChatEventType,
    RunHistory,
    WorkflowEvent,
    WorkflowEventType,
)
from cozegate.protocol.coze_base import InterruptData, Usage
from cozegate.protocol.workflow_stream import execute_id_from_debug_url

END_NODE_ID = "900001"  # Coze's End node id, the same in every workflow


@dataclass
class RunEnd:
    """The end of a task's run. ``status``: succeeded | failed | interrupted | cancelled.

    The last four fields are facts learnt on the way; ``None`` leaves the task's value."""

    status: str
    output: str | None = None
    error: str | None = None
    error_code: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    interrupt: dict[str, Any] | None = None
    execute_id: str | None = None
    debug_url: str | None = None
    logid: str | None = None
    conversation_id: str | None = None

    def facts(self) -> dict[str, str]:
        learnt = {"execute_id": self.execute_id, "debug_url": self.debug_url,
                  "logid": self.logid, "conversation_id": self.conversation_id}
        return {name: value for name, value in learnt.items() if value}

    @classmethod
    def failed(cls, error: str, code: int | None = None) -> RunEnd:
        return cls(status="failed", error=error, error_code=code)


def interrupt_dict(data: InterruptData, node_title: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = data.model_dump(mode="json", exclude_none=True)
    if node_title:
        out["node_title"] = node_title
    return out


def history_output(history: RunHistory) -> str:
    """The End data inside history's ``{"Output": "<data>"}`` wrapper (else as sent)."""
    try:
        wrapped = json.loads(history.output) if history.output else None
    except ValueError:
        return history.output
    if isinstance(wrapped, dict) and isinstance(wrapped.get("Output"), str):
        return wrapped["Output"]
    return history.output


def end_node_uuid(history: RunHistory) -> str | None:
    """The End node's execute uuid, to fetch its full output when history trimmed it."""
    for title, node in (history.node_execute_status or {}).items():
        if node.node_id == END_NODE_ID or title == "End":
            return node.node_execute_uuid or None
    return None


def end_of_history(history: RunHistory, output: str | None) -> RunEnd:
    common: dict[str, Any] = {**_tokens(history.usage),
                              "debug_url": history.debug_url or None,
                              "logid": history.logid or None}
    if history.interrupt_data is not None:
        return RunEnd(status="interrupted", interrupt=interrupt_dict(history.interrupt_data),
                      **common)
    if output is not None:
        return RunEnd(status="succeeded", output=output, **common)
    return RunEnd(status="failed", error=history.error_message or "the workflow failed",
                  error_code=_int(history.error_code), **common)


@dataclass
class StreamTally:
    """Folds a workflow or chat-flow stream into a :class:`RunEnd` as events arrive."""

    chat: bool = False
    text: list[str] = field(default_factory=list)
    end_output: str | None = None
    usage: Usage | None = None
    error: str | None = None
    error_code: int | None = None
    interrupt: dict[str, Any] | None = None
    execute_id: str | None = None
    debug_url: str | None = None
    conversation_id: str | None = None

    def feed(self, event: WorkflowEvent | ChatEvent) -> str:
        """Take one event; returns the text it added to the answer ('' for none)."""
        if isinstance(event, ChatEvent):
            return self._chat(event)
        return self._workflow(event)

    def end(self) -> RunEnd:
        common: dict[str, Any] = {**_tokens(self.usage), "execute_id": self.execute_id,
                                  "debug_url": self.debug_url,
                                  "conversation_id": self.conversation_id}
        if self.error is not None:
            return RunEnd(status="failed", error=self.error, error_code=self.error_code,
                          **common)
        if self.interrupt is not None:
            return RunEnd(status="interrupted", output="".join(self.text) or None,
                          interrupt=self.interrupt, **common)
        output = self.end_output if self.end_output is not None else "".join(self.text)
        return RunEnd(status="succeeded", output=output, **common)

    def _workflow(self, event: WorkflowEvent) -> str:
        if event.type is WorkflowEventType.MESSAGE and event.message is not None:
            message = event.message
            if message.usage is not None:
                self.usage = message.usage
            if message.node_type == "End" or message.node_id == END_NODE_ID:
                self.end_output = message.content
                return ""
            self.text.append(message.content)
            return message.content
        if event.type is WorkflowEventType.ERROR:
            error = event.error
            self.error = (error.error_message if error else None) or event.data or "error"
            self.error_code = _int(error.error_code) if error else None
        elif event.type is WorkflowEventType.INTERRUPT and event.interrupt is not None:
            self.interrupt = interrupt_dict(event.interrupt.interrupt_data,
                                            event.interrupt.node_title)
            self._learn_execute_id(self.interrupt.get("event_id", "").split("/", 1)[0])
        self._learn_debug_url(event.debug_url)
        return ""

    def _chat(self, event: ChatEvent) -> str:
        chat = event.chat
        if chat is not None:
            self.conversation_id = chat.conversation_id or self.conversation_id
            self._learn_execute_id(chat.execute_id)
            if chat.usage is not None:
                self.usage = chat.usage
            if event.type is ChatEventType.CHAT_FAILED:
                last = chat.last_error
                self.error = (last.msg if last else None) or "the chat flow failed"
                self.error_code = last.code if last else None
            elif event.type is ChatEventType.CHAT_REQUIRES_ACTION:
                self.interrupt = {"type": "requires_action",
                                  "required_action": chat.required_action or {}}
        elif event.type is ChatEventType.MESSAGE_DELTA and event.message is not None:
            message = event.message
            if message.role == "assistant" and message.type in ("answer", ""):
                self.text.append(message.content)
                return message.content
        elif event.type is ChatEventType.ERROR:
            payload = event.payload if isinstance(event.payload, dict) else {}
            self.error = str(payload.get("msg") or event.data or "error")
            self.error_code = _int(payload.get("code"))
        self._learn_debug_url(event.debug_url)
        return ""

    def _learn_debug_url(self, url: str | None) -> None:
        if url:
            self.debug_url = url
            self._learn_execute_id(execute_id_from_debug_url(url))

    def _learn_execute_id(self, execute_id: str | None) -> None:
        if execute_id and not self.execute_id:
            self.execute_id = execute_id


def _tokens(usage: Usage | None) -> dict[str, int | None]:
    if usage is None:
        return {"input_tokens": None, "output_tokens": None}
    return {"input_tokens": int(usage.input_count), "output_tokens": int(usage.output_count)}


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
