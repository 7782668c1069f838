"""Coze wire models (pydantic v2), shaped by the wire spec and cozepy 0.20.0, but tolerant.

cozepy rejects a lot that a gateway must survive (an int where a string id was expected, an
unknown status). These models ignore extra keys, coerce ids to strings, and give enums an
``UNKNOWN`` member where Coze may add values; the exact wire object is kept in ``raw`` so a
gateway can relay what Coze said, not what we understood. Pure data: no I/O here.

This module holds the JSON endpoints' results and re-exports the building blocks
(:mod:`coze_base`) and the stream events (:mod:`coze_events`), so every Coze model can be
imported from here.
"""

from __future__ import annotations

from pydantic import Field

from cozegate.protocol.coze_base import (
    CozeModel,
    CozeResult,
    IdStr,
    InterruptData,
    IntLike,
    TolerantEnum,
    Usage,
)
from cozegate.protocol.coze_events import (
    Chat,
    ChatEvent,
    ChatEventType,
    ChatMessageInput,
    ChatStatus,
    LastError,
    Message,
    WorkflowEvent,
    WorkflowEventError,
    WorkflowEventInterrupt,
    WorkflowEventMessage,
    WorkflowEventType,
)


class ExecuteStatus(str, TolerantEnum):
    SUCCESS = "Success"
    RUNNING = "Running"
    FAIL = "Fail"
    UNKNOWN = "Unknown"


class RunMode(int, TolerantEnum):
    SYNC = 0
    STREAM = 1
    ASYNC = 2
    UNKNOWN = -1


class WorkflowRunResult(CozeResult):
    """``/v1/workflow/run`` and ``/v1/workflows/resume``: sync output, or an async execute id."""

    data: str | None = None
    execute_id: IdStr | None = None
    debug_url: str | None = None
    usage: Usage | None = None
    interrupt_data: InterruptData | None = None

    @property
    def is_async_accepted(self) -> bool:
        return self.data is None and bool(self.execute_id)


# --- run history -----------------------------------------------------------------------


class NodeExecuteStatus(CozeModel):
    node_id: IdStr = ""
    is_finish: bool = False
    update_time: IntLike | None = None
    node_execute_uuid: IdStr = ""
    loop_index: IntLike | None = None
    batch_index: IntLike | None = None
    sub_execute_id: IdStr | None = None


class RunHistory(CozeResult):
    """One run's record (``data[0]`` of the run-history answer, wire spec §2.5).

    ``logid`` here is the *execution's* log id, a field of the record; the log id of the
    history request itself is ``response_logid``.
    """

    execute_id: IdStr
    execute_status: ExecuteStatus
    bot_id: IdStr = ""
    connector_id: IdStr = ""
    connector_uid: IdStr = ""
    run_mode: RunMode = RunMode.UNKNOWN
    logid: str | None = None
    create_time: IntLike = 0
    update_time: IntLike = 0
    output: str = ""
    error_code: IntLike | None = 0
    error_message: str | None = None
    debug_url: str = ""
    usage: Usage | None = None
    is_output_trimmed: bool = False
    node_execute_status: dict[str, NodeExecuteStatus] | None = None
    interrupt_data: InterruptData | None = None
    response_logid: str | None = None


class NodeExecuteHistory(CozeResult):
    is_finish: bool = False
    node_output: str | None = None


# --- workflow metadata -----------------------------------------------------------------


class Creator(CozeModel):
    id: IdStr = ""
    name: str = ""


class WorkflowBasic(CozeModel):
    workflow_id: IdStr
    workflow_name: str = ""
    description: str = ""
    icon_url: str = ""
    app_id: IdStr = ""
    created_at: IntLike | None = None
    updated_at: IntLike | None = None
    creator: Creator | None = None


class WorkflowParameter(CozeModel):
    type: str = ""
    required: bool = False
    description: str | None = None
    default_value: str | None = None
    items: WorkflowParameter | None = None
    properties: dict[str, WorkflowParameter] | None = None


class WorkflowInput(CozeModel):
    parameters: dict[str, WorkflowParameter] = Field(default_factory=dict)


class WorkflowOutput(CozeModel):
    terminate_plan: str | None = None
    content: str | None = None
    parameters: dict[str, WorkflowParameter] = Field(default_factory=dict)


class WorkflowInfo(CozeResult):
    workflow_detail: WorkflowBasic
    input: WorkflowInput | None = None
    output: WorkflowOutput | None = None


class WorkflowList(CozeResult):
    items: list[WorkflowBasic] = Field(default_factory=list)
    has_more: bool = False


class WorkflowVersion(CozeModel):
    version: str
    description: str = ""
    created_at: IdStr = ""  # numeric strings on this endpoint, kept as sent
    updated_at: IdStr = ""
    workflow_id: IdStr = ""
    creator: Creator | None = None
    input: WorkflowInput | None = None
    output: WorkflowOutput | None = None


class WorkflowVersionList(CozeResult):
    items: list[WorkflowVersion] = Field(default_factory=list)
    has_more: bool = False
    next_page_token: IdStr | None = None


# --- workspaces ------------------------------------------------------------------------


class Workspace(CozeModel):
    id: IdStr
    name: str = ""
    icon_url: str = ""
    role_type: str = ""
    workspace_type: str = ""
    enterprise_id: IdStr = ""
    description: str | None = None
    owner_uid: IdStr | None = None
    joined_status: str | None = None


class WorkspaceList(CozeResult):
    workspaces: list[Workspace] = Field(default_factory=list)
    total_count: IntLike = 0


# --- conversations ---------------------------------------------------------------------


class Conversation(CozeResult):
    id: IdStr
    name: str | None = None
    created_at: IntLike = 0
    updated_at: IntLike | None = None
    meta_data: dict[str, str] = Field(default_factory=dict)
    last_section_id: IdStr | None = None
    creator_id: IdStr | None = None
    connector_id: IdStr | None = None


class MessageList(CozeResult):
    items: list[Message] = Field(default_factory=list)
    first_id: IdStr | None = None
    last_id: IdStr | None = None
    has_more: bool = False


__all__ = [
    "Chat",
    "ChatEvent",
    "ChatEventType",
    "ChatMessageInput",
    "ChatStatus",
    "Conversation",
    "CozeModel",
    "CozeResult",
    "Creator",
    "ExecuteStatus",
    "IdStr",
    "IntLike",
    "InterruptData",
    "LastError",
    "Message",
    "MessageList",
    "NodeExecuteHistory",
    "NodeExecuteStatus",
    "RunHistory",
    "RunMode",
    "TolerantEnum",
    "Usage",
    "WorkflowBasic",
    "WorkflowEvent",
    "WorkflowEventError",
    "WorkflowEventInterrupt",
    "WorkflowEventMessage",
    "WorkflowEventType",
    "WorkflowInfo",
    "WorkflowInput",
    "WorkflowList",
    "WorkflowOutput",
    "WorkflowParameter",
    "WorkflowRunResult",
    "WorkflowVersion",
    "WorkflowVersionList",
    "Workspace",
    "WorkspaceList",
]
