"""A persisted workflow or chat-flow run: one row per call that starts one, on every surface.

Coze keeps results 24 h (Output node) / 7 days (End node), trims outputs over 1 MB and has no
run listing; this row is cozegate's own copy, kept for ``run_retention_days``. The full
output is copied in when it arrives. Plain ids, no foreign keys: runs outlive deleted keys,
users and channels, like usage logs do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cozegate.models.base import Base, UTCDateTime, utcnow

# Status values (also the API's): a run starts queued or running and ends in one of the last
# four; ``interrupted`` ends a leg that waits for an answer (it may be resumed later).
RUN_QUEUED = "queued"
RUN_RUNNING = "running"
RUN_INTERRUPTED = "interrupted"
RUN_SUCCEEDED = "succeeded"
RUN_FAILED = "failed"
RUN_CANCELLED = "cancelled"
RUN_STATUSES = (RUN_QUEUED, RUN_RUNNING, RUN_INTERRUPTED, RUN_SUCCEEDED, RUN_FAILED,
                RUN_CANCELLED)
RUN_ACTIVE = (RUN_QUEUED, RUN_RUNNING)


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_user_created", "user_id", "created_at"),
        Index("ix_runs_workflow_execute", "workflow_id", "execute_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # run_<snowflake>
    # The gateway request id: links the reservation, the ledger and the usage log row.
    request_id: Mapped[str | None] = mapped_column(String(64), index=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    api_key_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    key_name: Mapped[str | None] = mapped_column(String(128))
    surface: Mapped[str] = mapped_column(String(16))  # openai | coze | task | cli | …
    kind: Mapped[str] = mapped_column(String(16), default="workflow")  # workflow | chatflow
    workflow_id: Mapped[str] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(255))
    channel_id: Mapped[int | None] = mapped_column(BigInteger)
    channel_name: Mapped[str | None] = mapped_column(String(128))
    task_id: Mapped[str | None] = mapped_column(String(40), index=True)
    stream: Mapped[bool] = mapped_column(Boolean, default=False)
    is_async: Mapped[bool] = mapped_column(Boolean, default=False)
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    # The whole output as Coze produced it (End node data, or the answer text of a chat flow).
    output: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[int | None] = mapped_column(BigInteger)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    usage_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    cost: Mapped[int] = mapped_column(BigInteger, default=0)  # micros actually charged
    execute_id: Mapped[str | None] = mapped_column(String(64))
    conversation_id: Mapped[str | None] = mapped_column(String(64))
    logid: Mapped[str | None] = mapped_column(String(64))
    debug_url: Mapped[str | None] = mapped_column(Text)
    # The question a run stopped on: {event_id, type, data, …}; cleared when it resumes.
    interrupt: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    resume_count: Mapped[int] = mapped_column(Integer, default=0)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    ttfb_ms: Mapped[int | None] = mapped_column(Integer)
