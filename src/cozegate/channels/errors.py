"""Errors of the channels domain."""

from __future__ import annotations

from cozegate.errors import CozegateError


class ChannelNotFound(CozegateError):
    status_code = 404
    code = "channel_not_found"


class ChannelNameTaken(CozegateError):
    status_code = 409
    code = "channel_name_taken"


class NoChannelAvailable(CozegateError):
    """No enabled channel serves the requested workflow/model."""

    status_code = 503
    code = "no_channel_available"


class SecretDecryptError(CozegateError):
    """A stored secret does not decrypt: the secret key changed since it was written."""

    status_code = 500
    code = "secret_decrypt_error"
