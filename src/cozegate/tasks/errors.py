"""Errors of the task API (rendered as ``{"error": {"code", "message"}}``, Surface.TASKS)."""

from __future__ import annotations

from cozegate.errors import CozegateError


class TaskNotFound(CozegateError):
    """No such task, or another user's (the same answer, so ids cannot be probed)."""

    status_code = 404
    code = "task_not_found"


class IdempotencyConflict(CozegateError):
    """The Idempotency-Key was used before with a different request body."""

    status_code = 409
    code = "idempotency_conflict"


class TaskAlreadyEnded(CozegateError):
    status_code = 409
    code = "task_already_ended"


class NoChannel(CozegateError):
    status_code = 503
    code = "no_channel"


class UnknownAccount(CozegateError):
    """``account_id`` names no enabled channel."""

    status_code = 404
    code = "account_not_found"


class UpstreamFailed(CozegateError):
    """Coze refused a metadata call (workspaces, workflows) or could not be reached."""

    status_code = 502
    code = "upstream_error"


class CallbackNotAllowed(CozegateError):
    status_code = 400
    code = "callback_not_allowed"
