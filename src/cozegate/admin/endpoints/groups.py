"""``/api/admin/groups``: pricing groups; a group's ratio multiplies every cost of its users."""

from __future__ import annotations

from fastapi import APIRouter, status

from cozegate.admin.deps import PageDep, TxDep
from cozegate.admin.requests import GroupCreateBody, GroupUpdateBody
from cozegate.admin.schemas import GroupOut, Page
from cozegate.deps import RuntimeDep
from cozegate.kit.money import parse_ratio

router = APIRouter(prefix="/groups")


@router.get("", summary="List groups")
async def list_groups(tx: TxDep, runtime: RuntimeDep, page: PageDep) -> Page[GroupOut]:
    groups = await runtime.users.list_groups(tx.session)  # a few rows: sliced in memory
    window = groups[page.offset:page.offset + page.limit]
    return Page(items=[GroupOut.of(g) for g in window], total=len(groups),
                offset=page.offset, limit=page.limit)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add a group")
async def create_group(body: GroupCreateBody, tx: TxDep, runtime: RuntimeDep) -> GroupOut:
    return GroupOut.of(await runtime.users.create_group(tx.session, body.to_service()))


@router.get("/{name}", summary="Show a group")
async def get_group(name: str, tx: TxDep, runtime: RuntimeDep) -> GroupOut:
    return GroupOut.of(await runtime.users.get_group(tx.session, name))


@router.patch("/{name}", summary="Set a group's ratio (applies to the next calls)")
async def set_ratio(name: str, body: GroupUpdateBody, tx: TxDep,
                    runtime: RuntimeDep) -> GroupOut:
    group = await runtime.users.set_group_ratio(tx.session, name, parse_ratio(body.ratio))
    # Every cached key record carries its group's ratio; a ratio change is rare enough
    # to drop them all rather than find the group's users.
    tx.after_commit(runtime.keys.cache.clear)
    return GroupOut.of(group)
