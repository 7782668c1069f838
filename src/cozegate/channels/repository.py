"""Queries for channels and their events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cozegate.models import Channel, ChannelEvent
from cozegate.models.channel import CHANNEL_AUTO_DISABLED, CHANNEL_ENABLED


class ChannelRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, channel_id: int) -> Channel | None:
        return await self.session.get(Channel, channel_id)

    async def get_by_name(self, name: str) -> Channel | None:
        return await self.session.scalar(select(Channel).where(Channel.name == name))

    async def list(self) -> Sequence[Channel]:
        return (await self.session.scalars(select(Channel).order_by(Channel.id))).all()

    async def list_enabled(self) -> Sequence[Channel]:
        return (
            await self.session.scalars(
                select(Channel).where(Channel.status == CHANNEL_ENABLED).order_by(Channel.id)
            )
        ).all()

    async def add(self, channel: Channel) -> Channel:
        self.session.add(channel)
        await self.session.flush()
        return channel

    async def delete(self, channel: Channel) -> None:
        await self.session.delete(channel)
        await self.session.flush()

    async def count_failure(self, channel_id: int, error: str, when: datetime) -> int | None:
        """Atomically add one to the failure streak; the new streak length."""
        return await self.session.scalar(
            update(Channel)
            .where(Channel.id == channel_id)
            .values(
                consecutive_failures=Channel.consecutive_failures + 1,
                last_error=error,
                last_failure_at=when,
            )
            .returning(Channel.consecutive_failures)
            .execution_options(synchronize_session=False)
        )

    async def auto_disable(self, channel_id: int) -> bool:
        """enabled → auto_disabled; True only for the one call that made the change."""
        changed = await self.session.scalar(
            update(Channel)
            .where(Channel.id == channel_id, Channel.status == CHANNEL_ENABLED)
            .values(status=CHANNEL_AUTO_DISABLED)
            .returning(Channel.id)
            .execution_options(synchronize_session=False)
        )
        return changed is not None

    async def reset_failures(self, channel_id: int, when: datetime) -> None:
        # Conditional, so the common case (no streak) writes nothing.
        await self.session.execute(
            update(Channel)
            .where(Channel.id == channel_id, Channel.consecutive_failures > 0)
            .values(consecutive_failures=0, last_success_at=when)
            .execution_options(synchronize_session=False)
        )

    async def add_event(self, event: ChannelEvent) -> ChannelEvent:
        self.session.add(event)
        await self.session.flush()
        return event

    async def events(self, channel_id: int) -> Sequence[ChannelEvent]:
        return (
            await self.session.scalars(
                select(ChannelEvent)
                .where(ChannelEvent.channel_id == channel_id)
                .order_by(ChannelEvent.id)
            )
        ).all()
