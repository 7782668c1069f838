"""``/api/admin/keys``: gateway keys. The raw key is in the create response and nowhere else.

KeyService drops a changed key from its cache itself; the endpoint drops it once more after
the commit, closing the window in which a concurrent request could re-cache the old row.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from cozegate.admin.deps import PageDep, TxDep
from cozegate.admin.requests import KeyCreateBody, KeyUpdateBody
from cozegate.admin.schemas import KeyCreatedOut, KeyOut, Page
from cozegate.deps import RuntimeDep
from cozegate.models.base import utcnow

router = APIRouter(prefix="/keys")


@router.get("", summary="List keys (hints only, never the keys)")
async def list_keys(
    tx: TxDep, runtime: RuntimeDep, page: PageDep,
    user_id: Annotated[int | None, Query(description="Only this user's keys.")] = None,
) -> Page[KeyOut]:
    keys, total = await runtime.keys.page_keys(tx.session, user_id, offset=page.offset,
                                               limit=page.limit)
    now = utcnow()
    return Page(items=[KeyOut.of(k, now) for k in keys], total=total, offset=page.offset,
                limit=page.limit)


@router.post("", status_code=status.HTTP_201_CREATED,
             summary="Create a key; the response carries the raw key, shown this once")
async def create_key(body: KeyCreateBody, tx: TxDep, runtime: RuntimeDep) -> KeyCreatedOut:
    await runtime.users.get_user(tx.session, body.user_id)  # 404, not a foreign key error
    created = await runtime.keys.create_key(tx.session, body.user_id, body.to_service())
    key = await runtime.keys.get_key(tx.session, created.id)
    return KeyCreatedOut.created(key, created.key, utcnow())


@router.get("/{key_id}", summary="Show a key (hint only)")
async def get_key(key_id: int, tx: TxDep, runtime: RuntimeDep) -> KeyOut:
    return KeyOut.of(await runtime.keys.get_key(tx.session, key_id), utcnow())


@router.patch("/{key_id}", summary="Change a key (only the fields sent; null clears)")
async def update_key(key_id: int, body: KeyUpdateBody, tx: TxDep, runtime: RuntimeDep) -> KeyOut:
    key = await runtime.keys.update_key(tx.session, key_id, body.to_service())
    tx.after_commit(lambda: runtime.keys.cache.invalidate(key_id))
    return KeyOut.of(key, utcnow())


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Revoke (delete) a key for good")
async def delete_key(key_id: int, tx: TxDep, runtime: RuntimeDep) -> None:
    await runtime.keys.delete_key(tx.session, key_id)
    tx.after_commit(lambda: runtime.keys.cache.invalidate(key_id))
