"""Coze error codes → OpenAI error objects and HTTP statuses.

Who is at fault decides the status. The gateway calls Coze with the *channel's* credentials,
so when Coze rejects those (4100, or the upstream account is out of credit) the client did
nothing wrong: that is a 502 ``upstream_error``, never a 401 — a 401 would make OpenAI SDKs
report "invalid API key" about the client's perfectly good gateway key. Gateway-side
failures (bad gateway key, unknown model) are built with the helpers in ``openai.py``.

Errors the client caused through its request (bad parameters, unknown or unpublished
workflow, unknown conversation) keep a 4xx so clients do not retry them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cozegate.protocol.openai import OpenAIError


@dataclass(frozen=True, slots=True)
class ErrorClass:
    status: int
    type: str
    code: str


_BAD_REQUEST = ErrorClass(400, "invalid_request_error", "invalid_request")
_NOT_FOUND = ErrorClass(404, "invalid_request_error", "workflow_not_found")
_RATE_LIMIT = ErrorClass(429, "rate_limit_error", "rate_limit_exceeded")
_UPSTREAM = ErrorClass(502, "upstream_error", "upstream_error")

# A tuple of pairs, not a dict, so there is no module-level mutable state to poke at.
_TABLE: tuple[tuple[int, ErrorClass], ...] = (
    (4000, _BAD_REQUEST),
    (4001, ErrorClass(404, "invalid_request_error", "conversation_not_found")),
    (4002, ErrorClass(404, "invalid_request_error", "conversation_not_found")),
    (4003, _BAD_REQUEST),
    (4004, _BAD_REQUEST),
    (4005, ErrorClass(404, "invalid_request_error", "message_not_found")),
    (4006, ErrorClass(404, "invalid_request_error", "message_not_found")),
    (4008, _RATE_LIMIT),
    (4009, _RATE_LIMIT),
    (4010, ErrorClass(400, "invalid_request_error", "context_length_exceeded")),
    # The upstream account (the operator's) ran out of credit or is overdue.
    (4011, ErrorClass(502, "upstream_error", "upstream_quota_exhausted")),
    (4028, ErrorClass(502, "upstream_error", "upstream_quota_exhausted")),
    (4019, ErrorClass(502, "upstream_error", "upstream_quota_exhausted")),
    (4027, ErrorClass(502, "upstream_error", "upstream_quota_exhausted")),
    (4012, _BAD_REQUEST),
    (4013, _RATE_LIMIT),
    (4015, ErrorClass(404, "invalid_request_error", "workflow_not_published")),
    (4016, ErrorClass(409, "invalid_request_error", "conversation_busy")),
    (4020, _RATE_LIMIT),
    # The channel's credential was rejected: the operator's problem, not the client's.
    (4100, ErrorClass(502, "upstream_error", "upstream_auth_failed")),
    # The channel's token cannot access this workflow: refuse the client with a 403.
    (4101, ErrorClass(403, "permission_error", "upstream_permission_denied")),
    (4200, _NOT_FOUND),
    (5000, _UPSTREAM),
    (6003, ErrorClass(502, "upstream_error", "upstream_feature_unavailable")),
    (6006, ErrorClass(504, "upstream_error", "upstream_timeout")),
    (6023, ErrorClass(504, "upstream_error", "upstream_timeout")),
    (6031, ErrorClass(404, "invalid_request_error", "workflow_not_published")),
    (6039, ErrorClass(502, "upstream_error", "upstream_interrupt_unsupported")),
)


def classify(coze_code: int | None) -> ErrorClass:
    """The OpenAI class of a Coze code. Codes below 1000 are HTTP statuses (non-JSON bodies)."""
    if coze_code is None:
        return _UPSTREAM
    for known, cls in _TABLE:
        if known == coze_code:
            return cls
    if 4300 <= coze_code <= 4304:
        return ErrorClass(400, "invalid_request_error", "invalid_file")
    if coze_code == 429:
        return _RATE_LIMIT
    if coze_code == 504:
        return ErrorClass(504, "upstream_error", "upstream_timeout")
    # Anything else (5xx proxies, 7xxxxxxxx workflow-engine codes, unknown 4xxx) is a failure
    # on Coze's side as far as the client can tell.
    return _UPSTREAM


def error_from_coze(
    coze_code: int | None,
    msg: str,
    *,
    logid: str | None = None,
    debug_url: str | None = None,
) -> OpenAIError:
    """Map a Coze error (envelope, ``Error`` event, failed chat) to an :class:`OpenAIError`."""
    cls = classify(coze_code)
    label = f"Coze error {coze_code}" if coze_code is not None else "Coze error"
    message = f"{label}: {msg}" if msg else label
    return OpenAIError(message, status_code=cls.status, type=cls.type, code=cls.code,
                       coze_code=coze_code, logid=logid, debug_url=debug_url)


def coerce_code(value: Any) -> int | None:
    """Coze sends codes as numbers or numeric strings (``"720702204"``); ``""`` means none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def upstream_protocol_error(message: str, *, debug_url: str | None = None) -> OpenAIError:
    """Coze broke the protocol (stream ended early, garbage payload)."""
    return OpenAIError(message, status_code=502, type="upstream_error",
                       code="upstream_protocol_error", debug_url=debug_url)


def upstream_unavailable(message: str, *, timeout: bool = False) -> OpenAIError:
    """Coze could not be reached (connect error, reset) or did not answer in time."""
    if timeout:
        return OpenAIError(message, status_code=504, type="upstream_error",
                           code="upstream_timeout")
    return OpenAIError(message, status_code=502, type="upstream_error",
                       code="upstream_unavailable")
