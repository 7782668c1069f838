"""Chat-flow behaviour (chat_memory, chat_ask) and its event stream (spec §2.7).

Chat-flow SSE has no ``id:`` lines and ends with ``done``. An interrupting chat flow
(chat_ask) emits its question as a message, then ``conversation.chat.requires_action``;
the next ``/v1/workflows/chat`` call in the same conversation carries the answer.
Usage: ``input_count`` = ceil(chars / 4) of the user's last message, ``output_count`` =
ceil(chars / 4) of the answer (or question) text. A user message starting with ``!fail``
makes the flow fail: ``conversation.chat.failed`` (a full Chat object with ``last_error``),
then ``done``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from cozegate.emulator import catalog
from cozegate.emulator.engine import Engine
from cozegate.emulator.scripts import FAIL_CODE, FAIL_MESSAGE, split_even
from cozegate.emulator.state import RUN_MODE_STREAM, ChatMessage, Conversation
from cozegate.emulator.wire import Usage, dumps, sse_frame, tokens
from cozegate.kit.ids import snowflake_id

NAME_QUESTION = "What is your name?"
FAIL_TRIGGER = "!fail"  # a user message starting with this makes any chat flow fail


@dataclass(slots=True)
class Reply:
    text: str
    asks: bool  # True: the flow waits for an answer (requires_action)


def new_conversation(name: str = "", meta_data: dict[str, str] | None = None,
                     creator_id: str = "") -> Conversation:
    return Conversation(id=snowflake_id(), name=name, created_at=int(time.time()),
                        meta_data=dict(meta_data or {}), creator_id=creator_id)


def add_message(conversation: Conversation, role: str, content: str, *, chat_id: str = "",
                type: str | None = None, content_type: str = "text",
                meta_data: dict[str, str] | None = None) -> ChatMessage:
    message = ChatMessage(
        id=snowflake_id(), conversation_id=conversation.id, role=role,
        type=type or ("question" if role == "user" else "answer"), content=content,
        content_type=content_type or "text", chat_id=chat_id, created_at=int(time.time()),
        section_id=conversation.id, meta_data=dict(meta_data or {}),
    )
    conversation.messages.append(message)
    return message


def reply(workflow_id: str, conversation: Conversation, text: str) -> Reply:
    """The flow's answer to ``text``; the user's messages are already in the conversation."""
    if workflow_id == catalog.CHAT_ASK:
        if conversation.pending_question == workflow_id:
            conversation.pending_question = None
            return Reply(f"Nice to meet you, {text.strip()}!", asks=False)
        conversation.pending_question = workflow_id
        return Reply(NAME_QUESTION, asks=True)
    said = [m.content for m in conversation.messages if m.role == "user"]
    earlier = said[:-1]
    answer = f'You said: "{text}".'
    if earlier:
        answer += " Earlier you said: " + "; ".join(f'"{e}"' for e in earlier) + "."
    return Reply(answer + f" This is turn {len(said)}.", asks=False)


class ChatRun:
    """One ``/v1/workflows/chat`` call: builds the events and records the run."""

    def __init__(self, engine: Engine, spec: catalog.WorkflowSpec, conversation: Conversation,
                 user_text: str, bot_id: str | None) -> None:
        self.engine = engine
        self.spec = spec
        self.conversation = conversation
        self.user_text = user_text
        self.chat_id = snowflake_id()
        self.bot_id = bot_id or ""
        self.created_at = int(time.time())
        self.execution = engine.start(spec, {"USER_INPUT": user_text}, RUN_MODE_STREAM, bot_id)

    def chat(self, status: str, usage: Usage, **extra: Any) -> dict[str, Any]:
        return {
            "id": self.chat_id, "conversation_id": self.conversation.id, "bot_id": self.bot_id,
            "section_id": self.conversation.id, "created_at": self.created_at,
            "last_error": {"code": 0, "msg": ""}, "status": status, "usage": usage.as_dict(),
            "execute_id": self.execution.execute_id, **extra,
        }

    async def events(self) -> AsyncIterator[bytes]:
        zero = Usage()
        self.conversation.busy = True
        self.execution.busy = True
        try:
            yield sse_frame("conversation.chat.created", self.chat("created", zero))
            yield sse_frame("conversation.chat.in_progress", self.chat("in_progress", zero))
            if self.user_text.startswith(FAIL_TRIGGER):
                for frame in self._failed():
                    yield frame
                return
            answer = reply(self.spec.id, self.conversation, self.user_text)
            usage = Usage(tokens(self.user_text), tokens(answer.text))
            message = add_message(self.conversation, "assistant", answer.text,
                                  chat_id=self.chat_id)
            base = {**message.as_dict(), "bot_id": self.bot_id}
            for i, piece in enumerate(split_even(answer.text, 3)):
                if i and self.engine.config.chunk_interval:
                    await asyncio.sleep(self.engine.config.chunk_interval)
                yield sse_frame("conversation.message.delta", {**base, "content": piece})
            yield sse_frame("conversation.message.completed", base)
            yield sse_frame("conversation.message.completed", self._verbose(answer.asks))
            self._record(answer, usage)
            if answer.asks:
                yield sse_frame("conversation.chat.requires_action",
                                self.chat("requires_action", usage))
            else:
                yield sse_frame("conversation.chat.completed",
                                self.chat("completed", usage, completed_at=int(time.time())))
            yield sse_frame("done", {"debug_url": self.execution.debug_url + "&execute_mode=2"})
        finally:
            self.conversation.busy = False
            self.execution.busy = False
            self.execution.touch()

    def _failed(self) -> list[bytes]:
        """``!fail``: the flow fails; the frame is a full Chat object (cozepy needs one)."""
        execution = self.execution
        execution.usage = execution.last_usage = Usage(tokens(self.user_text), 0)
        execution.status = "Fail"
        execution.error_code, execution.error_message = str(FAIL_CODE), FAIL_MESSAGE
        chat = self.chat("failed", execution.usage, failed_at=int(time.time()),
                         last_error={"code": FAIL_CODE, "msg": FAIL_MESSAGE})
        return [sse_frame("conversation.chat.failed", chat),
                sse_frame("done", {"debug_url": execution.debug_url + "&execute_mode=2"})]

    def _verbose(self, interrupted: bool) -> dict[str, Any]:
        if interrupted:
            content = dumps({"msg_type": "interrupt", "data": "", "from_module": None,
                             "from_unit": None})
        else:
            content = dumps({"msg_type": "generate_answer_finish",
                             "data": dumps({"finish_reason": 0, "FinData": ""}),
                             "from_module": None, "from_unit": None})
        now = int(time.time())
        return {"id": snowflake_id(), "conversation_id": self.conversation.id,
                "bot_id": self.bot_id, "section_id": self.conversation.id,
                "chat_id": self.chat_id, "role": "assistant", "type": "verbose",
                "content": content, "content_type": "text", "created_at": now, "updated_at": now}

    def _record(self, answer: Reply, usage: Usage) -> None:
        execution = self.execution
        execution.usage = execution.last_usage = usage
        execution.output = dumps({"output": answer.text})
        execution.status = "Success"
