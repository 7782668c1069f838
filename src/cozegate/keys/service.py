"""Gateway keys: create (raw key shown once), change, authenticate."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from cozegate.db import SessionMaker
from cozegate.keys.cache import KeyCache
from cozegate.keys.errors import (
    InvalidApiKey,
    IpNotAllowed,
    KeyDisabled,
    KeyExpired,
    KeyNotFound,
    KeyQuotaExceeded,
    ModelNotAllowed,
    UserDisabled,
)
from cozegate.keys.repository import KeyRepository
from cozegate.keys.schemas import (
    KeyCreate,
    KeyCreated,
    KeyRead,
    KeyRecord,
    KeyUpdate,
    parse_networks,
)
from cozegate.keys.tokens import generate_key, hash_key, key_hint, looks_like_key
from cozegate.models import ApiKey, Group, User
from cozegate.models.base import utcnow

# last_used_at is written at most this often per key: a write per request would turn every
# authenticated read into a write transaction (and serialize SQLite).
TOUCH_INTERVAL = timedelta(seconds=60)


def record_of(key: ApiKey, user: User, group: Group) -> KeyRecord:
    return KeyRecord(
        id=key.id,
        user_id=key.user_id,
        name=key.name,
        key_hash=key.key_hash,
        enabled=key.enabled,
        expires_at=key.expires_at,
        quota_remaining=key.quota_remaining,
        allowed_models=frozenset(key.allowed_models) if key.allowed_models else None,
        allowed_networks=parse_networks(key.allowed_ips),
        rpm_limit=key.rpm_limit,
        rate_limits=dict(key.rate_limits or {}),
        last_used_at=key.last_used_at,
        user_enabled=user.enabled,
        is_admin=user.is_admin,
        group_ratio_ppm=group.ratio_ppm,
    )


class KeyService:
    """Never commits: the caller owns the transaction. Holds the key cache."""

    def __init__(
        self, cache: KeyCache | None = None, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.cache = cache if cache is not None else KeyCache()
        self._clock = clock
        self._loading: dict[str, asyncio.Future[KeyRecord]] = {}

    async def create_key(self, session: AsyncSession, user_id: int, data: KeyCreate) -> KeyCreated:
        raw = generate_key()
        key = await KeyRepository(session).add(
            ApiKey(
                user_id=user_id,
                name=data.name,
                key_hash=hash_key(raw),
                hint=key_hint(raw),
                enabled=True,
                expires_at=data.expires_at,
                quota_remaining=data.quota,
                used=0,
                allowed_models=data.allowed_models or None,
                allowed_ips=data.allowed_ips or None,
                rpm_limit=data.rpm_limit,
                rate_limits=data.rate_limits or None,
            )
        )
        return KeyCreated(**KeyRead.model_validate(key).model_dump(), key=raw)

    async def get_key(self, session: AsyncSession, key_id: int) -> ApiKey:
        key = await KeyRepository(session).get(key_id)
        if key is None:
            raise KeyNotFound(f"no key with id {key_id}")
        return key

    async def list_keys(
        self, session: AsyncSession, user_id: int | None = None
    ) -> Sequence[ApiKey]:
        return await KeyRepository(session).list_for_user(user_id)

    async def page_keys(
        self,
        session: AsyncSession,
        user_id: int | None = None,
        *,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[Sequence[ApiKey], int]:
        """A page of keys and the total, for listings that must not load every key."""
        return await KeyRepository(session).page(user_id, offset=offset, limit=limit)

    async def update_key(self, session: AsyncSession, key_id: int, data: KeyUpdate) -> ApiKey:
        key = await self.get_key(session, key_id)
        for name in data.model_fields_set:
            value = getattr(data, name)
            if name == "quota":
                key.quota_remaining = value
            elif name in ("allowed_models", "allowed_ips", "rate_limits"):
                setattr(key, name, value or None)
            else:
                setattr(key, name, value)
        await session.flush()
        self.cache.invalidate(key_id)
        return key

    async def delete_key(self, session: AsyncSession, key_id: int) -> None:
        repository = KeyRepository(session)
        key = await self.get_key(session, key_id)
        await repository.delete(key)
        self.cache.invalidate(key_id)

    async def authenticate(
        self,
        session: AsyncSession,
        raw_key: str,
        client_ip: str | None = None,
        model: str | None = None,
        workflow_id: str | None = None,
    ) -> KeyRecord:
        """The key's record, or the specific reason it may not be used.

        Checks, in order: known key, enabled (key, then user), not expired, client IP in the
        allowlist, quota left, model/workflow in the allowlist (skipped when neither is
        given, e.g. for listing models). A touch of ``last_used_at`` may be flushed into the
        caller's transaction.
        """
        record = self.cached(raw_key)
        if record is None:
            record = await self.load(session, raw_key)
        self.check(record, client_ip, model, workflow_id)
        if self.touch_due(record):
            record = self.touched(record)
            await KeyRepository(session).touch(record.id, record.last_used_at)  # type: ignore[arg-type]
        return record

    # -- the steps of authenticate, for callers that avoid a session on the common path --

    def cached(self, raw_key: str) -> KeyRecord | None:
        """The key's cached record; None on a cache miss. InvalidApiKey for a malformed key."""
        if not looks_like_key(raw_key):
            raise InvalidApiKey("invalid API key")
        return self.cache.get(hash_key(raw_key))

    async def load_once(self, sessionmaker: SessionMaker, raw_key: str) -> KeyRecord:
        """:meth:`load` in a session of its own, shared by the requests that missed the
        cache for the same key meanwhile: when a busy key's entry expires, every request in
        flight misses at once, and one query answers them all."""
        key_hash = hash_key(raw_key)
        loading = self._loading.get(key_hash)
        if loading is None:
            loading = asyncio.ensure_future(self._load_in_session(sessionmaker, raw_key))
            self._loading[key_hash] = loading
            loading.add_done_callback(lambda _: self._loading.pop(key_hash, None))
        return await asyncio.shield(loading)

    async def _load_in_session(self, sessionmaker: SessionMaker, raw_key: str) -> KeyRecord:
        async with sessionmaker() as session:
            return await self.load(session, raw_key)

    async def load(self, session: AsyncSession, raw_key: str) -> KeyRecord:
        """The key's record from the database (and into the cache)."""
        found = await KeyRepository(session).get_with_owner(hash_key(raw_key))
        if found is None:
            raise InvalidApiKey("invalid API key")
        record = record_of(*found)
        self.cache.put(record)
        return record

    def check(self, record: KeyRecord, client_ip: str | None = None, model: str | None = None,
              workflow_id: str | None = None) -> None:
        """The checks of :meth:`authenticate`, in its order; raises the first that fails."""
        now = self._clock()
        if not record.enabled:
            raise KeyDisabled(f"key {record.name!r} is disabled")
        if not record.user_enabled:
            raise UserDisabled("the key's user is disabled")
        if record.expires_at is not None and record.expires_at <= now:
            raise KeyExpired(
                f"key {record.name!r} expired at {record.expires_at.isoformat()}",
                details={"expires_at": record.expires_at.isoformat()},
            )
        if not record.allows_ip(client_ip):
            raise IpNotAllowed(f"client IP {client_ip} is not allowed for this key")
        if record.quota_remaining is not None and record.quota_remaining <= 0:
            raise KeyQuotaExceeded(f"key {record.name!r} has used up its quota")
        if (model or workflow_id) and not record.allows(model, workflow_id):
            target = workflow_id or model
            raise ModelNotAllowed(
                f"this key may not call {target!r}",
                details={"model": model, "workflow_id": workflow_id},
            )

    def touch_due(self, record: KeyRecord) -> bool:
        """``last_used_at`` is written at most every TOUCH_INTERVAL."""
        return record.last_used_at is None or \
            self._clock() - record.last_used_at >= TOUCH_INTERVAL

    def touched(self, record: KeyRecord) -> KeyRecord:
        """The record used now (cached as such); the caller writes ``last_used_at``."""
        record = record.touched(self._clock())
        self.cache.replace(record)
        return record
