"""Queries for users and groups."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cozegate.models import Group, User


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_by_name(self, name: str) -> User | None:
        return await self.session.scalar(select(User).where(User.name == name))

    async def list(self, *, offset: int = 0, limit: int = 100) -> Sequence[User]:
        result = await self.session.scalars(
            select(User).order_by(User.id).offset(offset).limit(limit)
        )
        return result.all()

    async def count(self) -> int:
        return await self.session.scalar(select(func.count()).select_from(User)) or 0

    async def add(self, user: User) -> User:
        self.session.add(user)
        await self.session.flush()
        await self.session.refresh(user, ["group"])
        return user

    async def balance(self, user_id: int) -> int | None:
        return await self.session.scalar(select(User.balance).where(User.id == user_id))


class GroupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, group_id: int) -> Group | None:
        return await self.session.get(Group, group_id)

    async def get_by_name(self, name: str) -> Group | None:
        return await self.session.scalar(select(Group).where(Group.name == name))

    async def list(self) -> Sequence[Group]:
        return (await self.session.scalars(select(Group).order_by(Group.id))).all()

    async def add(self, group: Group) -> Group:
        self.session.add(group)
        await self.session.flush()
        return group
