"""Raw gateway keys: generation, hashing, the non-secret hint."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "sk-"
KEY_BODY_LENGTH = 48
HINT_LENGTH = 4


def generate_key() -> str:
    """``sk-`` + 48 URL-safe characters (36 random bytes = 288 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(36)


def hash_key(raw_key: str) -> str:
    """SHA-256 hex digest. A fast hash is right here: the key has 288 random bits, so
    there is nothing to brute-force, and auth runs on every request."""
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def key_hint(raw_key: str) -> str:
    """The last four characters: enough to tell keys apart, never a prefix of the secret."""
    return raw_key[-HINT_LENGTH:]


def looks_like_key(raw_key: str) -> bool:
    return raw_key.startswith(KEY_PREFIX) and len(raw_key) == len(KEY_PREFIX) + KEY_BODY_LENGTH
