"""What the workflow and chat-flow stream converters share: context, items, chunk building.

A converter is fed one Coze event at a time (``feed(event_name, data)``) and returns a list
of :data:`StreamItem`:

* ``dict``          — a ``chat.completion.chunk``, ready for ``data: <json>``;
* :class:`KeepAlive` — Coze sent a heartbeat; the HTTP layer may write an SSE comment;
* :class:`StreamError` — the run failed; send ``error.body()`` as the last payload, then
  ``data: [DONE]`` (or answer with ``error.status_code`` if nothing was sent yet).

After the upstream stream ends, ``finish()`` returns the items still owed (an error if Coze
stopped without a terminal event). ``result`` holds what billing and logging need (content,
usage, ids, interrupt, error) whether or not the chunks were sent anywhere; ``completion()``
turns it into a non-stream ``chat.completion``.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from cozegate.protocol.error_map import upstream_protocol_error
from cozegate.protocol.openai import ChatCompletionRequest, OpenAIError, OutputMode


@dataclass(frozen=True, slots=True)
class StreamContext:
    """Per-request constants stamped on every chunk."""

    completion_id: str
    model: str
    created: int
    include_usage: bool = False
    output_mode: OutputMode = "text"
    # The gateway's id for a workflow session: handed to the client as ``conversation_id``
    # when the run stops at a question, so the answer can find the run again.
    session_id: str | None = None

    @classmethod
    def for_request(cls, request: ChatCompletionRequest, *, completion_id: str | None = None,
                    created: int | None = None, session_id: str | None = None
                    ) -> StreamContext:
        return cls(
            completion_id=completion_id or new_completion_id(),
            model=request.model,
            created=int(time.time()) if created is None else created,
            include_usage=request.include_usage,
            output_mode=request.coze_output,
            session_id=session_id,
        )


_IDS = random.Random()


def new_completion_id() -> str:
    # Unique, not secret: a seeded PRNG (os.urandom costs ~70 us per call on some VMs).
    return f"chatcmpl-{_IDS.getrandbits(96):024x}"


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """Coze sent a heartbeat (``PING``); nothing for the client but a keep-alive comment."""


@dataclass(frozen=True, slots=True)
class StreamError:
    """The run failed; ``error`` renders the OpenAI error payload and the HTTP status."""

    error: OpenAIError

    def payload(self) -> dict[str, Any]:
        return self.error.body()


StreamItem = dict[str, Any] | KeepAlive | StreamError


class CozeEventLike(Protocol):
    """Anything with an event name and a decoded payload (the Coze client's event objects)."""

    @property
    def event(self) -> str: ...

    @property
    def payload(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class CozeUsage:
    """Token usage as Coze reported it (``input_count``/``output_count``/``token_count``)."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def from_coze(cls, value: Any) -> CozeUsage | None:
        """``None`` when ``value`` is not a usage object (so "not reported" stays visible)."""
        if not isinstance(value, dict):
            return None
        inp, out = _count(value.get("input_count")), _count(value.get("output_count"))
        total = _count(value.get("token_count")) or inp + out
        return cls(inp, out, total)

    def merged_max(self, other: CozeUsage | None) -> CozeUsage:
        """Field-wise maximum: Coze's per-message usage is cumulative within a run."""
        if other is None:
            return self
        return CozeUsage(max(self.input_tokens, other.input_tokens),
                         max(self.output_tokens, other.output_tokens),
                         max(self.total_tokens, other.total_tokens))

    def as_openai(self) -> dict[str, int]:
        return {"prompt_tokens": self.input_tokens, "completion_tokens": self.output_tokens,
                "total_tokens": self.total_tokens}


def _count(value: Any) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


@dataclass(slots=True)
class StreamResult:
    """Everything learned from one Coze run, for the completion, billing and the usage log."""

    parts: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    usage: CozeUsage | None = None
    execute_id: str | None = None
    debug_url: str | None = None
    logid: str | None = None
    conversation_id: str | None = None
    chat_id: str | None = None
    interrupt: dict[str, Any] | None = None
    follow_ups: list[str] = field(default_factory=list)
    error: OpenAIError | None = None

    @property
    def content(self) -> str:
        return "".join(self.parts)

    @property
    def usage_missing(self) -> bool:
        """Coze reported no usage at all; usage is then sent as zeros and flagged."""
        return self.usage is None


class StreamConverter:
    """Base of the workflow and chat-flow converters; subclasses implement ``_handle``."""

    def __init__(self, context: StreamContext) -> None:
        self.context = context
        self.result = StreamResult()
        self.closed = False  # a terminal event was handled; later events only add metadata
        self._role_sent = False

    # -- public API ------------------------------------------------------------------

    def feed(self, event: str, data: Any) -> list[StreamItem]:
        """Handle one Coze event (name, decoded JSON payload) and return what to send."""
        if self.closed:
            self._after_close(event, data if isinstance(data, dict) else {})
            return []
        return self._handle(event, data if isinstance(data, dict) else {})

    def feed_event(self, event: CozeEventLike) -> list[StreamItem]:
        return self.feed(event.event, event.payload)

    def set_logid(self, logid: str | None) -> None:
        """The upstream response's ``X-Tt-Logid``, attached to errors and the result."""
        self.result.logid = logid or None

    def finish(self) -> list[StreamItem]:
        """The upstream stream ended: items still owed (an error if no terminal event came)."""
        if self.closed:
            return []
        return self._fail(upstream_protocol_error(
            "The Coze stream ended before the run finished.", debug_url=self.result.debug_url))

    def fail(self, error: OpenAIError) -> list[StreamItem]:
        """The upstream broke off (transport error mid-stream): end the run with ``error``."""
        if self.closed:
            return []
        return self._fail(error)

    def completion(self) -> dict[str, Any]:
        """The non-stream ``chat.completion``; raises the run's :class:`OpenAIError` on failure."""
        if not self.closed:
            self.finish()
        if self.result.error is not None:
            raise self.result.error
        result = self.result
        body: dict[str, Any] = {
            "id": self.context.completion_id,
            "object": "chat.completion",
            "created": self.context.created,
            "model": self.context.model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": result.content},
                "logprobs": None,
                "finish_reason": result.finish_reason or "stop",
            }],
            "usage": self._usage_dict(),
        }
        body.update(self._extensions())
        return body

    # -- for subclasses --------------------------------------------------------------

    def _handle(self, event: str, data: dict[str, Any]) -> list[StreamItem]:
        raise NotImplementedError

    def _after_close(self, event: str, data: dict[str, Any]) -> None:
        """Late events (e.g. ``Done`` after ``Interrupt``) may still carry a debug_url."""

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        if not self._role_sent:
            delta = {"role": "assistant", **delta}
            self._role_sent = True
        chunk: dict[str, Any] = {
            "id": self.context.completion_id,
            "object": "chat.completion.chunk",
            "created": self.context.created,
            "model": self.context.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None,
                         "finish_reason": finish_reason}],
        }
        if self.context.include_usage:
            chunk["usage"] = None  # OpenAI: null on every chunk but the usage chunk
        if self.result.conversation_id:
            chunk["conversation_id"] = self.result.conversation_id
        return chunk

    def _content(self, text: str) -> list[StreamItem]:
        if not text:
            return []
        self.result.parts.append(text)
        return [self._chunk({"content": text})]

    def _final(self, finish_reason: str = "stop") -> list[StreamItem]:
        """The finish chunk (with the extension fields) and, if asked for, the usage chunk."""
        self.closed = True
        self.result.finish_reason = finish_reason
        last = self._chunk({}, finish_reason)
        last.update(self._extensions())
        items: list[StreamItem] = [last]
        if self.context.include_usage:
            usage_chunk = self._chunk({})
            usage_chunk["choices"] = []
            usage_chunk["usage"] = self._usage_dict()
            items.append(usage_chunk)
        return items

    def _fail(self, error: OpenAIError) -> list[StreamItem]:
        self.closed = True
        if error.logid is None:
            error.logid = self.result.logid
        if error.debug_url is None:
            error.debug_url = self.result.debug_url
        self.result.error = error
        return [StreamError(error)]

    def _usage_dict(self) -> dict[str, int]:
        return (self.result.usage or CozeUsage()).as_openai()

    def _extensions(self) -> dict[str, Any]:
        result = self.result
        ext: dict[str, Any] = {}
        if result.execute_id:
            ext["coze_execute_id"] = result.execute_id
        if result.debug_url:
            ext["coze_debug_url"] = result.debug_url
        if result.interrupt is not None:
            ext["coze_interrupt"] = result.interrupt
        if result.usage_missing:
            ext["coze_usage_missing"] = True
        if result.follow_ups:
            ext["coze_follow_ups"] = list(result.follow_ups)
        if result.conversation_id:
            ext["conversation_id"] = result.conversation_id
        return ext
