"""Channel secrets at rest: PyNaCl's SecretBox (XSalsa20-Poly1305), keyed from
``settings.secret_key``.

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

The box key is derived from the secret key with BLAKE2b (personalised for this use), so any
strong string works as a secret key. Sealed values read ``v2.<urlsafe base64 of nonce +
ciphertext>``.

Why PyNaCl and not ``cryptography``'s Fernet, which earlier versions used: loading
``cryptography`` costs a gateway ~7 MiB of memory for life (its Rust extension), PyNaCl ~1 MiB,
and a gateway decrypts its channel secrets at start. Values sealed with Fernet (they start
with ``gAAAAA``) are still opened: ``cryptography`` is then loaded for them alone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.secret
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
_HKDF_INFO = b"cozegate channel secrets v1"  # the Fernet key of sealed values before v2
_BOX_PERSON = b"cozegate-box-v2"  # BLAKE2b personalisation of the v2 box key
SEALED_PREFIX = "v2."


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
    """Encrypts and decrypts short secrets (tokens, private keys) with one key."""

    def __init__(self, secret_key: str) -> None:
        self._secret_key = check_secret_key(secret_key)
        self._box = nacl.secret.SecretBox(hashlib.blake2b(
            self._secret_key.encode("utf-8"), digest_size=nacl.secret.SecretBox.KEY_SIZE,
            person=_BOX_PERSON).digest())
        self._fernet: Any = None  # for values sealed before v2, made on first need

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        return cls(resolve_secret_key(settings))

    def encrypt(self, plaintext: str) -> str:
        sealed = self._box.encrypt(plaintext.encode("utf-8"))  # random nonce + ciphertext
        return SEALED_PREFIX + base64.urlsafe_b64encode(bytes(sealed)).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        if not ciphertext.startswith(SEALED_PREFIX):
            return self._decrypt_fernet(ciphertext)
        try:
            sealed = base64.b64decode(ciphertext[len(SEALED_PREFIX):], altchars=b"-_",
                                      validate=True)
            return self._box.decrypt(sealed).decode("utf-8")
        except (binascii.Error, ValueError, nacl.exceptions.CryptoError) as exc:
            raise _undecryptable() from exc

    def _decrypt_fernet(self, ciphertext: str) -> str:
        # Imported here: only databases written before v2 need cryptography (see above).
        from cryptography.fernet import Fernet, InvalidToken
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        if self._fernet is None:
            derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                           info=_HKDF_INFO).derive(self._secret_key.encode("utf-8"))
            self._fernet = Fernet(base64.urlsafe_b64encode(derived))
        try:
            return str(self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8"))
        except (InvalidToken, ValueError) as exc:
            raise _undecryptable() from exc


def _undecryptable() -> SecretDecryptError:
    return SecretDecryptError(
        "a channel secret cannot be decrypted: was COZEGATE_SECRET_KEY changed?")
