"""Upstream channels: CRUD with encrypted secrets, selection, failure tracking.

Auto-disable: ``failure_threshold`` consecutive failures (connect errors / 5xx, reported by
the relay through :meth:`ChannelService.record_failure`) move an enabled channel to
``auto_disabled``, write a ``channel_events`` row and a warning log line. A success resets
the streak. The operator re-enables with :meth:`ChannelService.set_enabled`.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cozegate.channels.crypto import SecretBox
from cozegate.channels.errors import ChannelNameTaken, ChannelNotFound
from cozegate.channels.repository import ChannelRepository
from cozegate.channels.schemas import ChannelCreate, ChannelCredentials, ChannelUpdate
from cozegate.channels.selection import order_candidates, serves
from cozegate.models import Channel, ChannelEvent
from cozegate.models.base import utcnow
from cozegate.models.channel import CHANNEL_DISABLED, CHANNEL_ENABLED

logger = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 500


class ChannelService:
    """Never commits: the caller owns the transaction."""

    def __init__(
        self,
        secret_box: SecretBox,
        *,
        failure_threshold: int = 5,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.secret_box = secret_box
        self.failure_threshold = failure_threshold
        self._rng = rng if rng is not None else random.Random()
        self._clock = clock

    async def create_channel(self, session: AsyncSession, data: ChannelCreate) -> Channel:
        repo = ChannelRepository(session)
        if await repo.get_by_name(data.name) is not None:
            raise ChannelNameTaken(f"a channel named {data.name!r} exists already")
        credentials = ChannelCredentials(
            auth_type=data.auth_type, token=data.token, oauth_jwt=data.oauth_jwt
        )
        return await repo.add(
            Channel(
                name=data.name,
                type=data.type,
                auth_type=data.auth_type,
                base_url=data.base_url,
                secret_ciphertext=self.secret_box.encrypt(credentials.to_plaintext()),
                status=CHANNEL_ENABLED if data.enabled else CHANNEL_DISABLED,
                priority=data.priority,
                weight=data.weight,
                targets=data.targets or None,
                consecutive_failures=0,
            )
        )

    async def update_channel(
        self, session: AsyncSession, channel_id: int, data: ChannelUpdate
    ) -> Channel:
        channel = await self.get_channel(session, channel_id)
        fields = data.model_fields_set
        for name in ("base_url", "priority", "weight"):
            if name in fields and getattr(data, name) is not None:
                setattr(channel, name, getattr(data, name))
        if "targets" in fields:
            channel.targets = data.targets or None
        if fields & {"auth_type", "token", "oauth_jwt"}:
            auth_type = data.auth_type or channel.auth_type
            credentials = ChannelCredentials(
                auth_type=auth_type, token=data.token, oauth_jwt=data.oauth_jwt
            )
            if (auth_type == "pat" and not data.token) or (
                auth_type == "oauth_jwt" and data.oauth_jwt is None
            ):
                raise ValueError(f"changing a {auth_type} channel's auth needs its secret")
            channel.auth_type = auth_type
            channel.secret_ciphertext = self.secret_box.encrypt(credentials.to_plaintext())
        await session.flush()
        return channel

    async def delete_channel(self, session: AsyncSession, channel_id: int) -> None:
        repo = ChannelRepository(session)
        await repo.delete(await self.get_channel(session, channel_id))

    async def get_channel(self, session: AsyncSession, channel_id: int) -> Channel:
        channel = await ChannelRepository(session).get(channel_id)
        if channel is None:
            raise ChannelNotFound(f"no channel with id {channel_id}")
        return channel

    async def get_by_name(self, session: AsyncSession, name: str) -> Channel:
        """By name, which is also the seed's ``account_id``."""
        channel = await ChannelRepository(session).get_by_name(name)
        if channel is None:
            raise ChannelNotFound(f"no channel named {name!r}")
        return channel

    async def list_channels(self, session: AsyncSession) -> Sequence[Channel]:
        return await ChannelRepository(session).list()

    def credentials(self, channel: Channel) -> ChannelCredentials:
        return ChannelCredentials.from_plaintext(
            channel.auth_type, self.secret_box.decrypt(channel.secret_ciphertext)
        )

    async def select_channels(self, session: AsyncSession, *targets: str | None) -> list[Channel]:
        """Enabled channels serving any of ``targets`` (workflow id, model name), in the
        order to try them: priority descending, weighted random among equal priorities.
        Empty when none serves them (callers raise NoChannelAvailable)."""
        enabled = await ChannelRepository(session).list_enabled()
        return order_candidates([c for c in enabled if serves(c, targets)], self._rng)

    async def record_failure(self, session: AsyncSession, channel_id: int, error: str) -> bool:
        """Count a failure; True when this one crossed the threshold and disabled the channel."""
        repo = ChannelRepository(session)
        now = self._clock()
        streak = await repo.count_failure(channel_id, error[:MAX_ERROR_LENGTH], now)
        if streak is None:
            raise ChannelNotFound(f"no channel with id {channel_id}")
        if streak < self.failure_threshold or not await repo.auto_disable(channel_id):
            return False
        message = f"disabled after {streak} consecutive failures; last: {error[:200]}"
        await repo.add_event(
            ChannelEvent(
                channel_id=channel_id, kind="auto_disabled", message=message, created_at=now
            )
        )
        logger.warning("channel %s auto-disabled: %s", channel_id, message)
        return True

    async def record_success(self, session: AsyncSession, channel_id: int) -> None:
        await ChannelRepository(session).reset_failures(channel_id, self._clock())

    async def set_enabled(
        self, session: AsyncSession, channel_id: int, enabled: bool, reason: str = ""
    ) -> Channel:
        """The operator's switch; also clears the failure streak when enabling."""
        channel = await self.get_channel(session, channel_id)
        channel.status = CHANNEL_ENABLED if enabled else CHANNEL_DISABLED
        if enabled:
            channel.consecutive_failures = 0
        await ChannelRepository(session).add_event(
            ChannelEvent(
                channel_id=channel_id,
                kind="enabled" if enabled else "disabled",
                message=reason,
                created_at=self._clock(),
            )
        )
        return channel

    async def events(self, session: AsyncSession, channel_id: int) -> Sequence[ChannelEvent]:
        return await ChannelRepository(session).events(channel_id)
