"""Why a key was refused. Each reason has its own class, status and stable code."""

from __future__ import annotations

from cozegate.errors import CozegateError


class ApiKeyError(CozegateError):
    """Base of key refusals."""

    status_code = 401
    code = "key_error"


class InvalidApiKey(ApiKeyError):
    status_code = 401
    code = "invalid_api_key"


class KeyExpired(ApiKeyError):
    status_code = 401
    code = "key_expired"


class KeyDisabled(ApiKeyError):
    status_code = 403
    code = "key_disabled"


class UserDisabled(ApiKeyError):
    status_code = 403
    code = "user_disabled"


class IpNotAllowed(ApiKeyError):
    status_code = 403
    code = "ip_not_allowed"


class ModelNotAllowed(ApiKeyError):
    status_code = 403
    code = "model_not_allowed"


class KeyQuotaExceeded(ApiKeyError):
    status_code = 429
    code = "key_quota_exceeded"


class KeyNotFound(CozegateError):
    status_code = 404
    code = "key_not_found"
