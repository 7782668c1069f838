"""Finding the workflow run a user is answering, so the gateway resumes it.

When a workflow stops at a question on the OpenAI surface, the gateway remembers the pending
interrupt under two names:

* the ``conversation_id`` it returns with the question (``cgs_…``, or the client's own
  ``conversation_id`` if the request had one): clients that can send extension fields send
  it back with the answer;
* a hash of the conversation as a chat UI will send it next time: the request's messages
  plus the assistant's question. Chat UIs resend the whole history, so the next request's
  messages minus its last (the answer) hash to the same value — no extension needed.

Claiming deletes the row, so two concurrent answers cannot resume the same run twice. Rows
expire after ``ttl`` (Coze keeps an interrupted run resumable for a limited time).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, or_

from cozegate.db import SessionMaker
from cozegate.kit.ids import snowflake_id
from cozegate.models import PendingInterrupt
from cozegate.models.base import utcnow
from cozegate.protocol.openai import ChatCompletionRequest, ChatMessage
from cozegate.protocol.request_map import message_text

SESSION_PREFIX = "cgs_"
DEFAULT_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class Pending:
    conversation_id: str
    history_key: str
    workflow_id: str
    event_id: str
    interrupt_type: int
    execute_id: str | None
    question: str
    resumes: int


def new_session_id() -> str:
    return SESSION_PREFIX + snowflake_id()


def history_key(api_key_id: int, model: str, messages: list[tuple[str, str]]) -> str:
    canonical = json.dumps([api_key_id, model, messages], ensure_ascii=False,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _turns(messages: list[ChatMessage]) -> list[tuple[str, str]]:
    return [(m.role, message_text(m)) for m in messages if m.role in ("user", "assistant")]


class InterruptSessions:
    def __init__(self, sessionmaker: SessionMaker, *, ttl: timedelta = DEFAULT_TTL) -> None:
        self._sessionmaker = sessionmaker
        self._ttl = ttl

    async def claim(self, api_key_id: int, body: ChatCompletionRequest,
                    workflow_id: str) -> Pending | None:
        """The pending interrupt this request answers, removed from the store; or None."""
        conditions = []
        if body.conversation_id:
            conditions.append(PendingInterrupt.conversation_id == body.conversation_id)
        turns = _turns(body.messages)
        if len(turns) >= 2 and turns[-1][0] == "user" and turns[-2][0] == "assistant":
            conditions.append(PendingInterrupt.history_key
                              == history_key(api_key_id, body.model, turns[:-1]))
        if not conditions:
            return None
        statement = (
            delete(PendingInterrupt)
            .where(or_(*conditions), PendingInterrupt.api_key_id == api_key_id,
                   PendingInterrupt.workflow_id == workflow_id,
                   PendingInterrupt.expires_at > utcnow())
            .returning(PendingInterrupt.conversation_id, PendingInterrupt.history_key,
                       PendingInterrupt.workflow_id,
                       PendingInterrupt.event_id, PendingInterrupt.interrupt_type,
                       PendingInterrupt.execute_id, PendingInterrupt.question,
                       PendingInterrupt.resumes)
        )
        async with self._sessionmaker.begin() as session:
            row = (await session.execute(statement)).first()
        return Pending(*row) if row is not None else None

    async def remember(self, api_key_id: int, body: ChatCompletionRequest, *,
                       conversation_id: str, workflow_id: str, event_id: str,
                       interrupt_type: int, execute_id: str | None, question: str,
                       resumes: int) -> None:
        turns = [*_turns(body.messages), ("assistant", question)]
        now = utcnow()
        async with self._sessionmaker.begin() as session:
            # A session has one pending question at a time: a new one replaces the old.
            await session.execute(delete(PendingInterrupt).where(
                PendingInterrupt.conversation_id == conversation_id))
            session.add(PendingInterrupt(
                conversation_id=conversation_id,
                history_key=history_key(api_key_id, body.model, turns),
                api_key_id=api_key_id, workflow_id=workflow_id, event_id=event_id,
                interrupt_type=interrupt_type, execute_id=execute_id, question=question,
                resumes=resumes, created_at=now, expires_at=now + self._ttl))

    async def restore(self, api_key_id: int, pending: Pending) -> None:
        """Put back a claimed interrupt whose resume could not be started."""
        now = utcnow()
        async with self._sessionmaker.begin() as session:
            session.add(PendingInterrupt(
                conversation_id=pending.conversation_id, history_key=pending.history_key,
                api_key_id=api_key_id, workflow_id=pending.workflow_id,
                event_id=pending.event_id, interrupt_type=pending.interrupt_type,
                execute_id=pending.execute_id, question=pending.question,
                resumes=pending.resumes, created_at=now, expires_at=now + self._ttl))
