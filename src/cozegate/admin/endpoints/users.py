"""``/api/admin/users``: users, their balance movements (top-ups, adjustments) and ledger.

Users are not deleted (their ledger rows reference them); disable them instead. A change
that affects authentication (enabled, group) drops the user's cached key records.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from cozegate.admin.deps import PageDep, Transaction, TxDep
from cozegate.admin.requests import AdjustmentBody, TopUpBody, UserUpdateBody
from cozegate.admin.schemas import LedgerEntryOut, Page, UserOut
from cozegate.deps import RuntimeDep
from cozegate.models import User
from cozegate.runtime import Runtime
from cozegate.users.errors import UserNotFound
from cozegate.users.schemas import UserCreate

router = APIRouter(prefix="/users")


@router.get("", summary="List users (oldest first)")
async def list_users(
    tx: TxDep, runtime: RuntimeDep, page: PageDep,
    name: Annotated[str | None, Query(description="Only the user with this name.")] = None,
) -> Page[UserOut]:
    if name is not None:
        users = await _by_name(tx, runtime, name)
        return Page(items=[UserOut.of(u) for u in users], total=len(users),
                    offset=page.offset, limit=page.limit)
    users = await runtime.users.list_users(tx.session, offset=page.offset, limit=page.limit)
    total = await runtime.users.count_users(tx.session)
    return Page(items=[UserOut.of(u) for u in users], total=total, offset=page.offset,
                limit=page.limit)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add a user (balance 0)")
async def create_user(body: UserCreate, tx: TxDep, runtime: RuntimeDep) -> UserOut:
    return UserOut.of(await runtime.users.create_user(tx.session, body))


@router.get("/{user_id}", summary="Show a user")
async def get_user(user_id: int, tx: TxDep, runtime: RuntimeDep) -> UserOut:
    return UserOut.of(await runtime.users.get_user(tx.session, user_id))


@router.patch("/{user_id}", summary="Enable/disable a user or move it to another group")
async def update_user(user_id: int, body: UserUpdateBody, tx: TxDep,
                      runtime: RuntimeDep) -> UserOut:
    user = await runtime.users.get_user(tx.session, user_id)
    if body.enabled is not None:
        user = await runtime.users.set_enabled(tx.session, user_id, body.enabled)
    if body.group is not None:
        user = await runtime.users.move_to_group(tx.session, user_id, body.group)
    # Cached key records carry the user's enabled flag and group ratio.
    tx.after_commit(lambda: runtime.keys.cache.invalidate_user(user_id))
    return UserOut.of(user)


@router.post("/{user_id}/top-ups", status_code=status.HTTP_201_CREATED,
             summary="Credit the balance, with a reason; returns the ledger entry")
async def top_up(user_id: int, body: TopUpBody, tx: TxDep,
                 runtime: RuntimeDep) -> LedgerEntryOut:
    await runtime.users.get_user(tx.session, user_id)
    entry = await runtime.billing.top_up(
        tx.session, user_id, body.micros, body.reason,
        idempotency_key=_idempotency_key("top-up", user_id, body.idempotency_key))
    return LedgerEntryOut.of(entry)


@router.post("/{user_id}/adjustments", status_code=status.HTTP_201_CREATED,
             summary="Correct the balance either way (never below zero), with a reason")
async def adjust(user_id: int, body: AdjustmentBody, tx: TxDep,
                 runtime: RuntimeDep) -> LedgerEntryOut:
    await runtime.users.get_user(tx.session, user_id)
    entry = await runtime.billing.adjust(
        tx.session, user_id, body.micros, body.reason,
        idempotency_key=_idempotency_key("adjust", user_id, body.idempotency_key))
    return LedgerEntryOut.of(entry)


@router.get("/{user_id}/ledger", summary="Every balance movement of a user")
async def ledger(
    user_id: int, tx: TxDep, runtime: RuntimeDep, page: PageDep,
    order: Annotated[Literal["desc", "asc"], Query(
        description="desc: newest first (default); asc: oldest first.")] = "desc",
) -> Page[LedgerEntryOut]:
    await runtime.users.get_user(tx.session, user_id)
    entries = await runtime.billing.ledger(tx.session, user_id=user_id, offset=page.offset,
                                           limit=page.limit, newest_first=order == "desc")
    total = await runtime.billing.ledger_count(tx.session, user_id=user_id)
    return Page(items=[LedgerEntryOut.of(e) for e in entries], total=total,
                offset=page.offset, limit=page.limit)


async def _by_name(tx: Transaction, runtime: Runtime, name: str) -> list[User]:
    try:
        return [await runtime.users.get_user_by_name(tx.session, name)]
    except UserNotFound:
        return []  # a filter that matches nothing is an empty page, not a 404


def _idempotency_key(kind: str, user_id: int, client_key: str | None) -> str | None:
    # Namespaced by user: the ledger's keys are global, and one client's key must never
    # return another user's entry.
    return None if client_key is None else f"admin-{kind}:{user_id}:{client_key}"
