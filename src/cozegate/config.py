"""Settings, read from flags, the environment and a JSON config file, in that order of precedence.

Flag > environment > config file > default. The environment uses ``COZEGATE_*`` names
(nested with ``__``, e.g. ``COZEGATE_COZE__BASE_URL``) and also accepts the names users
already have from Coze tooling: ``COZE_API_TOKEN`` and ``COZE_API_BASE``. The config file
(``config.json`` in the working directory, or ``--config`` / ``COZEGATE_CONFIG``) may carry a
``COZE_API`` block with ``api_token``, ``base_url``, ``timeout`` and ``max_retries``, as the
seed back end's file does, beside any other settings by their lower-case names.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from cozegate.errors import ConfigError

COZE_CN_BASE_URL = "https://api.coze.cn"
COZE_COM_BASE_URL = "https://api.coze.com"
DEFAULT_CONFIG_FILE = "config.json"
CONFIG_FILE_ENV = "COZEGATE_CONFIG"


class OAuthJWTConfig(BaseModel):
    """An OAuth JWT ("service") app, in the JSON shape Coze's console hands out."""

    app_id: str
    key_id: str
    private_key: str
    aud: str | None = None  # defaults to the base URL's host
    scopes: list[str] | dict[str, Any] | None = None
    token_ttl: int = Field(default=900, ge=60, le=86399)


class NativeSettings(BaseModel):
    """The Coze-compatible API (``native/``). Env: ``COZEGATE_NATIVE__<NAME>``."""

    validate_inputs: bool = Field(default=True, description="check run parameters against the "
                                  "workflow's input schema before calling Coze (4000 on a "
                                  "wrong field, no upstream run spent)")
    input_schema_ttl: float = Field(default=300.0, ge=0, description="seconds an input schema "
                                    "stays cached per channel and workflow; 0 disables")
    async_poll_interval: float = Field(default=2.0, gt=0, description="first look at an "
                                       "is_async run's history, seconds; doubles after")
    async_poll_max_interval: float = Field(default=60.0, gt=0)


class CozeApiSettings(BaseModel):
    """How to reach one Coze account (cloud cn/com, self-hosted, or the emulator)."""

    api_token: str | None = None
    oauth_jwt: OAuthJWTConfig | None = None
    base_url: str = COZE_CN_BASE_URL
    timeout: float = Field(default=600.0, gt=0, description="sync run / read timeout, seconds")
    connect_timeout: float = Field(default=5.0, gt=0)
    stream_idle_timeout: float = Field(
        default=300.0, gt=0, description="longest silence tolerated inside a stream, seconds"
    )
    max_retries: int = Field(default=3, ge=0, le=10)

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value


class TaskSettings(BaseModel):
    """The task service's timings (seconds). Env: ``COZEGATE_TASKS__<NAME>``; tests shrink them."""

    worker_interval: float = Field(default=1.0, gt=0, description="claim / reap / sweep tick")
    lease_seconds: float = Field(default=30.0, gt=0, description="a driver's lease; renewed "
                                 "every third of it, taken over by another process when expired")
    poll_initial: float = Field(default=1.0, gt=0, description="first async history poll delay")
    poll_max: float = Field(default=30.0, gt=0, description="longest delay between polls")
    poll_factor: float = Field(default=2.0, ge=1.0, description="exponential backoff factor")
    deadline_seconds: float = Field(default=25 * 3600.0, gt=0, description="a task still "
                                    "running this long after submit is failed by the reaper "
                                    "(Coze's async limit is 24 h)")
    max_active: int = Field(default=200, ge=1, description="tasks driven at once per process")
    event_poll_interval: float = Field(default=0.5, gt=0, description="SSE: new-event check")
    event_keepalive: float = Field(default=15.0, gt=0, description="SSE keep-alive comment")
    progress_interval: float = Field(default=0.5, ge=0, description="stream text is stored "
                                     "as one progress event per this many seconds at most")
    callback_timeout: float = Field(default=10.0, gt=0)
    callback_backoff: float = Field(default=2.0, gt=0, description="first retry delay; doubles")
    callback_max_attempts: int = Field(default=8, ge=1)
    callback_allow_private: bool = Field(
        default=False, description="let callback_url point at loopback / private / link-local "
        "addresses (only for trusted keys: it lets a key holder reach the operator's network)")


