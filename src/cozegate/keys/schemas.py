"""Shapes of gateway keys: what the admin sends, what is shown, what auth caches."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: list[str] | None) -> tuple[IpNetwork, ...]:
    """``["10.0.0.0/8", "::1"]`` → networks; a bare address is a /32 (or /128)."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries or [])


class _KeyFields(BaseModel):
    expires_at: datetime | None = None
    quota: int | None = Field(default=None, ge=0, description="micros; None = unlimited")
    allowed_models: list[str] | None = None
    allowed_ips: list[str] | None = None
    rpm_limit: int | None = Field(default=None, ge=1)
    rate_limits: dict[str, int] | None = None

    @field_validator("allowed_ips")
    @classmethod
    def _valid_networks(cls, value: list[str] | None) -> list[str] | None:
        parse_networks(value)  # raises ValueError on a malformed entry
        return value

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("expires_at needs a time zone")
        return value


class KeyCreate(_KeyFields):
    name: str = Field(min_length=1, max_length=128)


class KeyUpdate(_KeyFields):
    """Only the fields set (``model_fields_set``) are changed."""

    name: str | None = Field(default=None, min_length=1, max_length=128)
    enabled: bool | None = None


class KeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    name: str
    hint: str
    enabled: bool
    expires_at: datetime | None
    quota_remaining: int | None
    used: int
    allowed_models: list[str] | None
    allowed_ips: list[str] | None
    rpm_limit: int | None
    rate_limits: dict[str, Any] | None
    last_used_at: datetime | None
    created_at: datetime


class KeyCreated(KeyRead):
    """Returned once, at creation: the only time the raw key exists outside the client."""

    key: str


@dataclass(frozen=True)
class KeyRecord:
    """What authentication needs, detached from any session so it can be cached."""

    id: int
    user_id: int
    name: str
    key_hash: str
    enabled: bool
    expires_at: datetime | None
    quota_remaining: int | None
    allowed_models: frozenset[str] | None
    allowed_networks: tuple[IpNetwork, ...]
    rpm_limit: int | None
    rate_limits: dict[str, int] = field(default_factory=dict)
    last_used_at: datetime | None = None
    user_enabled: bool = True
    is_admin: bool = False
    group_ratio_ppm: int = 1_000_000

    def allows(self, *targets: str | None) -> bool:
        """True when the allowlist is empty or names any of ``targets``."""
        if not self.allowed_models:
            return True
        return any(target in self.allowed_models for target in targets if target)

    def allows_ip(self, client_ip: str | None) -> bool:
        if not self.allowed_networks:
            return True
        if not client_ip:
            return False
        try:
            address = ipaddress.ip_address(client_ip)
        except ValueError:
            return False
        return any(address in network for network in self.allowed_networks)

    def rpm_for(self, api_class: str, default: int | None) -> int | None:
        """The key's limit for an API class: per-class override, then the key-wide limit."""
        if api_class in self.rate_limits:
            return self.rate_limits[api_class]
        return self.rpm_limit if self.rpm_limit is not None else default

    def touched(self, when: datetime) -> KeyRecord:
        return replace(self, last_used_at=when)
