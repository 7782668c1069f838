"""Errors of the admin surface (rendered as ``{"error": {"code", "message"}}``)."""

from __future__ import annotations

from cozegate.errors import CozegateError


class AdminRequired(CozegateError):
    """A valid gateway key, but its user is not an admin."""

    status_code = 403
    code = "admin_required"


class InvalidRequest(CozegateError):
    """A request that passed validation but cannot be applied as given."""

    status_code = 400
    code = "invalid_request"
