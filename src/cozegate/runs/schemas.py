"""Shapes of runs: what surfaces send to record one, filters, and what the API shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cozegate.kit.money import format_amount
from cozegate.models import Run

RunStatus = Literal["queued", "running", "interrupted", "succeeded", "failed", "cancelled"]
EndStatus = Literal["interrupted", "succeeded", "failed", "cancelled"]


class RunStart(BaseModel):
    """A run as it begins. ``status`` is ``running`` unless the call is only queued."""

    user_id: int
    api_key_id: int | None = None
    key_name: str | None = None
    surface: str = Field(max_length=16)  # openai | coze | task | cli | …
    workflow_id: str
    kind: Literal["workflow", "chatflow"] = "workflow"
    model: str | None = None
    inputs: dict[str, Any] | None = None
    request_id: str | None = None
    channel_id: int | None = None
    channel_name: str | None = None
    task_id: str | None = None
    stream: bool = False
    is_async: bool = False
    status: Literal["queued", "running"] = "running"
    conversation_id: str | None = None
    client_ip: str | None = None
    resume_count: int = 0


class RunUpdate(BaseModel):
    """Facts learnt while running; only the fields set are written (``model_fields_set``)."""

    status: Literal["queued", "running"] | None = None
    channel_id: int | None = None
    channel_name: str | None = None
    execute_id: str | None = None
    logid: str | None = None
    debug_url: str | None = None
    conversation_id: str | None = None
    is_async: bool | None = None
    stream: bool | None = None
    ttfb_ms: int | None = None


class RunFinish(BaseModel):
    """How a run (or a leg of it) ended.

    Usage and cost left ``None`` are copied from the usage log row of the run's
    ``request_id`` (written by ``Metering.finish``), so call this after billing settled.
    """

    status: EndStatus
    output: str | None = None
    error: str | None = None
    error_code: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    usage_estimated: bool | None = None
    cost: int | None = None
    execute_id: str | None = None
    logid: str | None = None
    debug_url: str | None = None
    conversation_id: str | None = None
    interrupt: dict[str, Any] | None = None
    ttfb_ms: int | None = None
    channel_id: int | None = None  # when the channel became known (or changed) on the way
    channel_name: str | None = None


class RunFilter(BaseModel):
    user_id: int | None = None
    api_key_id: int | None = None
    workflow_id: str | None = None
    execute_id: str | None = None
    task_id: str | None = None
    surface: str | None = None
    status: str | None = None
    channel_id: int | None = None
    since: datetime | None = None  # inclusive, on created_at
    until: datetime | None = None  # exclusive


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    status: str
    surface: str
    kind: str
    workflow_id: str
    model: str | None
    user_id: int
    api_key_id: int | None
    key_name: str | None
    channel_id: int | None
    channel_name: str | None
    task_id: str | None
    request_id: str | None
    stream: bool
    is_async: bool
    inputs: dict[str, Any] | None
    output: str | None
    error: str | None
    error_code: int | None
    usage: dict[str, Any]
    cost: str  # decimal text, exact (kit.money)
    cost_micros: int
    execute_id: str | None
    conversation_id: str | None
    logid: str | None
    debug_url: str | None
    interrupt: dict[str, Any] | None
    resume_count: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    ttfb_ms: int | None

    @classmethod
    def of(cls, run: Run) -> RunOut:
        values = {name: getattr(run, name) for name in cls.model_fields
                  if name not in ("usage", "cost", "cost_micros")}
        return cls(**values, cost=format_amount(run.cost), cost_micros=run.cost, usage={
            "input_tokens": run.input_tokens, "output_tokens": run.output_tokens,
            "total_tokens": run.input_tokens + run.output_tokens,
            "estimated": run.usage_estimated})


class RunPage(BaseModel):
    items: list[RunOut]
    total: int
    offset: int
    limit: int
