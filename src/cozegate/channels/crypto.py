"""Channel secrets at rest: Fernet, keyed from ``settings.secret_key``.

Where the key comes from (:func:`resolve_secret_key`):

1. ``COZEGATE_SECRET_KEY`` (``settings.secret_key``) when set. Placeholders ("changeme",
   "secret", ...) and keys shorter than 16 characters are refused: a guessable key
   decrypts every channel token.
2. Otherwise, the development default: a random key generated on first start
   (``secrets.token_urlsafe(32)``) and kept in a file created with mode 0600 —
   ``settings.secret_key_file``, or, for a SQLite database, ``<database file>.secret``
   next to it (``./cozegate.db`` → ``./cozegate.db.secret``). Back it up with the
   database: without it, channel secrets cannot be decrypted.
3. Otherwise (Postgres or in-memory SQLite with no key and no key file): refuse to start.

The Fernet key is derived with HKDF-SHA256, so any strong string works as a secret key.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.engine import make_url

from cozegate.channels.errors import SecretDecryptError
from cozegate.config import Settings
from cozegate.errors import ConfigError

MIN_SECRET_KEY_LENGTH = 16
PLACEHOLDER_KEYS = frozenset(
    {
        "changeme",
        "change-me",
        "change_me",
        "changethis",
        "change-this",
        "secret",
        "secret-key",
        "secret_key",
        "your-secret-key",
        "please-change-me",
        "dev",
        "development",
        "test",
        "password",
    }
)
_HKDF_INFO = b"cozegate channel secrets v1"


def check_secret_key(key: str) -> str:
    key = key.strip()
    if key.lower() in PLACEHOLDER_KEYS or len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(
            "COZEGATE_SECRET_KEY is a placeholder or shorter than "
            f"{MIN_SECRET_KEY_LENGTH} characters; generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return key


def dev_key_path(settings: Settings) -> Path | None:
    """Where the generated development key lives, or None when there is no such place."""
    if settings.secret_key_file:
        return Path(settings.secret_key_file)
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    database = Path(url.database)
    return database.with_name(database.name + ".secret")


def resolve_secret_key(settings: Settings) -> str:
    """The secret key to use (see the module docstring); raises ConfigError if none."""
    if settings.secret_key is not None:
        return check_secret_key(settings.secret_key)
    path = dev_key_path(settings)
    if path is None:
        raise ConfigError(
            "COZEGATE_SECRET_KEY must be set when the database is not a local SQLite file "
            "(it encrypts channel secrets)"
        )
    return load_or_create_key_file(path)


def load_or_create_key_file(path: Path) -> str:
    """Read the key file, creating it (mode 0600, exclusive create) on first use."""
    if not path.exists():
        key = secrets.token_urlsafe(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process won the race; read its key below
        else:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(key + "\n")
            return key
    try:
        return check_secret_key(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the secret key file {path}: {exc}") from exc


class SecretBox:
    """Encrypts and decrypts short secrets (tokens, private keys) with one Fernet key."""

    def __init__(self, secret_key: str) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            check_secret_key(secret_key).encode("utf-8")
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        return cls(resolve_secret_key(settings))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError) as exc:
            raise SecretDecryptError(
                "a channel secret cannot be decrypted: was COZEGATE_SECRET_KEY changed?"
            ) from exc
