"""Users and groups."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cozegate.users.errors import GroupNotFound, NameTaken, UserNotFound
from cozegate.users.schemas import GroupCreate, UserCreate, UserRead
from cozegate.users.service import UserService

pytestmark = pytest.mark.db

users = UserService()


async def test_default_group_and_user_read(db_session) -> None:
    user = await users.create_user(db_session, UserCreate(name="alice", is_admin=True))
    await db_session.commit()
    read = UserRead.of(user)
    assert (read.group, read.group_ratio, read.balance, read.balance_display) == (
        "default",
        "1",
        0,
        "0.000000",
    )
    assert read.is_admin and read.enabled
    with pytest.raises(NameTaken):
        await users.create_user(db_session, UserCreate(name="alice"))


async def test_groups_and_ratios(db_session) -> None:
    vip = await users.create_group(db_session, GroupCreate(name="vip", ratio=Decimal("0.8")))
    assert vip.ratio_ppm == 800_000
    user = await users.create_user(db_session, UserCreate(name="bob", group="vip"))
    assert user.group.ratio_ppm == 800_000
    await users.set_group_ratio(db_session, "vip", 1_250_000)
    moved = await users.move_to_group(db_session, user.id, "vip")
    assert UserRead.of(moved).group_ratio == "1.25"
    with pytest.raises(GroupNotFound):
        await users.create_user(db_session, UserCreate(name="carl", group="nope"))
    with pytest.raises(ValueError):
        GroupCreate(name="bad", ratio=Decimal("-1"))
    with pytest.raises(UserNotFound):
        await users.get_user(db_session, 999)
    assert [g.name for g in await users.list_groups(db_session)] == [
        "vip"
    ]  # "default" appears with its first user
