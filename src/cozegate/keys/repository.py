"""Queries for gateway keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cozegate.models import ApiKey, Group, User


class KeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, key_id: int) -> ApiKey | None:
        return await self.session.get(ApiKey, key_id)

    async def get_with_owner(self, key_hash: str) -> tuple[ApiKey, User, Group] | None:
        """The key, its user and the user's group in one query (the auth path)."""
        row = (
            await self.session.execute(
                select(ApiKey, User, Group)
                .join(User, User.id == ApiKey.user_id)
                .join(Group, Group.id == User.group_id)
                .where(ApiKey.key_hash == key_hash)
            )
        ).first()
        return None if row is None else (row[0], row[1], row[2])

    async def list_for_user(self, user_id: int | None = None) -> Sequence[ApiKey]:
        query = select(ApiKey).order_by(ApiKey.id)
        if user_id is not None:
            query = query.where(ApiKey.user_id == user_id)
        return (await self.session.scalars(query)).all()

    async def page(
        self, user_id: int | None = None, *, offset: int = 0, limit: int = 50
    ) -> tuple[Sequence[ApiKey], int]:
        """One page of keys (oldest first) and the total count, optionally of one user."""
        query = select(ApiKey)
        counted = select(func.count()).select_from(ApiKey)
        if user_id is not None:
            query = query.where(ApiKey.user_id == user_id)
            counted = counted.where(ApiKey.user_id == user_id)
        items = (
            await self.session.scalars(query.order_by(ApiKey.id).offset(offset).limit(limit))
        ).all()
        return items, await self.session.scalar(counted) or 0

    async def add(self, key: ApiKey) -> ApiKey:
        self.session.add(key)
        await self.session.flush()
        return key

    async def delete(self, key: ApiKey) -> None:
        await self.session.delete(key)
        await self.session.flush()

    async def touch(self, key_id: int, when: datetime) -> None:
        await self.session.execute(
            update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=when)
        )
