"""Secret key rules and the secret box (v2, and values sealed with Fernet before it)."""

from __future__ import annotations

import base64
import stat
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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
    assert box.encrypt(token) != sealed  # random nonce per encryption
    assert sealed.startswith("v2.")


def test_non_ascii_round_trip() -> None:
    box, text = SecretBox(STRONG), "-----BEGIN KEY-----\nключ 🔑"
    assert box.decrypt(box.encrypt(text)) == text


@pytest.mark.parametrize("damage", [
    lambda s: s[:-4] + ("AAAA" if not s.endswith("AAAA") else "BBBB"),  # a flipped byte
    lambda s: s[:20],  # cut short
    lambda s: s + "!",  # not base64
    lambda s: "v2.",  # empty
])
def test_damaged_values_are_refused_clearly(damage) -> None:
    box = SecretBox(STRONG)
    with pytest.raises(SecretDecryptError, match="COZEGATE_SECRET_KEY"):
        box.decrypt(damage(box.encrypt("pat_secret_token")))


def _fernet_seal(secret_key: str, plaintext: str) -> str:
    """A value as versions before v2 sealed it (HKDF-SHA256 -> Fernet)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"cozegate channel secrets v1").derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived)).encrypt(plaintext.encode()).decode()


def test_values_sealed_with_fernet_before_v2_still_open() -> None:
    legacy = _fernet_seal(STRONG, "pat_from_an_older_database")
    assert legacy.startswith("gAAAAA")
    assert SecretBox(STRONG).decrypt(legacy) == "pat_from_an_older_database"
    with pytest.raises(SecretDecryptError):
        SecretBox(STRONG + "x").decrypt(legacy)


def test_sealing_and_opening_v2_does_not_load_cryptography() -> None:
    probe = ("import sys\n"
             "from cozegate.channels.crypto import SecretBox\n"
             f"box = SecretBox({STRONG!r})\n"
             "assert box.decrypt(box.encrypt('x')) == 'x'\n"
             "print('cryptography' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


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
