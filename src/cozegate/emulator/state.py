"""In-memory state of one emulator instance: executions, conversations, credentials in use.

Everything hangs off :class:`EmulatorState`, owned by the app (``app.state.emulator``); there
are no module globals, so two emulators in one process never share anything.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from cozegate.emulator.wire import CozeError, Usage

RUN_MODE_SYNC = 0
RUN_MODE_STREAM = 1
RUN_MODE_ASYNC = 2


@dataclass(slots=True)
class NodeRecord:
    node_id: str
    title: str
    uuid: str
    is_finish: bool = False
    output: str = ""
    update_time: int = 0


@dataclass(slots=True)
class PendingInterrupt:
    event_id: str
    type: int
    node_title: str
    data: str


@dataclass(slots=True)
class Execution:
    execute_id: str
    workflow_id: str
    run_mode: int
    logid: str
    debug_url: str
    params: dict[str, Any]
    input_text: str = ""  # counted by the token rule on the first leg
    bot_id: str = "0"
    connector_uid: str = ""
    status: str = "Running"  # exact-case Coze values: Running | Success | Fail
    output: str = ""
    error_code: str = ""
    error_message: str = ""
    usage: Usage = field(default_factory=Usage)  # all legs
    last_usage: Usage = field(default_factory=Usage)  # the latest leg (run / resume answers)
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    nodes: dict[str, NodeRecord] = field(default_factory=dict)  # by title
    interrupt: PendingInterrupt | None = None
    resumes: int = 0
    busy: bool = False  # a leg (run or resume) is executing right now

    def touch(self) -> None:
        self.updated = time.time()

    def node(self, title: str, node_id: str, uuid: str) -> NodeRecord:
        record = self.nodes.get(title)
        if record is None:
            record = self.nodes[title] = NodeRecord(node_id, title, uuid)
        return record


@dataclass(slots=True)
class ChatMessage:
    id: str
    conversation_id: str
    role: str
    type: str
    content: str
    content_type: str
    chat_id: str
    created_at: int
    section_id: str
    meta_data: dict[str, str] = field(default_factory=dict)
    bot_id: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "conversation_id": self.conversation_id, "bot_id": self.bot_id,
            "chat_id": self.chat_id, "section_id": self.section_id, "role": self.role,
            "type": self.type, "content": self.content, "content_type": self.content_type,
            "meta_data": self.meta_data, "created_at": self.created_at,
            "updated_at": self.created_at, "reasoning_content": "",
        }


@dataclass(slots=True)
class Conversation:
    id: str
    name: str
    created_at: int
    meta_data: dict[str, str]
    connector_id: str = "1024"
    creator_id: str = ""
    bot_id: str = ""
    messages: list[ChatMessage] = field(default_factory=list)
    pending_question: str | None = None  # chat_ask: workflow waiting for an answer
    busy: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "created_at": self.created_at,
            "updated_at": self.created_at, "meta_data": self.meta_data,
            "last_section_id": self.id, "creator_id": self.creator_id,
            "connector_id": self.connector_id,
        }


@dataclass
class EmulatorState:
    """Mutable state; :meth:`reset` empties it (tests share one server between cases)."""

    retention_seconds: float
    max_records: int = 10_000  # per kind (runs, conversations): a long-lived sandbox stays bounded
    executions: dict[str, Execution] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    used_jti: dict[str, float] = field(default_factory=dict)  # jti -> exp (purged after)
    access_tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry epoch
    fault_counts: dict[int, int] = field(default_factory=dict)  # rule index -> matches seen
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _next_purge: float = 0.0

    def reset(self) -> None:
        for task in self.tasks:
            task.cancel()
        self.tasks.clear()
        self.executions.clear()
        self.conversations.clear()
        self.used_jti.clear()
        self.access_tokens.clear()
        self.fault_counts.clear()

    def add_execution(self, execution: Execution) -> None:
        self._purge_expired()
        self.executions[execution.execute_id] = execution
        _evict_oldest(self.executions, self.max_records)

    def add_conversation(self, conversation: Conversation) -> None:
        self.conversations[conversation.id] = conversation
        _evict_oldest(self.conversations, self.max_records)

    def get_execution(self, workflow_id: str, execute_id: str) -> Execution:
        """The run record, or a Coze error when unknown, expired or of another workflow."""
        self._purge_expired()
        execution = self.executions.get(execute_id)
        if execution is not None and self._expired(execution):
            del self.executions[execute_id]
            execution = None
        if execution is None or execution.workflow_id != workflow_id:
            raise CozeError(4000, f"execute_id {execute_id} not found for workflow {workflow_id} "
                                  "(unknown, or older than the retention period)")
        return execution

    def get_conversation(self, conversation_id: Any) -> Conversation:
        if not conversation_id:
            raise CozeError(4000, "Request parameter error: conversation_id is required")
        conversation = self.conversations.get(str(conversation_id))
        if conversation is None:
            raise CozeError(4001, f"conversation {conversation_id!r} does not exist")
        return conversation

    def spawn(self, coro: Any) -> None:
        """Run a background job (async runs); keep a reference so it is not collected."""
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _expired(self, execution: Execution) -> bool:
        return not execution.busy and execution.updated < time.time() - self.retention_seconds

    def _purge_expired(self) -> None:
        # A full scan costs O(runs); once a second keeps request cost flat under load.
        now = time.monotonic()
        if now < self._next_purge:
            return
        self._next_purge = now + 1.0
        for execute_id in [k for k, e in self.executions.items() if self._expired(e)]:
            del self.executions[execute_id]


def _evict_oldest(records: dict[str, Any], limit: int) -> None:
    """Drop the oldest entries (dicts keep insertion order) beyond ``limit``, skipping busy ones."""
    excess = len(records) - limit
    if excess <= 0:
        return
    for key in [k for k, v in records.items() if not v.busy][:excess]:
        del records[key]
