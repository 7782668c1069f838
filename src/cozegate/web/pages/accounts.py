"""Users (balances, ledger) and their keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from cozegate.admin.deps import MAX_PAGE_SIZE, Transaction, TxDep
from cozegate.admin.requests import (
    AdjustmentBody,
    GroupCreateBody,
    GroupUpdateBody,
    KeyCreateBody,
    KeyUpdateBody,
    TopUpBody,
)
from cozegate.admin.schemas import GroupOut, KeyOut, LedgerEntryOut, UserOut
from cozegate.deps import RuntimeDep
from cozegate.errors import CozegateError
from cozegate.keys.schemas import KeyUpdate
from cozegate.kit.money import parse_ratio
from cozegate.models.base import utcnow
from cozegate.runtime import Runtime
from cozegate.users.schemas import UserCreate
from cozegate.web.rendering import PAGE_SIZE, done, entries, pager, refused, render
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
    groups = await runtime.users.list_groups(tx.session)
    return "users.html", {"users": [UserOut.of(u) for u in users],
                          "groups": [GroupOut.of(g) for g in groups],
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


@router.post("/users/{user_id}/adjustment")
async def adjust(request: Request, user_id: int, _: ConsoleAdmin, form: Form, tx: TxDep,
                 runtime: RuntimeDep) -> Response:
    """A correction either way (never below zero), with a reason, into the ledger."""
    try:
        body = AdjustmentBody.model_validate(form)
        await runtime.users.get_user(tx.session, user_id)
        await runtime.billing.adjust(tx.session, user_id, body.micros, body.reason)
    except (CozegateError, ValidationError) as exc:
        return await refused(request, tx, exc, lambda: _user_or_all(tx, runtime, user_id))
    return done(f"users/{user_id}", "adjusted")


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


async def _user(tx: Transaction, runtime: Runtime, user_id: int,
                offset: int) -> tuple[str, dict[str, Any]]:
    user = await runtime.users.get_user(tx.session, user_id)
    keys, _count = await runtime.keys.page_keys(tx.session, user_id, offset=0,
                                                limit=MAX_PAGE_SIZE)
    movements = await runtime.billing.ledger(tx.session, user_id=user_id, offset=offset,
                                             limit=PAGE_SIZE, newest_first=True)
    total = await runtime.billing.ledger_count(tx.session, user_id=user_id)
    now = utcnow()
    groups = await runtime.users.list_groups(tx.session)
    return "user.html", {
        "user": UserOut.of(user), "keys": [KeyOut.of(k, now) for k in keys],
        "groups": [GroupOut.of(g) for g in groups],
        "ledger": [LedgerEntryOut.of(e) for e in movements], "pager": pager(offset, total)}


async def _user_or_all(tx: Transaction, runtime: Runtime,
                       user_id: int) -> tuple[str, dict[str, Any]]:
    try:
        return await _user(tx, runtime, user_id, 0)
    except CozegateError:  # no such user: the list of users, under the refusal
        return await _users(tx, runtime, 0)


@router.get("/users/{user_id}")
async def user_page(request: Request, user_id: int, _: ConsoleAdmin, tx: TxDep,
                    runtime: RuntimeDep, offset: Annotated[int, Query(ge=0)] = 0) -> Response:
    """One user: balance, keys, and every balance movement, newest first."""
    try:
        return render(request, *await _user(tx, runtime, user_id, offset))
    except CozegateError as exc:  # no such user
        template, context = await _users(tx, runtime, 0)
        return render(request, template, {**context, "error": exc.message}, exc.status_code)


@router.post("/users/{user_id}/group")
async def move_user(request: Request, user_id: int, _: ConsoleAdmin, form: Form, tx: TxDep,
                    runtime: RuntimeDep) -> Response:
    try:
        await runtime.users.move_to_group(tx.session, user_id, form.get("group", ""))
    except CozegateError as exc:
        return await refused(request, tx, exc, lambda: _user_or_all(tx, runtime, user_id))
    # Cached key records carry the group's ratio (as the admin API does).
    tx.after_commit(lambda: runtime.keys.cache.invalidate_user(user_id))
    return done(f"users/{user_id}", "user-moved")


@router.post("/groups")
async def create_group(request: Request, _: ConsoleAdmin, form: Form, tx: TxDep,
                       runtime: RuntimeDep) -> Response:
    try:
        body = GroupCreateBody.model_validate(form)
        await runtime.users.create_group(tx.session, body.to_service())
    except (CozegateError, ValidationError) as exc:
        return await refused(request, tx, exc, lambda: _users(tx, runtime, 0))
    return done("users", "group-created")


@router.post("/groups/{name}")
async def set_group_ratio(request: Request, name: str, _: ConsoleAdmin, form: Form,
                          tx: TxDep, runtime: RuntimeDep) -> Response:
    try:
        body = GroupUpdateBody.model_validate(form)
        await runtime.users.set_group_ratio(tx.session, name, parse_ratio(body.ratio))
    except (CozegateError, ValidationError) as exc:
        return await refused(request, tx, exc, lambda: _users(tx, runtime, 0))
    # Every cached key record carries its group's ratio (as the admin API does).
    tx.after_commit(runtime.keys.cache.clear)
    return done("users", "group-changed")


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
        fields["allowed_models"] = entries(fields["allowed_models"])
    if "allowed_ips" in fields:
        fields["allowed_ips"] = entries(fields["allowed_ips"])
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


@router.post("/keys/{key_id}/limits")
async def change_key(request: Request, key_id: int, _: ConsoleAdmin, form: Form, tx: TxDep,
                     runtime: RuntimeDep) -> Response:
    """New quota (blank = unlimited) and requests per minute (blank = the default)."""
    try:
        body = KeyUpdateBody.model_validate({"quota": form.get("quota"),
                                             "rpm_limit": form.get("rpm_limit")})
        await runtime.keys.update_key(tx.session, key_id, body.to_service())
    except (CozegateError, ValidationError) as exc:
        return await refused(request, tx, exc, lambda: _keys(tx, runtime, 0))
    tx.after_commit(lambda: runtime.keys.cache.invalidate(key_id))
    return done("keys", "key-changed")


@router.post("/keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: int, admin: ConsoleAdmin, form: Form,
                     tx: TxDep, runtime: RuntimeDep) -> Response:
    """Delete a key for good; the form must say so (``confirm``), as there is no undo."""
    try:
        if key_id == admin.id:
            raise LockOut("this is the key you are signed in with: revoke it from another")
        if form.get("confirm") != "yes":
            raise CozegateError("tick the box to confirm: a revoked key cannot come back",
                                status_code=400, code="not_confirmed")
        await runtime.keys.delete_key(tx.session, key_id)
    except CozegateError as exc:
        return await refused(request, tx, exc, lambda: _keys(tx, runtime, 0))
    tx.after_commit(lambda: runtime.keys.cache.invalidate(key_id))
    return done("keys", "key-revoked")
