"""Users (balances, ledger) and their keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from cozegate.admin.deps import MAX_PAGE_SIZE, Transaction, TxDep
from cozegate.admin.requests import KeyCreateBody, TopUpBody
from cozegate.admin.schemas import KeyOut, LedgerEntryOut, UserOut
from cozegate.deps import RuntimeDep
from cozegate.errors import CozegateError
from cozegate.keys.schemas import KeyUpdate
from cozegate.models.base import utcnow
from cozegate.runtime import Runtime
from cozegate.users.schemas import UserCreate
from cozegate.web.rendering import PAGE_SIZE, done, pager, refused, render
from cozegate.web.session import ConsoleAdmin, Form

router = APIRouter(include_in_schema=False)


class LockOut(CozegateError):
    """The console refuses to lock its own operator out (the admin API, used on purpose,
    does not)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status_code=409, code="own_access")


# -- users ---------------------------------------------------------------------------------


async def _users(tx: Transaction, runtime: Runtime, offset: int) -> tuple[str, dict[str, Any]]:
    users = await runtime.users.list_users(tx.session, offset=offset, limit=PAGE_SIZE)
    total = await runtime.users.count_users(tx.session)
    return "users.html", {"users": [UserOut.of(u) for u in users],
                          "pager": pager(offset, total)}


@router.get("/users")
async def users_page(request: Request, _: ConsoleAdmin, tx: TxDep, runtime: RuntimeDep,
                     offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    return render(request, *await _users(tx, runtime, offset))


@router.post("/users")
async def create_user(request: Request, _: ConsoleAdmin, form: Form, tx: TxDep,
                      runtime: RuntimeDep) -> Response:
    try:
        await runtime.users.create_user(tx.session, UserCreate.model_validate(form))
    except (CozegateError, ValidationError) as exc:
        return await refused(request, tx, exc, lambda: _users(tx, runtime, 0))
    return done("users", "user-created")


@router.post("/users/{user_id}/top-up")
async def top_up(request: Request, user_id: int, _: ConsoleAdmin, form: Form, tx: TxDep,
                 runtime: RuntimeDep) -> Response:
    try:
        body = TopUpBody.model_validate(form)
        await runtime.users.get_user(tx.session, user_id)
        await runtime.billing.top_up(tx.session, user_id, body.micros, body.reason)
    except (CozegateError, ValidationError) as exc:
        return await refused(request, tx, exc, lambda: _users(tx, runtime, 0))
    return done("users", "topped-up")


@router.post("/users/{user_id}/enabled")
async def switch_user(request: Request, user_id: int, admin: ConsoleAdmin, form: Form,
                      tx: TxDep, runtime: RuntimeDep) -> Response:
    enabled = form.get("enabled") == "true"
    try:
        if user_id == admin.user_id and not enabled:
            raise LockOut("this is the user you are signed in as: disable it from another")
        await runtime.users.set_enabled(tx.session, user_id, enabled)
    except CozegateError as exc:
        return await refused(request, tx, exc, lambda: _users(tx, runtime, 0))
    # Cached key records carry the user's enabled flag (as the admin API does).
    tx.after_commit(lambda: runtime.keys.cache.invalidate_user(user_id))
    return done("users", "user-switched")


@router.get("/users/{user_id}")
async def user_page(request: Request, user_id: int, _: ConsoleAdmin, tx: TxDep,
                    runtime: RuntimeDep, offset: Annotated[int, Query(ge=0)] = 0) -> Response:
    """One user: balance, keys, and every balance movement, newest first."""
    try:
        user = await runtime.users.get_user(tx.session, user_id)
    except CozegateError as exc:
        return render(request, "users.html", {
            **(await _users(tx, runtime, 0))[1], "error": exc.message}, exc.status_code)
    keys, _count = await runtime.keys.page_keys(tx.session, user_id, offset=0,
                                                limit=MAX_PAGE_SIZE)
    entries = await runtime.billing.ledger(tx.session, user_id=user_id, offset=offset,
                                           limit=PAGE_SIZE, newest_first=True)
    total = await runtime.billing.ledger_count(tx.session, user_id=user_id)
    now = utcnow()
    return render(request, "user.html", {
        "user": UserOut.of(user), "keys": [KeyOut.of(k, now) for k in keys],
        "ledger": [LedgerEntryOut.of(e) for e in entries], "pager": pager(offset, total)})


# -- keys ----------------------------------------------------------------------------------


async def _keys(tx: Transaction, runtime: Runtime, offset: int) -> tuple[str, dict[str, Any]]:
    keys, total = await runtime.keys.page_keys(tx.session, None, offset=offset,
                                               limit=PAGE_SIZE)
    users = await runtime.users.list_users(tx.session, offset=0, limit=MAX_PAGE_SIZE)
    now = utcnow()
    return "keys.html", {"keys": [KeyOut.of(k, now) for k in keys],
                         "users": [UserOut.of(u) for u in users],
                         "pager": pager(offset, total)}


@router.get("/keys")
async def keys_page(request: Request, _: ConsoleAdmin, tx: TxDep, runtime: RuntimeDep,
                    offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    return render(request, *await _keys(tx, runtime, offset))


@router.post("/keys")
async def create_key(request: Request, _: ConsoleAdmin, form: Form, tx: TxDep,
                     runtime: RuntimeDep) -> Response:
    fields: dict[str, Any] = dict(form)
    if "allowed_models" in fields:  # one per line or comma-separated
        fields["allowed_models"] = _entries(fields["allowed_models"])
    if "allowed_ips" in fields:
        fields["allowed_ips"] = _entries(fields["allowed_ips"])
    if "expires_in_days" in fields:
        days = fields.pop("expires_in_days")
        fields["expires_at"] = (utcnow() + timedelta(days=int(days))).isoformat() \
            if days.isdigit() else days  # not a whole number: the model says why
    try:
        body = KeyCreateBody.model_validate(fields)
        await runtime.users.get_user(tx.session, body.user_id)
        created = await runtime.keys.create_key(tx.session, body.user_id, body.to_service())
    except (CozegateError, ValidationError) as exc:
        return await refused(request, tx, exc, lambda: _keys(tx, runtime, 0))
    await tx.session.flush()
    template, context = await _keys(tx, runtime, 0)
    return render(request, template, {**context, "new_key": created.key,
                                      "new_key_name": body.name}, status.HTTP_201_CREATED)


def _entries(text: str) -> list[str]:
    return [item.strip() for item in text.replace(",", "\n").splitlines() if item.strip()]


@router.post("/keys/{key_id}/enabled")
async def switch_key(request: Request, key_id: int, admin: ConsoleAdmin, form: Form,
                     tx: TxDep, runtime: RuntimeDep) -> Response:
    enabled = form.get("enabled") == "true"
    try:
        if key_id == admin.id and not enabled:
            raise LockOut("this is the key you are signed in with: disable it from another")
        await runtime.keys.update_key(tx.session, key_id, KeyUpdate(enabled=enabled))
    except CozegateError as exc:
        return await refused(request, tx, exc, lambda: _keys(tx, runtime, 0))
    tx.after_commit(lambda: runtime.keys.cache.invalidate(key_id))
    return done("keys", "key-switched")
