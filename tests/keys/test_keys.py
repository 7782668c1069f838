"""Gateway keys: hashing, shown once, and one distinct error per refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from cozegate.keys.cache import KeyCache
from cozegate.keys.errors import (
    InvalidApiKey,
    IpNotAllowed,
    KeyDisabled,
    KeyExpired,
    KeyQuotaExceeded,
    ModelNotAllowed,
    UserDisabled,
)
from cozegate.keys.schemas import KeyCreate, KeyUpdate
from cozegate.keys.service import KeyService
from cozegate.keys.tokens import generate_key, hash_key, key_hint, looks_like_key
from cozegate.models import ApiKey
from cozegate.users.service import UserService

pytestmark = pytest.mark.db


def test_key_shape() -> None:
    raw = generate_key()
    assert raw.startswith("sk-") and len(raw) == 51 and looks_like_key(raw)
    assert all(c.isalnum() or c in "-_" for c in raw[3:])
    assert hash_key(raw) != raw and len(hash_key(raw)) == 64
    assert key_hint(raw) == raw[-4:]
    assert generate_key() != raw


async def test_raw_key_is_never_stored(db_session, make_user) -> None:
    user = await make_user("alice")
    created = await KeyService().create_key(db_session, user.id, KeyCreate(name="main"))
    await db_session.commit()
    assert looks_like_key(created.key)
    row = await db_session.scalar(select(ApiKey).where(ApiKey.id == created.id))
    assert row.key_hash == hash_key(created.key)
    assert row.hint == created.key[-4:] and not created.key.startswith("sk-" + row.hint)
    dump = (await db_session.execute(text("SELECT * FROM api_keys"))).all()
    assert created.key not in repr(dump)
    assert created.key[3:20] not in repr(dump)


async def _key(session, user_id: int, **fields) -> str:
    created = await KeyService().create_key(session, user_id, KeyCreate(name="k", **fields))
    await session.commit()
    return created.key


async def test_authenticate_ok_and_touch(db_session, make_user) -> None:
    user = await make_user("bob")
    raw = await _key(db_session, user.id)
    service = KeyService()
    record = await service.authenticate(db_session, raw, "1.2.3.4", "coze-workflow")
    await db_session.commit()
    assert record.user_id == user.id and record.last_used_at is not None
    stored = await service.get_key(db_session, record.id)
    await db_session.refresh(stored)
    assert stored.last_used_at is not None


async def test_invalid_key(db_session, make_user) -> None:
    service = KeyService()
    for raw in ("", "sk-short", "Bearer x", generate_key()):
        with pytest.raises(InvalidApiKey) as caught:
            await service.authenticate(db_session, raw)
        assert (caught.value.status_code, caught.value.code) == (401, "invalid_api_key")


@pytest.mark.parametrize(
    ("fields", "kwargs", "error", "status", "code"),
    [
        (
            {"expires_at": datetime.now(UTC) - timedelta(seconds=1)},
            {},
            KeyExpired,
            401,
            "key_expired",
        ),
        ({"quota": 0}, {}, KeyQuotaExceeded, 429, "key_quota_exceeded"),
        (
            {"allowed_models": ["wf-1", "coze-chatflow"]},
            {"model": "coze-workflow", "workflow_id": "wf-2"},
            ModelNotAllowed,
            403,
            "model_not_allowed",
        ),
        (
            {"allowed_ips": ["10.0.0.0/8", "2001:db8::/32"]},
            {"client_ip": "192.168.1.1"},
            IpNotAllowed,
            403,
            "ip_not_allowed",
        ),
    ],
)
async def test_each_refusal_is_distinct(
    db_session, make_user, fields, kwargs, error, status, code
) -> None:
    user = await make_user("carol")
    raw = await _key(db_session, user.id, **fields)
    with pytest.raises(error) as caught:
        await KeyService().authenticate(db_session, raw, **kwargs)
    assert (caught.value.status_code, caught.value.code) == (status, code)


async def test_allowlists_admit_what_they_name(db_session, make_user) -> None:
    user = await make_user("dave")
    raw = await _key(
        db_session, user.id, allowed_models=["wf-1"], allowed_ips=["10.0.0.0/8", "::1"]
    )
    service = KeyService()
    await service.authenticate(db_session, raw, "10.1.2.3", "coze-workflow", "wf-1")
    await service.authenticate(db_session, raw, "::1", "wf-1")
    await service.authenticate(db_session, raw, "10.0.0.1")  # no model: listing
    with pytest.raises(IpNotAllowed):
        await service.authenticate(db_session, raw, None, "wf-1")
    with pytest.raises(IpNotAllowed):
        await service.authenticate(db_session, raw, "not-an-ip", "wf-1")


async def test_disabled_key_and_user_and_cache_invalidation(db_session, make_user) -> None:
    user = await make_user("erin")
    service = KeyService(KeyCache(ttl=60))
    created = await service.create_key(db_session, user.id, KeyCreate(name="k"))
    await db_session.commit()
    await service.authenticate(db_session, created.key)
    assert len(service.cache) == 1

    await service.update_key(db_session, created.id, KeyUpdate(enabled=False))
    await db_session.commit()
    with pytest.raises(KeyDisabled) as caught:
        await service.authenticate(db_session, created.key)
    assert (caught.value.status_code, caught.value.code) == (403, "key_disabled")

    await service.update_key(db_session, created.id, KeyUpdate(enabled=True))
    await UserService().set_enabled(db_session, user.id, False)
    await db_session.commit()
    service.cache.invalidate_user(user.id)
    with pytest.raises(UserDisabled):
        await service.authenticate(db_session, created.key)


async def test_cache_serves_within_ttl_and_expires(db_session, make_user) -> None:
    user = await make_user("fay")
    now = [0.0]
    service = KeyService(KeyCache(ttl=5, clock=lambda: now[0]))
    created = await service.create_key(db_session, user.id, KeyCreate(name="k"))
    await db_session.commit()
    await service.authenticate(db_session, created.key)
    # Another process disables the key behind this cache's back.
    await db_session.execute(
        text("UPDATE api_keys SET enabled = :off WHERE id = :id"), {"off": False, "id": created.id}
    )
    await db_session.commit()
    await service.authenticate(db_session, created.key)  # still cached
    now[0] = 5.0
    with pytest.raises(KeyDisabled):
        await service.authenticate(db_session, created.key)


async def test_delete_and_list(db_session, make_user) -> None:
    user = await make_user("gus")
    service = KeyService()
    first = await service.create_key(db_session, user.id, KeyCreate(name="a"))
    await service.create_key(db_session, user.id, KeyCreate(name="b"))
    assert [k.name for k in await service.list_keys(db_session, user.id)] == ["a", "b"]
    await service.delete_key(db_session, first.id)
    await db_session.commit()
    with pytest.raises(InvalidApiKey):
        await service.authenticate(db_session, first.key)


def test_key_create_validates_networks() -> None:
    with pytest.raises(ValueError):
        KeyCreate(name="k", allowed_ips=["10.0.0.0/33"])
    with pytest.raises(ValueError):
        KeyCreate(name="k", expires_at=datetime(2030, 1, 1))
