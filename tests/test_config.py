"""Settings precedence: flag > environment > config file > default."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cozegate.config import COZE_CN_BASE_URL, load_settings
from cozegate.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("COZE_API_TOKEN", "COZE_API_BASE", "COZEGATE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("COZEGATE_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_config(path: Path, coze: dict) -> Path:
    path.write_text(json.dumps({"OTHER_TOOL_SETTING": 1, "COZE_API": coze}), encoding="utf-8")
    return path


def test_defaults_without_any_source() -> None:
    settings = load_settings()
    assert settings.coze.base_url == COZE_CN_BASE_URL
    assert settings.coze.api_token is None
    assert (settings.coze.timeout, settings.coze.connect_timeout) == (600.0, 5.0)
    assert settings.coze.max_retries == 3


def test_seed_config_json_block_is_read_from_working_directory(clean_env: Path) -> None:
    write_config(
        clean_env / "config.json",
        {"api_token": "pat_file", "base_url": "https://api.coze.com/", "timeout": 60,
         "max_retries": 1},
    )
    coze = load_settings().coze
    assert (coze.api_token, coze.base_url, coze.timeout, coze.max_retries) == (
        "pat_file", "https://api.coze.com", 60.0, 1,
    )


def test_env_beats_file_and_flag_beats_env(clean_env: Path, monkeypatch) -> None:
    write_config(clean_env / "config.json", {"api_token": "pat_file", "base_url": "https://a.b"})
    monkeypatch.setenv("COZE_API_TOKEN", "pat_env")
    monkeypatch.setenv("COZE_API_BASE", "http://127.0.0.1:9")
    coze = load_settings().coze
    assert (coze.api_token, coze.base_url) == ("pat_env", "http://127.0.0.1:9")
    coze = load_settings(coze={"api_token": "pat_flag", "base_url": None}).coze
    assert (coze.api_token, coze.base_url) == ("pat_flag", "http://127.0.0.1:9")


def test_cozegate_prefixed_env_beats_the_coze_aliases(monkeypatch) -> None:
    monkeypatch.setenv("COZE_API_TOKEN", "pat_alias")
    monkeypatch.setenv("COZEGATE_COZE__API_TOKEN", "pat_prefixed")
    assert load_settings().coze.api_token == "pat_prefixed"


def test_explicit_config_file_flag_and_env(clean_env: Path, monkeypatch) -> None:
    other = write_config(clean_env / "other.json", {"api_token": "pat_other"})
    assert load_settings(config_file=other).coze.api_token == "pat_other"
    monkeypatch.setenv("COZEGATE_CONFIG", str(other))
    assert load_settings().coze.api_token == "pat_other"


def test_missing_explicit_config_file_is_an_error(clean_env: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(config_file=clean_env / "nope.json")


def test_broken_config_file_is_a_clear_error(clean_env: Path) -> None:
    (clean_env / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings()


def test_bad_base_url_is_refused() -> None:
    with pytest.raises(ConfigError, match="base_url"):
        load_settings(coze={"base_url": "api.coze.cn"})


def test_oauth_jwt_block_in_config(clean_env: Path) -> None:
    write_config(
        clean_env / "config.json",
        {"oauth_jwt": {"app_id": "1127900106117", "key_id": "kid1",
                        "private_key": "-----BEGIN PRIVATE KEY-----\n...", "aud": "api.coze.cn"}},
    )
    jwt = load_settings().coze.oauth_jwt
    assert jwt is not None and jwt.app_id == "1127900106117" and jwt.token_ttl == 900


def test_the_reservation_reaper_must_outlast_the_task_deadline() -> None:
    with pytest.raises(ConfigError, match="reservation_reap_after"):
        load_settings(reservation_reap_after=3600, tasks={"deadline_seconds": 7200})
    assert load_settings(reservation_reap_after=7201,
                         tasks={"deadline_seconds": 7200}).reservation_reap_after == 7201
