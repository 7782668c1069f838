"""Pydantic shapes of users and groups (admin API / CLI)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cozegate.kit.money import format_amount, format_ratio, parse_ratio
from cozegate.models import Group, User


class GroupCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    ratio: Decimal = Decimal(1)  # exact decimal, stored as parts per million
    description: str = ""

    @field_validator("ratio")
    @classmethod
    def _exact_ratio(cls, value: Decimal) -> Decimal:
        parse_ratio(value)  # raises on negative or over-precise ratios
        return value

    @property
    def ratio_ppm(self) -> int:
        return parse_ratio(self.ratio)


class GroupRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    ratio_ppm: int
    description: str

    @property
    def ratio(self) -> str:
        return format_ratio(self.ratio_ppm)

    @classmethod
    def of(cls, group: Group) -> GroupRead:
        return cls.model_validate(group)


class UserCreate(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    email: str | None = None
    group: str | None = None  # group name; None = the default group
    is_admin: bool = False


class UserRead(BaseModel):
    id: int
    name: str
    email: str | None
    group: str
    group_ratio: str
    balance: int  # micros
    balance_display: str
    is_admin: bool
    enabled: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserRead:
        return cls(
            id=user.id,
            name=user.name,
            email=user.email,
            group=user.group.name,
            group_ratio=format_ratio(user.group.ratio_ppm),
            balance=user.balance,
            balance_display=format_amount(user.balance),
            is_admin=user.is_admin,
            enabled=user.enabled,
            created_at=user.created_at,
        )
