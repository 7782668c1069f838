"""Shapes of the task API (seed 004: same paths, same field names)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from cozegate.kit.money import format_amount
from cozegate.models import Task
from cozegate.models.task import TASK_CANCELLED, TASK_FAILED, TASK_INTERRUPTED, TASK_SUCCEEDED

# Seed 004's two status fields: ``status`` of the task, ``execution_status`` of its run.
_TASK_STATUS = {"queued": "pending", "running": "executing", TASK_SUCCEEDED: "completed",
                TASK_FAILED: "failed", TASK_INTERRUPTED: "failed",
                TASK_CANCELLED: "cancelled"}
_EXECUTION_STATUS = {"queued": "pending", "running": "running", TASK_SUCCEEDED: "success",
                     TASK_FAILED: "failed", TASK_INTERRUPTED: "interrupted",
                     TASK_CANCELLED: "cancelled"}


class TaskCreate(BaseModel):
    """``POST /api/coze/tasks/execute``. The seed's fields, plus optional extensions."""

    workflow_id: str = Field(min_length=1, max_length=64)
    input_parameters: dict[str, Any] = Field(default_factory=dict)
    save_as_task: bool = True
    task_name: str | None = Field(default=None, max_length=255)
    task_description: str | None = None
    # Extensions: chat flows, callbacks.
    workflow_type: Literal["workflow", "chatflow"] = "workflow"
    message: str | None = Field(default=None, description="chat flows: the user's message "
                                "(default: input_parameters.BOT_USER_INPUT)")
    conversation_id: str | None = None
    callback_url: str | None = Field(default=None, max_length=2048)
    callback_secret: str | None = Field(default=None, min_length=16, max_length=256)

    @field_validator("callback_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("callback_url must be an http:// or https:// URL")
        return value

    def fingerprint(self) -> str:
        """Hash of the body as parsed: the same request sent twice has the same one."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True,
                               ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class TaskSubmitted(BaseModel):
    task_id: str
    execution_id: str  # the task's run id (GET /api/runs/{id})
    status: str  # execution_status at the time of the answer
    message: str
    callback_secret: str | None = None  # only when the gateway generated it: shown once


class TaskOut(BaseModel):
    id: str
    name: str
    description: str | None
    status: str
    execution_status: str
    workflow_id: str
    workflow_type: str
    input_parameters: dict[str, Any]
    output_data: Any
    output: str | None
    error: str | None
    error_code: int | None
    interrupt: dict[str, Any] | None
    execution_id: str
    execute_id: str | None
    debug_url: str | None
    logid: str | None
    mode: str | None
    channel: str | None
    conversation_id: str | None
    usage: dict[str, Any] | None
    cost: str | None
    save_as_task: bool
    callback_url: str | None
    callback_status: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, task: Task) -> TaskOut:
        usage = None
        if task.input_tokens is not None or task.output_tokens is not None:
            usage = {"input_tokens": task.input_tokens or 0,
                     "output_tokens": task.output_tokens or 0,
                     "total_tokens": (task.input_tokens or 0) + (task.output_tokens or 0)}
        return cls(
            id=task.id, name=task.name, description=task.description,
            status=_TASK_STATUS.get(task.status, task.status),
            execution_status=_EXECUTION_STATUS.get(task.status, task.status),
            workflow_id=task.workflow_id, workflow_type=task.kind,
            input_parameters=task.input_parameters, output_data=output_data(task.output),
            output=task.output, error=task.error, error_code=task.error_code,
            interrupt=task.interrupt, execution_id=task.run_id, execute_id=task.execute_id,
            debug_url=task.debug_url, logid=task.logid, mode=task.mode,
            channel=task.channel_name, conversation_id=task.conversation_id, usage=usage,
            cost=None if task.cost is None else format_amount(task.cost),
            save_as_task=task.save_as_task, callback_url=task.callback_url,
            callback_status=task.callback_state, created_at=task.created_at,
            started_at=task.started_at, finished_at=task.finished_at,
            updated_at=task.updated_at)


class TaskList(BaseModel):
    success: bool = True
    tasks: list[TaskOut]
    count: int
    total: int
    offset: int
    limit: int


def output_data(output: str | None) -> Any:
    """The output as JSON when it is JSON (Coze's End node data usually is), else the text."""
    if output is None:
        return None
    try:
        return json.loads(output)
    except ValueError:
        return output


def external_status(status: str) -> str:
    """The seed's ``execution_status`` word for a task status."""
    return _EXECUTION_STATUS.get(status, status)


def task_status(status: str) -> str:
    """The seed's ``status`` word (pending, executing, completed, failed, cancelled)."""
    return _TASK_STATUS.get(status, status)
