"""Sandbox credentials: public, documented, for tests and demos. SANDBOX ONLY - NOT SECRETS.

An emulator with ``sandbox=True`` (the default) accepts the PAT ``pat_sandbox`` and JWTs of
the sandbox OAuth app, whose RSA key pair ships in ``sandbox_keys/`` on purpose.
"""

from __future__ import annotations

from importlib import resources

SANDBOX_TOKEN = "pat_sandbox"
SANDBOX_OAUTH_APP_ID = "1100000000001"
SANDBOX_OAUTH_KEY_ID = "sandbox_key_not_a_secret"


def _read_key(name: str) -> str:
    return resources.files("cozegate.emulator").joinpath("sandbox_keys", name).read_text("utf-8")


def sandbox_private_key() -> str:
    """PEM of the sandbox app's private key (published test key, not a secret)."""
    return _read_key("sandbox_private_key.pem")


def sandbox_public_key() -> str:
    """PEM of the sandbox app's public key."""
    return _read_key("sandbox_public_key.pem")
