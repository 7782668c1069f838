"""The scripted catalog: workspaces and the nine sample workflows / chat flows.

Ids and names are a contract (docs/CONTRACTS.md): other packages and their tests rely on
them. Behaviour lives in :mod:`cozegate.emulator.scripts`; this module only declares what
each entry is and which inputs it takes, and validates inputs the way Coze does (code 4000).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from cozegate.emulator.wire import CozeError

WORKSPACE_PERSONAL = "7500000000000000001"
WORKSPACE_TEAM = "7500000000000000002"

ECHO = "7500000000000001001"
STORY = "7500000000000001002"
ASK_CITY = "7500000000000001003"
ALWAYS_FAIL = "7500000000000001004"
SLOW_JOB = "7500000000000001005"
DRAFT_ONLY = "7500000000000001006"
CHAT_MEMORY = "7500000000000001007"
CHAT_ASK = "7500000000000001008"
ASSISTANT = "7500000000000001009"

CREATED_AT = 1_740_000_000  # fixed so metadata answers are byte-stable between runs
CREATOR = {"id": "3361000000000001", "name": "sandbox"}
ICON_URL = "https://lf-coze-web-cdn.coze.cn/obj/coze-web-cn/workflow/icon.png"


@dataclass(frozen=True, slots=True)
class Param:
    type: str
    required: bool = False
    description: str = ""
    default: str | None = None

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "required": self.required,
                               "description": self.description}
        if self.default is not None:
            out["default_value"] = self.default
        return out


@dataclass(frozen=True, slots=True)
class Workspace:
    id: str
    name: str
    workspace_type: str
    role_type: str = "owner"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "icon_url": ICON_URL,
            "role_type": self.role_type, "workspace_type": self.workspace_type,
            "enterprise_id": "", "owner_uid": CREATOR["id"], "admin_uids": [],
            "description": f"{self.name} workspace of the cozegate emulator",
            "joined_status": "joined",
        }


@dataclass(frozen=True, slots=True)
class WorkflowSpec:
    id: str
    name: str
    mode: str  # "workflow" | "chatflow"
    description: str
    inputs: dict[str, Param] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=lambda: {"output": "string"})
    published: bool = True
    workspace_id: str = WORKSPACE_PERSONAL

    @property
    def is_chatflow(self) -> bool:
        return self.mode == "chatflow"

    def basic(self) -> dict[str, Any]:
        return {
            "workflow_id": self.id, "workflow_name": self.name, "description": self.description,
            "icon_url": ICON_URL, "app_id": "0", "created_at": CREATED_AT,
            "updated_at": CREATED_AT + 500, "creator": dict(CREATOR),
        }

    def io_schema(self) -> dict[str, Any]:
        return {
            "input": {"parameters": {name: p.schema() for name, p in self.inputs.items()}},
            "output": {"terminate_plan": "return_variables",
                       "parameters": {name: {"type": t} for name, t in self.outputs.items()}},
        }

    def versions(self) -> list[dict[str, Any]]:
        if not self.published:
            return []
        return [{
            "version": "v0.0.1", "description": "first release",
            "created_at": str(CREATED_AT + 500), "updated_at": str(CREATED_AT + 500),
            "workflow_id": self.id, "creator": dict(CREATOR), **self.io_schema(),
        }]


WORKSPACES: tuple[Workspace, ...] = (
    Workspace(WORKSPACE_PERSONAL, "Sandbox", "personal"),
    Workspace(WORKSPACE_TEAM, "Team Demo", "team", role_type="admin"),
)

WORKFLOWS: Mapping[str, WorkflowSpec] = MappingProxyType({spec.id: spec for spec in (
    WorkflowSpec(ECHO, "echo", "workflow", "Returns its inputs as output JSON",
                 {"input": Param("string", True, "any text")}, outputs={}),
    WorkflowSpec(STORY, "story", "workflow", "Streams a story in chunks",
                 {"topic": Param("string", True, "what the story is about"),
                  "chunks": Param("integer", False, "number of streamed pieces", "5")}),
    WorkflowSpec(ASK_CITY, "ask_city", "workflow", "Asks which city, then answers (question node)",
                 {}),
    WorkflowSpec(ALWAYS_FAIL, "always_fail", "workflow", "Always fails with a workflow error",
                 {"input": Param("string", False, "ignored")}),
    WorkflowSpec(SLOW_JOB, "slow_job", "workflow", "Runs for `seconds`, then succeeds",
                 {"seconds": Param("number", False, "how long to run", "1")},
                 workspace_id=WORKSPACE_TEAM),
    WorkflowSpec(DRAFT_ONLY, "draft_only", "workflow", "Never published: every run answers 4200",
                 {"input": Param("string", False, "ignored")}, published=False,
                 workspace_id=WORKSPACE_TEAM),
    WorkflowSpec(CHAT_MEMORY, "chat_memory", "chatflow",
                 "Chat flow that remembers the conversation", {}),
    WorkflowSpec(CHAT_ASK, "chat_ask", "chatflow", "Asks your name before answering", {}),
    # Takes the user's message as BOT_USER_INPUT, like the workflows behind OpenAI-style
    # gateways do: the target of the seed's `model: "coze-workflow"` examples.
    WorkflowSpec(ASSISTANT, "assistant", "workflow", "Streams a reply to BOT_USER_INPUT",
                 {"BOT_USER_INPUT": Param("string", True, "the user's message")}),
)})


def parse_parameters(raw: Any) -> dict[str, Any]:
    """``parameters`` arrive as an object or as a JSON string (spec §2.1); None means none."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise CozeError(4000, f"parameters is not valid JSON: {exc.msg}") from exc
    if not isinstance(raw, dict):
        raise CozeError(4000, "parameters must be a JSON object")
    return raw


def validate_inputs(spec: WorkflowSpec, params: dict[str, Any]) -> dict[str, Any]:
    """Check required inputs and types; return the parameters with defaults applied."""
    out = dict(params)
    for name, param in spec.inputs.items():
        value = out.get(name)
        if value is None:
            if param.required:
                raise CozeError(4000, f"Request parameter error: missing required input '{name}'")
            if param.default is not None:
                out[name] = _coerce(name, param, param.default)
            continue
        out[name] = _coerce(name, param, value)
    return out


def _coerce(name: str, param: Param, value: Any) -> Any:
    """Coze converts numeric strings for number inputs; anything else of the wrong type is 4000."""
    bad = CozeError(4000, f"Request parameter error: input '{name}' must be of type {param.type}")
    if param.type == "string":
        if not isinstance(value, str):
            raise bad
        return value
    if isinstance(value, bool):
        raise bad
    if isinstance(value, str):
        try:
            value = float(value) if param.type == "number" else int(value)
        except ValueError:
            raise bad from None
    if param.type == "integer":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise bad
        return value
    if not isinstance(value, int | float):
        raise bad
    return value


def get_workflow(workflow_id: Any) -> WorkflowSpec:
    spec = WORKFLOWS.get(str(workflow_id)) if workflow_id else None
    if spec is None:
        raise CozeError(4200, f"workflow {workflow_id!r} not found")
    return spec
