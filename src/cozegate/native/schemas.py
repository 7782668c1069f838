"""Request bodies of the Coze-compatible endpoints, as cozepy 0.20.0 and Coze Plus send them.

Tolerant like Coze: unknown keys are ignored, ids may come as numbers, ``parameters`` may be
an object or a JSON string of one, and cozepy's explicit ``null`` fields are accepted.
A body that does not fit answers code 4000 (the surface's validation handler).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cozegate.native.errors import bad_request
from cozegate.protocol.coze_base import IdStr


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class RunBody(_Body):
    """``/v1/workflow/run`` and ``/v1/workflow/stream_run`` (``is_async`` only on the first)."""

    workflow_id: IdStr = Field(min_length=1)
    parameters: dict[str, Any] | str | None = None
    bot_id: IdStr | None = None
    app_id: IdStr | None = None
    ext: dict[str, Any] | None = None
    workflow_version: str | None = None
    connector_id: IdStr | None = None
    is_async: bool = False

    def inputs(self) -> dict[str, Any]:
        return parse_parameters(self.parameters)

    def options(self) -> dict[str, Any]:
        """The optional fields, as the Coze client's keyword arguments."""
        return {"bot_id": self.bot_id, "app_id": self.app_id, "ext": self.ext,
                "workflow_version": self.workflow_version, "connector_id": self.connector_id}


class ResumeBody(_Body):
    """``/v1/workflow/stream_resume`` and ``/v1/workflows/resume``."""

    workflow_id: IdStr = Field(min_length=1)
    event_id: str = Field(min_length=1)
    resume_data: str = ""
    interrupt_type: int

    @property
    def execute_id(self) -> str:
        """Coze's event ids are ``<execute_id>/<interrupt id>``."""
        return self.event_id.split("/", 1)[0]


class ChatBody(_Body):
    """``/v1/workflows/chat``: cozepy always sends ``additional_messages`` (nulls inside)."""

    workflow_id: IdStr = Field(min_length=1)
    additional_messages: list[dict[str, Any]] | None = None
    parameters: dict[str, Any] | str | None = None
    conversation_id: IdStr | None = None
    bot_id: IdStr | None = None
    app_id: IdStr | None = None
    ext: dict[str, Any] | None = None
    workflow_version: str | None = None
    connector_id: IdStr | None = None

    def inputs(self) -> dict[str, Any]:
        return parse_parameters(self.parameters)

    def messages(self) -> list[dict[str, Any]]:
        return list(self.additional_messages or [])

    def question(self) -> str:
        """The last user message's text (for the reservation estimate and the run record)."""
        for message in reversed(self.messages()):
            if message.get("role") == "user" and isinstance(message.get("content"), str):
                return message["content"]
        return ""


class ConversationCreateBody(_Body):
    messages: list[dict[str, Any]] | None = None
    bot_id: IdStr | None = None
    name: str | None = None
    connector_id: IdStr | None = None
    meta_data: dict[str, str] | None = None


class AppConversationCreateBody(_Body):
    """Coze Plus ``/v1/workflow/conversation/create`` (seed 001 and Coze Studio spellings)."""

    workflow_id: IdStr | None = None
    app_id: IdStr | None = None
    conversation_name: str | None = None
    get_or_create: bool = False
    metadata: dict[str, str] | None = None
    meta_data: dict[str, str] | None = None


class MessageListBody(_Body):
    order: str | None = "desc"
    chat_id: IdStr | None = None
    before_id: IdStr | None = None
    after_id: IdStr | None = None
    limit: int | None = Field(default=50, ge=1, le=50)


def parse_parameters(value: dict[str, Any] | str | None) -> dict[str, Any]:
    """Coze takes ``parameters`` as an object or as JSON text of one."""
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except ValueError:
        raise bad_request("parameters must be a JSON object or a JSON string of one") from None
    if not isinstance(parsed, dict):
        raise bad_request("parameters must be a JSON object or a JSON string of one")
    return parsed
