"""A background task (seed 004's task API): one workflow or chat-flow run driven by cozegate.

The row is the whole state of the task, so any process can pick it up: who submitted it
(with the key name, group ratio and price copied at submit, so billing at the end does not
depend on later edits), how it is driven (``mode``: ``async`` = Coze async run + polling,
``stream`` = a streaming run the driving process holds), how far it got (``stage``), and the
lease saying which process drives it now and until when. ``settled`` turns true once the
reservation made at submit was settled or refunded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cozegate.models.base import Base, UTCDateTime, utcnow

TASK_QUEUED = "queued"
TASK_RUNNING = "running"
TASK_SUCCEEDED = "succeeded"
TASK_FAILED = "failed"
TASK_CANCELLED = "cancelled"
TASK_INTERRUPTED = "interrupted"  # the workflow asked a question; a task cannot answer it
TASK_ACTIVE = (TASK_QUEUED, TASK_RUNNING)
TASK_ENDED = (TASK_SUCCEEDED, TASK_FAILED, TASK_CANCELLED, TASK_INTERRUPTED)

# How far the driver got, for recovery by another process.
STAGE_NEW = "new"  # nothing sent upstream yet
STAGE_SUBMITTING = "submitting"  # the async run request is in flight
STAGE_POLLING = "polling"  # Coze accepted an async run: execute_id known, poll its history
STAGE_STREAMING = "streaming"  # a streaming run held by the lease owner
STAGE_ENDED = "ended"

CALLBACK_PENDING = "pending"
CALLBACK_DELIVERED = "delivered"
CALLBACK_FAILED = "failed"


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("api_key_id", "idempotency_key", name="uq_tasks_key_idempotency"),
        Index("ix_tasks_user_created", "user_id", "created_at"),
        Index("ix_tasks_status_lease", "status", "lease_expires_at"),
        Index("ix_tasks_callback", "callback_state", "callback_next_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # task_<snowflake>
    run_id: Mapped[str] = mapped_column(String(40), index=True)  # the API's execution_id
    request_id: Mapped[str] = mapped_column(String(64))  # billing: the reservation's id
    user_id: Mapped[int] = mapped_column(BigInteger)
    api_key_id: Mapped[int | None] = mapped_column(BigInteger)
    key_name: Mapped[str | None] = mapped_column(String(128))
    group_ratio_ppm: Mapped[int] = mapped_column(Integer)
    price: Mapped[dict[str, Any]] = mapped_column(JSON)  # PriceSnapshot fields at submit
    model: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str | None] = mapped_column(Text)
    save_as_task: Mapped[bool] = mapped_column(Boolean, default=True)
    workflow_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="workflow")  # workflow | chatflow
    input_parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    message: Mapped[str | None] = mapped_column(Text)  # a chat flow's user message
    conversation_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(16), default=STAGE_NEW)
    mode: Mapped[str | None] = mapped_column(String(16))  # async | stream
    channel_id: Mapped[int | None] = mapped_column(BigInteger)
    channel_name: Mapped[str | None] = mapped_column(String(128))
    execute_id: Mapped[str | None] = mapped_column(String(64))
    logid: Mapped[str | None] = mapped_column(String(64))
    debug_url: Mapped[str | None] = mapped_column(Text)
    output: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[int | None] = mapped_column(BigInteger)
    interrupt: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    input_tokens: Mapped[int | None] = mapped_column(Integer)  # None: Coze reported none
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    cost: Mapped[int | None] = mapped_column(BigInteger)  # micros charged, once settled
    settled: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    polls: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    callback_url: Mapped[str | None] = mapped_column(Text)
    callback_secret: Mapped[str | None] = mapped_column(Text)  # encrypted (SecretBox)
    callback_state: Mapped[str | None] = mapped_column(String(16))
    callback_attempts: Mapped[int] = mapped_column(Integer, default=0)
    callback_next_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    callback_error: Mapped[str | None] = mapped_column(Text)
    last_event_id: Mapped[int] = mapped_column(Integer, default=0)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
