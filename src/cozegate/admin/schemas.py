"""Response shapes of the admin API.

Money is shown twice: as a decimal string (``"12.500000"``, exact, never a float) under the
plain name, and as integer micro-units under ``…_micros`` for scripts that add amounts up.
Secrets never appear: channels show their auth type and at most a masked hint, keys their
last four characters (the raw key exists only in the create response).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from cozegate.billing.schemas import DailyUsage
from cozegate.kit.money import format_amount, format_price_per_1k, format_ratio
from cozegate.models import ApiKey, Channel, ChannelEvent, Group, LedgerEntry, Price, UsageLog, User
from cozegate.models.price import PRICE_KIND_FIXED

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int


class GroupOut(BaseModel):
    id: int
    name: str
    ratio: str
    ratio_ppm: int
    description: str

    @classmethod
    def of(cls, group: Group) -> GroupOut:
        return cls(id=group.id, name=group.name, ratio=format_ratio(group.ratio_ppm),
                   ratio_ppm=group.ratio_ppm, description=group.description)


class UserOut(BaseModel):
    id: int
    name: str
    email: str | None
    group: str
    group_ratio: str
    balance: str
    balance_micros: int
    is_admin: bool
    enabled: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User, balance: int | None = None) -> UserOut:
        # ``balance`` overrides the loaded row: billing moves balances with UPDATEs that do
        # not refresh objects already in the session.
        micros = user.balance if balance is None else balance
        return cls(id=user.id, name=user.name, email=user.email, group=user.group.name,
                   group_ratio=format_ratio(user.group.ratio_ppm), balance=format_amount(micros),
                   balance_micros=micros, is_admin=user.is_admin, enabled=user.enabled,
                   created_at=user.created_at)


class LedgerEntryOut(BaseModel):
    id: int
    user_id: int
    api_key_id: int | None
    request_id: str | None
    kind: str
    amount: str
    amount_micros: int
    balance_after: str
    balance_after_micros: int
    reason: str
    created_at: datetime

    @classmethod
    def of(cls, entry: LedgerEntry) -> LedgerEntryOut:
        return cls(id=entry.id, user_id=entry.user_id, api_key_id=entry.api_key_id,
                   request_id=entry.request_id, kind=entry.kind,
                   amount=format_amount(entry.amount), amount_micros=entry.amount,
                   balance_after=format_amount(entry.balance_after),
                   balance_after_micros=entry.balance_after, reason=entry.reason,
                   created_at=entry.created_at)


KeyStatus = Literal["active", "disabled", "expired", "exhausted"]


class KeyOut(BaseModel):
    id: int
    user_id: int
    name: str
    hint: str  # the key's last four characters
    status: KeyStatus
    enabled: bool
    expires_at: datetime | None
    quota: str | None  # remaining; None = unlimited
    quota_micros: int | None
    used: str
    used_micros: int
    allowed_models: list[str] | None
    allowed_ips: list[str] | None
    rpm_limit: int | None
    rate_limits: dict[str, Any] | None
    last_used_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, key: ApiKey, now: datetime) -> KeyOut:
        return cls(**_key_fields(key, now))


class KeyCreatedOut(KeyOut):
    key: str  # the raw key: in this response only, never again

    @classmethod
    def created(cls, key: ApiKey, raw: str, now: datetime) -> KeyCreatedOut:
        return cls(**_key_fields(key, now), key=raw)


def _key_fields(key: ApiKey, now: datetime) -> dict[str, Any]:
    quota = key.quota_remaining
    return dict(
        id=key.id, user_id=key.user_id, name=key.name, hint=key.hint,
        status=key_status(key, now), enabled=key.enabled, expires_at=key.expires_at,
        quota=None if quota is None else format_amount(quota), quota_micros=quota,
        used=format_amount(key.used), used_micros=key.used,
        allowed_models=key.allowed_models, allowed_ips=key.allowed_ips,
        rpm_limit=key.rpm_limit, rate_limits=key.rate_limits,
        last_used_at=key.last_used_at, created_at=key.created_at,
    )


def key_status(key: ApiKey, now: datetime) -> KeyStatus:
    if not key.enabled:
        return "disabled"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    if key.quota_remaining is not None and key.quota_remaining <= 0:
        return "exhausted"
    return "active"


class PriceOut(BaseModel):
    target: str
    kind: str  # tokens | fixed
    input_price_per_1k: str | None
    output_price_per_1k: str | None
    fixed_price: str | None
    input_price_micros_per_1m: int
    output_price_micros_per_1m: int
    fixed_price_micros: int
    enabled: bool
    updated_at: datetime

    @classmethod
    def of(cls, price: Price) -> PriceOut:
        fixed = price.kind == PRICE_KIND_FIXED
        return cls(
            target=price.target, kind=price.kind,
            input_price_per_1k=None if fixed else format_price_per_1k(price.input_price),
            output_price_per_1k=None if fixed else format_price_per_1k(price.output_price),
            fixed_price=format_amount(price.fixed_price) if fixed else None,
            input_price_micros_per_1m=price.input_price,
            output_price_micros_per_1m=price.output_price,
            fixed_price_micros=price.fixed_price, enabled=price.enabled,
            updated_at=price.updated_at,
        )


class ChannelOut(BaseModel):
    id: int
    name: str
    type: str
    auth_type: str
    secret_hint: str | None  # masked: never more than the last four characters of a PAT
    base_url: str
    status: str  # enabled | disabled | auto_disabled
    priority: int
    weight: int
    targets: list[str] | None
    consecutive_failures: int
    last_error: str | None
    last_failure_at: datetime | None
    last_success_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, channel: Channel, secret_hint: str | None) -> ChannelOut:
        return cls(
            id=channel.id, name=channel.name, type=channel.type, auth_type=channel.auth_type,
            secret_hint=secret_hint, base_url=channel.base_url, status=channel.status,
            priority=channel.priority, weight=channel.weight, targets=channel.targets,
            consecutive_failures=channel.consecutive_failures, last_error=channel.last_error,
            last_failure_at=channel.last_failure_at, last_success_at=channel.last_success_at,
            created_at=channel.created_at, updated_at=channel.updated_at,
        )


class ChannelEventOut(BaseModel):
    id: int
    channel_id: int
    kind: str  # auto_disabled | enabled | disabled
    message: str
    created_at: datetime

    @classmethod
    def of(cls, event: ChannelEvent) -> ChannelEventOut:
        return cls(id=event.id, channel_id=event.channel_id, kind=event.kind,
                   message=event.message, created_at=event.created_at)


class ChannelTestError(BaseModel):
    code: int | str | None  # Coze's integer code, or cozegate's for transport failures
    msg: str
    logid: str | None = None


class ChannelTestOut(BaseModel):
    ok: bool
    latency_ms: int
    error: ChannelTestError | None = None


USAGE_COLUMNS = (
    "id", "created_at", "request_id", "user_id", "key_id", "key_name", "model", "workflow_id",
    "channel_id", "channel_name", "surface", "stream", "status", "http_status", "error",
    "input_tokens", "output_tokens", "usage_estimated", "input_price_per_1k",
    "output_price_per_1k", "fixed_price", "group_ratio", "cost", "cost_micros", "duration_ms",
    "ttfb_ms", "client_ip", "execute_id", "logid", "debug_url",
)


class UsageOut(BaseModel):
    id: int
    created_at: datetime
    request_id: str
    user_id: int | None
    key_id: int | None
    key_name: str | None
    model: str | None
    workflow_id: str | None
    channel_id: int | None
    channel_name: str | None
    surface: str | None
    stream: bool
    status: str
    http_status: int | None
    error: str | None
    input_tokens: int
    output_tokens: int
    usage_estimated: bool
    input_price_per_1k: str  # the prices used for this call, copied at the time
    output_price_per_1k: str
    fixed_price: str
    group_ratio: str
    cost: str
    cost_micros: int
    duration_ms: int | None
    ttfb_ms: int | None
    client_ip: str | None
    execute_id: str | None
    logid: str | None
    debug_url: str | None

    @classmethod
    def of(cls, row: UsageLog) -> UsageOut:
        return cls(
            id=row.id, created_at=row.created_at, request_id=row.request_id,
            user_id=row.user_id, key_id=row.api_key_id, key_name=row.key_name,
            model=row.model, workflow_id=row.workflow_id, channel_id=row.channel_id,
            channel_name=row.channel_name, surface=row.surface, stream=row.stream,
            status=row.status, http_status=row.http_status, error=row.error,
            input_tokens=row.input_tokens, output_tokens=row.output_tokens,
            usage_estimated=row.usage_estimated,
            input_price_per_1k=format_price_per_1k(row.input_price),
            output_price_per_1k=format_price_per_1k(row.output_price),
            fixed_price=format_amount(row.fixed_price),
            group_ratio=format_ratio(row.group_ratio_ppm), cost=format_amount(row.cost),
            cost_micros=row.cost, duration_ms=row.duration_ms, ttfb_ms=row.ttfb_ms,
            client_ip=row.client_ip, execute_id=row.execute_id, logid=row.logid,
            debug_url=row.debug_url,
        )


class UsageTotals(BaseModel):
    requests: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost: str
    cost_micros: int

    @classmethod
    def sum_of(cls, days: Sequence[DailyUsage]) -> UsageTotals:
        cost = sum(d.cost for d in days)
        return cls(requests=sum(d.requests for d in days), errors=sum(d.errors for d in days),
                   input_tokens=sum(d.input_tokens for d in days),
                   output_tokens=sum(d.output_tokens for d in days),
                   cost=format_amount(cost), cost_micros=cost)


class DailyUsageOut(UsageTotals):
    day: date
    model: str | None  # only when grouped by model

    @classmethod
    def of(cls, day: DailyUsage) -> DailyUsageOut:
        return cls(day=day.day, model=day.model, requests=day.requests, errors=day.errors,
                   input_tokens=day.input_tokens, output_tokens=day.output_tokens,
                   cost=format_amount(day.cost), cost_micros=day.cost)


class DailyUsageReport(BaseModel):
    by_model: bool
    items: list[DailyUsageOut]  # oldest day first
    total: UsageTotals

    @classmethod
    def of(cls, days: Sequence[DailyUsage], by_model: bool) -> DailyUsageReport:
        return cls(by_model=by_model, items=[DailyUsageOut.of(d) for d in days],
                   total=UsageTotals.sum_of(days))
