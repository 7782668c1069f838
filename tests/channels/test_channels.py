"""Channel CRUD, encryption at rest, selection from the database, auto-disable."""

from __future__ import annotations

import logging
import random

import pytest
from sqlalchemy import text

from cozegate.channels.crypto import SecretBox
from cozegate.channels.errors import ChannelNameTaken, ChannelNotFound
from cozegate.channels.schemas import ChannelCreate, ChannelRead, ChannelUpdate
from cozegate.channels.service import ChannelService
from cozegate.config import OAuthJWTConfig

pytestmark = pytest.mark.db

PAT = "pat_supersecret_0123456789"
PRIVATE_KEY = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
)


def service(threshold: int = 3) -> ChannelService:
    return ChannelService(
        SecretBox("test-secret-key-0123456789"), failure_threshold=threshold, rng=random.Random(3)
    )


async def test_secrets_are_encrypted_at_rest(db_session) -> None:
    channels = service()
    pat = await channels.create_channel(db_session, ChannelCreate(name="cn", token=PAT))
    jwt = await channels.create_channel(
        db_session,
        ChannelCreate(
            name="jwt",
            auth_type="oauth_jwt",
            base_url="https://api.coze.com/",
            oauth_jwt=OAuthJWTConfig(app_id="app", key_id="kid", private_key=PRIVATE_KEY),
        ),
    )
    await db_session.commit()
    raw = repr((await db_session.execute(text("SELECT * FROM channels"))).all())
    assert PAT not in raw and "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in raw
    assert channels.credentials(pat).token == PAT
    credentials = channels.credentials(jwt)
    assert credentials.oauth_jwt.private_key == PRIVATE_KEY
    assert jwt.base_url == "https://api.coze.com"
    assert PAT not in repr(channels.credentials(pat))
    read = ChannelRead.model_validate(pat).model_dump()
    assert PAT not in repr(read) and "secret_ciphertext" not in read


async def test_names_are_unique_and_usable_as_account_id(db_session) -> None:
    channels = service()
    created = await channels.create_channel(db_session, ChannelCreate(name="default", token=PAT))
    with pytest.raises(ChannelNameTaken):
        await channels.create_channel(db_session, ChannelCreate(name="default", token=PAT))
    assert (await channels.get_by_name(db_session, "default")).id == created.id
    with pytest.raises(ChannelNotFound):
        await channels.get_by_name(db_session, "missing")
    with pytest.raises(ValueError):
        ChannelCreate(name="x", auth_type="oauth_jwt", token=PAT)


async def test_update_rotates_secret(db_session) -> None:
    channels = service()
    channel = await channels.create_channel(db_session, ChannelCreate(name="c", token=PAT))
    before = channel.secret_ciphertext
    await channels.update_channel(
        db_session, channel.id, ChannelUpdate(token="pat_new", priority=9, targets=["wf"])
    )
    assert channel.secret_ciphertext != before
    assert channels.credentials(channel).token == "pat_new"
    assert (channel.priority, channel.targets) == (9, ["wf"])


async def test_select_channels_by_target_priority_and_status(db_session) -> None:
    channels = service()
    for name, priority, targets in [
        ("backup", 0, None),
        ("primary", 10, ["wf-1"]),
        ("other", 10, ["wf-2"]),
        ("off", 20, None),
    ]:
        await channels.create_channel(
            db_session,
            ChannelCreate(name=name, token=PAT, priority=priority, targets=targets),
        )
    off = await channels.get_by_name(db_session, "off")
    await channels.set_enabled(db_session, off.id, False, "maintenance")
    await db_session.commit()
    names = [c.name for c in await channels.select_channels(db_session, "wf-1", "coze-workflow")]
    assert names == ["primary", "backup"]
    names = [c.name for c in await channels.select_channels(db_session, "wf-3")]
    assert names == ["backup"]


async def test_auto_disable_after_consecutive_failures(db_session, caplog) -> None:
    channels = service(threshold=3)
    channel = await channels.create_channel(db_session, ChannelCreate(name="flaky", token=PAT))
    assert not await channels.record_failure(db_session, channel.id, "connect error")
    await channels.record_success(db_session, channel.id)  # resets the streak
    assert not await channels.record_failure(db_session, channel.id, "502")
    assert not await channels.record_failure(db_session, channel.id, "502")
    with caplog.at_level(logging.WARNING, logger="cozegate.channels.service"):
        assert await channels.record_failure(db_session, channel.id, "503 upstream")
    assert not await channels.record_failure(db_session, channel.id, "503 again")  # once only
    await db_session.commit()
    await db_session.refresh(channel)
    assert channel.status == "auto_disabled" and channel.consecutive_failures == 4
    assert await channels.select_channels(db_session, "anything") == []
    events = await channels.events(db_session, channel.id)
    assert [e.kind for e in events] == ["auto_disabled"]
    assert "3 consecutive failures" in events[0].message
    assert any("auto-disabled" in record.getMessage() for record in caplog.records)

    await channels.set_enabled(db_session, channel.id, True, "fixed upstream")
    await db_session.commit()
    assert [c.name for c in await channels.select_channels(db_session, "x")] == ["flaky"]
    assert channel.consecutive_failures == 0
