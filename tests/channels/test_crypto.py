"""Secret key rules and the Fernet box."""

from __future__ import annotations

import stat

import pytest

from cozegate.channels.crypto import SecretBox, dev_key_path, resolve_secret_key
from cozegate.channels.errors import SecretDecryptError
from cozegate.config import Settings
from cozegate.errors import ConfigError

STRONG = "k" * 8 + "-strong-test-key"


def test_round_trip_and_ciphertext_differs() -> None:
    box = SecretBox(STRONG)
    token = "pat_0123456789abcdef"
    sealed = box.encrypt(token)
    assert sealed != token and token not in sealed
    assert box.decrypt(sealed) == token
    assert box.encrypt(token) != sealed  # random IV per encryption


def test_other_key_cannot_decrypt() -> None:
    sealed = SecretBox(STRONG).encrypt("secret")
    with pytest.raises(SecretDecryptError):
        SecretBox(STRONG + "x").decrypt(sealed)


@pytest.mark.parametrize("key", ["", "changeme", "CHANGEME", "secret", "short-key"])
def test_placeholder_keys_are_refused(key: str) -> None:
    with pytest.raises(ConfigError):
        resolve_secret_key(Settings(secret_key=key))


def test_dev_key_file_next_to_sqlite(tmp_path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/cozegate.db")
    path = dev_key_path(settings)
    assert path == tmp_path / "cozegate.db.secret"
    first = resolve_secret_key(settings)
    assert path.read_text().strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert resolve_secret_key(settings) == first  # stable across restarts


def test_postgres_without_key_refuses_to_start(tmp_path) -> None:
    with pytest.raises(ConfigError):
        resolve_secret_key(Settings(database_url="postgresql+asyncpg://u@h/db"))
    with pytest.raises(ConfigError):
        resolve_secret_key(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    explicit = Settings(
        database_url="postgresql+asyncpg://u@h/db", secret_key_file=str(tmp_path / "key")
    )
    assert len(resolve_secret_key(explicit)) >= 32
