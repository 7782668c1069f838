"""Emulator settings: credentials, timings, retention and fault rules.

A JSON file maps 1:1 onto :class:`EmulatorConfig`;
every field has a default that makes ``create_emulator_app()`` usable with no config at all
(sandbox credentials on, realistic timings).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, field_validator, model_validator

from cozegate.emulator.faultspec import parse_fault
from cozegate.errors import ConfigError
from cozegate.kit.schema import Schema

DEFAULT_CONNECTOR_UID = "3361000000000001"


class OAuthAppConfig(Schema):
    """An OAuth JWT app the emulator trusts: JWTs signed by its key may mint access tokens."""

    model_config = ConfigDict(extra="forbid")

    app_id: str
    key_id: str
    public_key: str | None = Field(default=None, description="PEM text of the RSA public key")
    public_key_file: str | None = Field(default=None, description="path of a PEM file")

    @model_validator(mode="after")
    def _load_key(self) -> OAuthAppConfig:
        if self.public_key is None:
            if self.public_key_file is None:
                raise ValueError(f"oauth app {self.app_id}: public_key or public_key_file needed")
            try:
                self.public_key = Path(self.public_key_file).read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(f"oauth app {self.app_id}: cannot read key file: {exc}") from exc
        return self


class FaultRule(Schema):
    """A configured fault: applied to matching requests, like the ``X-Emulator-Fault`` header.

    ``path`` is an fnmatch pattern on the URL path; ``workflow_id`` matches the body field or
    the path segment. ``first_n`` limits the rule to the first N matching requests (counted
    per rule); ``probability`` draws from the app's seeded RNG.
    """

    model_config = ConfigDict(extra="forbid")

    fault: str
    path: str | None = None
    workflow_id: str | None = None
    probability: float = Field(default=1.0, ge=0.0, le=1.0)
    first_n: int | None = Field(default=None, ge=0)

    @field_validator("fault")
    @classmethod
    def _valid_spec(cls, value: str) -> str:
        parse_fault(value)  # a typo fails at load time, not on every request
        return value


class EmulatorConfig(Schema):
    """Everything that shapes one emulator instance. Build from a file with :meth:`load`."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not a silent default

    # Credentials. ``sandbox`` adds the documented public sandbox PAT and OAuth app.
    sandbox: bool = True
    tokens: list[str] = Field(default_factory=list)
    oauth_apps: list[OAuthAppConfig] = Field(default_factory=list)
    jwt_audiences: list[str] = Field(
        default_factory=list,
        description="aud values accepted besides the request's own Host header",
    )
    max_token_ttl: int = Field(default=86399, ge=1)

    # Timings (seconds). Tests shrink them; the defaults look like the real service.
    ping_interval: float = Field(default=10.0, gt=0)
    chunk_interval: float = Field(default=0.0, ge=0)
    max_slow_seconds: float = Field(default=3600.0, gt=0)

    # Runs.
    max_resumes: int = Field(default=3, ge=0)
    async_enabled: bool = True
    retention_seconds: float = Field(default=7 * 24 * 3600, gt=0)
    output_trim_bytes: int = Field(default=1_000_000, gt=0)
    max_records: int = Field(default=10_000, ge=1, description="runs / conversations kept")
    connector_uid: str = DEFAULT_CONNECTOR_UID
    debug_url_base: str = "https://www.coze.cn/work_flow"

    # Fault injection.
    fault_header: bool = Field(default=True,
                               description="honour X-Emulator-Fault / ?emulator_fault")
    faults: list[FaultRule] = Field(default_factory=list)
    fault_seed: int | None = None

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> EmulatorConfig:
        """Read a JSON config file; ``overrides`` (non-None) win over the file."""
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read emulator config {path}: {exc}") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"emulator config {path} must hold a JSON object")
        raw.update({key: value for key, value in overrides.items() if value is not None})
        try:
            return cls.model_validate(raw)
        except ValueError as exc:
            raise ConfigError(f"invalid emulator config {path}: {exc}") from exc


def parse_oauth_app_flag(value: str) -> OAuthAppConfig:
    """Parse ``APP_ID:KEY_ID:PUBLIC_KEY_PEM_FILE`` (the CLI's ``--oauth-app``)."""
    parts = value.split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise ConfigError(f"--oauth-app wants APP_ID:KEY_ID:PUBLIC_KEY_PEM_FILE, got {value!r}")
    try:
        return OAuthAppConfig(app_id=parts[0], key_id=parts[1], public_key_file=parts[2])
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
