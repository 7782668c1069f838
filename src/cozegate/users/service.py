"""Users and their pricing groups. Balances move only through ``billing`` (ledgered)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from cozegate.kit.money import RATIO_ONE
from cozegate.models import Group, User
from cozegate.models.group import DEFAULT_GROUP
from cozegate.users.errors import GroupNotFound, NameTaken, UserNotFound
from cozegate.users.repository import GroupRepository, UserRepository
from cozegate.users.schemas import GroupCreate, UserCreate


class UserService:
    """Never commits: the caller owns the transaction."""

    async def ensure_default_group(self, session: AsyncSession) -> Group:
        groups = GroupRepository(session)
        group = await groups.get_by_name(DEFAULT_GROUP)
        if group is None:
            group = await groups.add(Group(name=DEFAULT_GROUP, ratio_ppm=RATIO_ONE))
        return group

    async def create_group(self, session: AsyncSession, data: GroupCreate) -> Group:
        groups = GroupRepository(session)
        if await groups.get_by_name(data.name) is not None:
            raise NameTaken(f"group {data.name!r} already exists")
        return await groups.add(
            Group(name=data.name, ratio_ppm=data.ratio_ppm, description=data.description)
        )

    async def set_group_ratio(self, session: AsyncSession, name: str, ratio_ppm: int) -> Group:
        if ratio_ppm < 0:
            raise ValueError("a ratio cannot be negative")
        group = await self.get_group(session, name)
        group.ratio_ppm = ratio_ppm
        await session.flush()
        return group

    async def get_group(self, session: AsyncSession, name: str) -> Group:
        group = await GroupRepository(session).get_by_name(name)
        if group is None:
            raise GroupNotFound(f"no group named {name!r}")
        return group

    async def list_groups(self, session: AsyncSession) -> Sequence[Group]:
        return await GroupRepository(session).list()

    async def create_user(self, session: AsyncSession, data: UserCreate) -> User:
        users = UserRepository(session)
        if await users.get_by_name(data.name) is not None:
            raise NameTaken(f"user {data.name!r} already exists")
        if data.group is None:
            group = await self.ensure_default_group(session)
        else:
            group = await self.get_group(session, data.group)
        return await users.add(
            User(
                name=data.name,
                email=data.email,
                group_id=group.id,
                balance=0,
                is_admin=data.is_admin,
                enabled=True,
            )
        )

    async def get_user(self, session: AsyncSession, user_id: int) -> User:
        user = await UserRepository(session).get(user_id)
        if user is None:
            raise UserNotFound(f"no user with id {user_id}")
        return user

    async def get_user_by_name(self, session: AsyncSession, name: str) -> User:
        user = await UserRepository(session).get_by_name(name)
        if user is None:
            raise UserNotFound(f"no user named {name!r}")
        return user

    async def list_users(
        self, session: AsyncSession, *, offset: int = 0, limit: int = 100
    ) -> Sequence[User]:
        return await UserRepository(session).list(offset=offset, limit=limit)

    async def count_users(self, session: AsyncSession) -> int:
        return await UserRepository(session).count()

    async def set_enabled(self, session: AsyncSession, user_id: int, enabled: bool) -> User:
        user = await self.get_user(session, user_id)
        user.enabled = enabled
        await session.flush()
        return user

    async def move_to_group(self, session: AsyncSession, user_id: int, group_name: str) -> User:
        user = await self.get_user(session, user_id)
        group = await self.get_group(session, group_name)
        user.group_id = group.id
        await session.flush()
        await session.refresh(user, ["group"])
        return user
