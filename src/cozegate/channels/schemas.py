"""Shapes of channels. Secrets go in (create/update) but never come out (read)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cozegate.config import COZE_CN_BASE_URL, OAuthJWTConfig

AuthType = Literal["pat", "oauth_jwt"]


def _check_base_url(value: str) -> str:
    value = value.strip().rstrip("/")
    if value == "emulator://sandbox":  # the in-process emulator (relay.upstreams)
        return value
    if not value.startswith(("http://", "https://")):
        raise ValueError("base_url must start with http:// or https:// (or be emulator://sandbox)")
    return value


class ChannelCreate(BaseModel):
    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    type: Literal["coze"] = "coze"
    auth_type: AuthType = "pat"
    base_url: str = COZE_CN_BASE_URL
    token: str | None = Field(default=None, min_length=1)  # PAT
    oauth_jwt: OAuthJWTConfig | None = None
    priority: int = 0
    weight: int = Field(default=1, ge=0)
    targets: list[str] | None = None  # workflow ids / model names; None or [] = all
    enabled: bool = True

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return _check_base_url(value)

    @model_validator(mode="after")
    def _secret_matches_auth(self) -> ChannelCreate:
        if self.auth_type == "pat" and not self.token:
            raise ValueError("a pat channel needs a token")
        if self.auth_type == "oauth_jwt" and self.oauth_jwt is None:
            raise ValueError("an oauth_jwt channel needs the oauth_jwt app JSON")
        return self


class ChannelUpdate(BaseModel):
    """Only the fields set are changed. Changing auth needs the matching secret."""

    base_url: str | None = None
    auth_type: AuthType | None = None
    token: str | None = Field(default=None, min_length=1)
    oauth_jwt: OAuthJWTConfig | None = None
    priority: int | None = None
    weight: int | None = Field(default=None, ge=0)
    targets: list[str] | None = None

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_base_url(value)


class ChannelRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    type: str
    auth_type: str
    base_url: str
    status: str
    priority: int
    weight: int
    targets: list[str] | None
    consecutive_failures: int
    last_error: str | None
    last_failure_at: datetime | None
    last_success_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class ChannelCredentials:
    """A channel's decrypted secret, for the upstream client. Never log it."""

    auth_type: str
    token: str | None = None
    oauth_jwt: OAuthJWTConfig | None = None

    def __repr__(self) -> str:  # keep secrets out of tracebacks and debug logs
        return f"ChannelCredentials(auth_type={self.auth_type!r}, <secret>)"

    def to_plaintext(self) -> str:
        if self.auth_type == "pat":
            return json.dumps({"pat": self.token})
        assert self.oauth_jwt is not None
        return json.dumps({"oauth_jwt": self.oauth_jwt.model_dump(mode="json")})

    @classmethod
    def from_plaintext(cls, auth_type: str, plaintext: str) -> ChannelCredentials:
        data = json.loads(plaintext)
        if auth_type == "pat":
            return cls(auth_type=auth_type, token=data["pat"])
        return cls(auth_type=auth_type, oauth_jwt=OAuthJWTConfig.model_validate(data["oauth_jwt"]))
