"""The one error base every cozegate error derives from.

Each error knows its HTTP status and a stable machine code; the surfaces (OpenAI, Coze,
admin) render it in their own shape. Low-level errors (httpx, SQLAlchemy) are mapped to
this tree at the boundary where they happen, never passed upward raw.
"""

from __future__ import annotations

from typing import Any


class CozegateError(Exception):
    """Base of every error cozegate raises on purpose."""

    status_code: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, status_code: int | None = None, code: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = details or {}

    def __str__(self) -> str:
        return self.message


class ConfigError(CozegateError):
    """Settings are missing, malformed or refer to something that does not exist."""

    status_code = 500
    code = "config_error"