class Settings(BaseSettings):
    """Every setting cozegate reads. Build with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="COZEGATE_", env_nested_delimiter="__", extra="ignore"
    )

    coze: CozeApiSettings = CozeApiSettings()
    config_file: str | None = None

    # Gateway server (used from the gateway issue on).
    host: str = "127.0.0.1"
    port: int = 3000
    database_url: str = "sqlite+aiosqlite:///./cozegate.db"
    redis_url: str | None = None
    # Namespace of every Redis key this deployment writes; give each deployment that shares a
    # Redis its own prefix (tests use one per test).
    redis_prefix: str = "cozegate:"
    secret_key: str | None = None
    # Persistence, keys, billing, channels, rate limits (gateway data layer).
    secret_key_file: str | None = None  # where the generated dev key lives (SQLite only)
    db_busy_timeout_ms: int = Field(default=15_000, ge=0)  # SQLite busy_timeout pragma
    db_pool_size: int = Field(default=10, ge=1)
    # Largest request body accepted, on every surface (413 past it); 0 = no limit. Generous
    # for inline images or long documents in workflow parameters, yet bounded.
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=0)
    key_cache_ttl: float = Field(default=5.0, ge=0, description="seconds; 0 disables")
    channel_failure_threshold: int = Field(default=5, ge=1)
    reserve_max_output_tokens: int = Field(default=4096, ge=0)
    # An open reservation this old is refunded by the reaper (its process died before
    # settling). It must outlast the longest call a live process may still settle: a task
    # runs up to tasks.deadline_seconds (25 h).
    reservation_reap_after: float = Field(default=26 * 3600.0, gt=0, description="seconds")
    reservation_reap_interval: float = Field(default=300.0, gt=0, description="seconds")
    # Model names that stand for one workflow or chat flow, with fixed parameters:
    # {"weather": {"kind": "workflow", "workflow_id": "73…", "parameters": {"units": "C"}}}
    model_aliases: dict[str, dict[str, Any]] = {}
    stream_keepalive: float = Field(
        default=15.0, gt=0, description="seconds of upstream silence before a keep-alive"
    )
    rate_limits: dict[str, int] = {"workflow": 30, "chat": 60, "info": 100}  # per key, per min
    native: NativeSettings = NativeSettings()
    # Persisted runs: cozegate's own store, kept this many days (0 = forever), purged hourly.
    run_retention_days: int = Field(default=90, ge=0)
    run_purge_interval: float = Field(default=3600.0, gt=0, description="seconds")
    tasks: TaskSettings = TaskSettings()

    @model_validator(mode="after")
    def _reaper_outlasts_tasks(self) -> Settings:
        # A reaper that refunds a reservation a live task still holds would let that task run
        # unpaid; refuse the combination at start instead of finding out on the invoice.
        if self.reservation_reap_after <= self.tasks.deadline_seconds:
            raise ValueError(
                f"reservation_reap_after ({self.reservation_reap_after:g} s) must be longer "
                f"than tasks.deadline_seconds ({self.tasks.deadline_seconds:g} s)")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            _CozeEnvAliasSource(settings_cls),
            _JsonFileSource(settings_cls),
        )


class _CozeEnvAliasSource(PydanticBaseSettingsSource):
    """``COZE_API_TOKEN`` / ``COZE_API_BASE``.

    Weaker than ``COZEGATE_COZE__*``, stronger than the config file.
    """

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        coze: dict[str, Any] = {}
        if token := os.environ.get("COZE_API_TOKEN"):
            coze["api_token"] = token
        if base := os.environ.get("COZE_API_BASE"):
            coze["base_url"] = base
        return {"coze": coze} if coze else {}


class _JsonFileSource(PydanticBaseSettingsSource):
    """The JSON config file; its ``COZE_API`` block maps onto ``coze``."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        explicit = self.current_state.get("config_file") or os.environ.get(CONFIG_FILE_ENV)
        path = Path(explicit) if explicit else Path(DEFAULT_CONFIG_FILE)
        if not path.is_file():
            if explicit:
                raise ConfigError(f"config file not found: {path}")
            return {}
        return read_config_file(path)


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a config file into settings fields (unknown keys are kept and ignored later)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path} must hold a JSON object")
    values: dict[str, Any] = {key.lower(): value for key, value in raw.items() if key != "COZE_API"}
    coze_block = raw.get("COZE_API") or raw.get("coze") or {}
    if not isinstance(coze_block, dict):
        raise ConfigError(f"COZE_API in {path} must be an object")
    values["coze"] = {key.lower(): value for key, value in coze_block.items()}
    return values


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build settings; ``overrides`` are flag values (``None`` means "flag not given").

    Nested Coze flags go in as ``coze={"base_url": ...}``.
    """
    flags = {key: value for key, value in overrides.items() if value is not None}
    if "coze" in flags:
        flags["coze"] = {k: v for k, v in flags["coze"].items() if v is not None}
        if not flags["coze"]:
            del flags["coze"]
    if config_file is not None:
        flags["config_file"] = str(config_file)
    try:
        return Settings(**flags)
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(f"invalid settings: {exc}") from exc
