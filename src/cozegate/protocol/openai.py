"""OpenAI chat-completions wire shapes, as cozegate accepts and produces them.

The request model accepts every OpenAI field (unknown ones are kept and ignored, so new SDK
versions never break) plus cozegate's extensions:

* ``workflow_id``          — the target when ``model`` is the generic ``coze-workflow`` /
  ``coze-chatflow`` (the seed's form; OpenAI SDKs send it through ``extra_body``);
* ``workflow_parameters``  — extra start-node inputs (workflow) / ``parameters`` (chat flow);
* ``conversation_id``      — continue a Coze chat-flow conversation;
* ``coze_output``          — ``"text"`` (default, rendered) or ``"raw"`` (End output verbatim);
* ``coze_resume``          — answer a pending workflow interrupt: pass back the
  ``coze_interrupt`` marker of the previous response (``event_id`` and ``type`` are read).

Responses are plain dicts built by the stream converters (speed, and exact control over which
keys are present); the pydantic response models here document the shape (OpenAPI) and are
what tests validate against, next to the official SDK types.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cozegate.errors import CozegateError

OutputMode = Literal["text", "raw"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]


# --- request ---------------------------------------------------------------------------


class ContentPart(BaseModel):
    """One element of an array ``content``: ``text``, ``image_url``, ``input_audio``, ..."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    """An input message. ``content`` may be a string, an array of parts, or null."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[ContentPart] | None = None
    name: str | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ResumeRef(BaseModel):
    """What a client echoes back to answer an interrupt: the ``coze_interrupt`` marker."""

    model_config = ConfigDict(extra="allow")

    event_id: str
    type: int


class ChatCompletionRequest(BaseModel):
    """``POST /v1/chat/completions`` body: OpenAI fields plus cozegate extensions."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int | None = None
    user: str | None = None
    # Sampling fields are accepted for compatibility; a workflow has no use for them.
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    stop: str | list[str] | None = None

    workflow_id: str | None = None
    workflow_parameters: dict[str, Any] | None = None
    conversation_id: str | None = None
    coze_output: OutputMode = "text"
    coze_resume: ResumeRef | None = None

    @field_validator("workflow_id", "conversation_id", mode="before")
    @classmethod
    def _id_to_str(cls, value: Any) -> Any:
        # JavaScript clients send snowflake ids as numbers more often than one would hope.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


# --- responses (documentation / validation; converters emit dicts of this shape) -------


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class InterruptMarker(BaseModel):
    """``coze_interrupt``: the run is waiting for the user's answer (see docs/openai-mapping)."""

    model_config = ConfigDict(extra="allow")

    kind: Literal["workflow", "chatflow"]
    event_id: str | None = None
    type: int | None = None
    node_title: str | None = None
    data: str | None = None
    execute_id: str | None = None
    conversation_id: str | None = None
    chat_id: str | None = None


class _Extensions(BaseModel):
    """cozegate's extension fields, present on completions and on final chunks."""

    coze_execute_id: str | None = None
    coze_debug_url: str | None = None
    coze_interrupt: InterruptMarker | None = None
    coze_usage_missing: bool | None = None
    coze_follow_ups: list[str] | None = None
    conversation_id: str | None = None


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None = None


class CompletionChoice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: FinishReason


class ChatCompletion(_Extensions):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Usage


class ChunkDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: ChunkDelta
    finish_reason: FinishReason | None = None


class ChatCompletionChunk(_Extensions):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "cozegate"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


def model_list(cards: Iterable[ModelCard]) -> dict[str, Any]:
    """The ``GET /v1/models`` body."""
    return ModelList(data=list(cards)).model_dump()


# --- errors ----------------------------------------------------------------------------


class OpenAIError(CozegateError):
    """An error rendered as OpenAI's ``{"error": {message, type, param, code}}``.

    ``status_code`` is the HTTP status to answer with (before any byte was streamed; after
    that the body goes out as a final SSE payload). ``coze_code``, ``logid`` and
    ``debug_url`` are added to the error object when known, so users can trace the run.
    Everything lives in ``details`` under the keys ``cozegate.surfaces`` reads
    (``openai_type``, ``param``, ``coze_code``, ``logid``, ``debug_url``), so raising this
    error through the app's handlers renders the same body as :meth:`body`.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        type: str,
        code: str,
        param: str | None = None,
        coze_code: int | None = None,
        logid: str | None = None,
        debug_url: str | None = None,
    ) -> None:
        details: dict[str, Any] = {"openai_type": type, "param": param, "coze_code": coze_code,
                                   "logid": logid, "debug_url": debug_url}
        super().__init__(message, status_code=status_code, code=code, details=details)

    @property
    def type(self) -> str:
        return str(self.details["openai_type"])

    @property
    def openai_code(self) -> str:
        return self.code

    @property
    def param(self) -> str | None:
        return self.details.get("param")

    @property
    def coze_code(self) -> int | None:
        return self.details.get("coze_code")

    @property
    def logid(self) -> str | None:
        return self.details.get("logid")

    @logid.setter
    def logid(self, value: str | None) -> None:
        self.details["logid"] = value

    @property
    def debug_url(self) -> str | None:
        return self.details.get("debug_url")

    @debug_url.setter
    def debug_url(self, value: str | None) -> None:
        self.details["debug_url"] = value

    def body(self) -> dict[str, Any]:
        return error_body(self.message, type=self.type, param=self.param, code=self.code,
                          coze_code=self.coze_code, logid=self.logid, debug_url=self.debug_url)

    def __repr__(self) -> str:
        return (f"OpenAIError({self.status_code}, {self.type!r}, {self.code!r}, "
                f"{self.message!r})")


def error_body(
    message: str,
    *,
    type: str,
    param: str | None = None,
    code: str | None = None,
    coze_code: int | None = None,
    logid: str | None = None,
    debug_url: str | None = None,
) -> dict[str, Any]:
    """Build ``{"error": {...}}``; the four OpenAI keys are always present (null if unknown)."""
    error: dict[str, Any] = {"message": message, "type": type, "param": param, "code": code}
    if coze_code is not None:
        error["coze_code"] = coze_code
    if logid:
        error["logid"] = logid
    if debug_url:
        error["debug_url"] = debug_url
    return {"error": error}


def invalid_request(message: str, *, param: str | None = None,
                    code: str = "invalid_request") -> OpenAIError:
    """A 400 caused by the client's request (gateway-side check)."""
    return OpenAIError(message, status_code=400, type="invalid_request_error", param=param,
                       code=code)


def model_not_found(model: str) -> OpenAIError:
    return OpenAIError(f"The model `{model}` does not exist or you do not have access to it.",
                       status_code=404, type="invalid_request_error", param="model",
                       code="model_not_found")
