"""``/console``: the operator's pages. Thin, like the admin API beside it: the same services,
the same request models (so a form is validated exactly as the JSON body would be), the same
one-transaction-per-request dependency.

A change is posted from a form and answered with a redirect back to its page (post, then
get: a reload does not post again), except a new key, whose raw value is shown on the answer
itself, once, and never put in a URL. A refused change re-renders its page with the reason
and the error's HTTP status, after rolling back whatever it had begun.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, ValidationError

from cozegate.access import authenticate, client_ip
from cozegate.admin.channel_probe import probe_channel, secret_hint
from cozegate.admin.deps import MAX_PAGE_SIZE, Transaction, TxDep
from cozegate.admin.requests import KeyCreateBody, PriceBody, TopUpBody
from cozegate.admin.schemas import (
    ChannelOut,
    DailyUsageOut,
    KeyOut,
    LedgerEntryOut,
    PriceOut,
    UsageOut,
    UserOut,
)
from cozegate.admin.usage_export import pinned, usage_csv
from cozegate.billing.price_service import PriceService
from cozegate.billing.schemas import DailyUsage, UsageFilter
from cozegate.billing.usage_repository import UsageRepository
from cozegate.deps import RuntimeDep
from cozegate.errors import CozegateError
from cozegate.keys.schemas import KeyUpdate
from cozegate.models import Channel
from cozegate.models.base import utcnow
from cozegate.runs.schemas import RunFilter, RunOut
from cozegate.runs.service import RunService
from cozegate.runtime import Runtime
from cozegate.users.schemas import UserCreate
from cozegate.web.session import COOKIE, PREFIX, ConsoleAdmin, Form, LoginRequired, read_form

router = APIRouter(prefix=PREFIX, include_in_schema=False)
F = TypeVar("F", bound=BaseModel)
PAGE_SIZE = 50
TEMPLATES = Path(__file__).parent / "templates"
# What a redirect after a change says (by code: a URL never carries text to show).
NOTICES = {
    "user-created": "User created.",
    "topped-up": "Balance topped up; the movement is in the ledger.",
    "user-switched": "User updated.",
    "key-switched": "Key updated.",
    "channel-switched": "Channel updated.",
    "price-set": "Price saved.",
    "task-cancelled": "Task cancelled.",
}


def install_console(app: FastAPI) -> None:
    """The console's routes and its way back to the login page."""
    app.state.console_templates = None  # loaded by the first page shown (see _templates)
    app.include_router(router)
    app.add_exception_handler(LoginRequired, _to_login)


def _templates(app: Any) -> Any:
    # Jinja2 is imported by the first page, not at start: a gateway nobody opens the console
    # of keeps its idle memory (bench/RESULTS.md (d)).
    if app.state.console_templates is None:
        from fastapi.templating import Jinja2Templates

        app.state.console_templates = Jinja2Templates(directory=TEMPLATES)
    return app.state.console_templates


async def _to_login(request: Request, exc: Exception) -> Response:
    return RedirectResponse(f"{PREFIX}/login", status_code=status.HTTP_303_SEE_OTHER)


def _render(request: Request, template: str, context: dict[str, Any],
            status_code: int = 200) -> HTMLResponse:
    templates = _templates(request.app)
    notice = NOTICES.get(request.query_params.get("done", ""))
    return templates.TemplateResponse(
        request, template, {"prefix": PREFIX, "notice": notice, **context},
        status_code=status_code, headers=_NO_STORE)


# Pages show balances and, once, a raw key: never cached, never framed by another site.
_NO_STORE = {"Cache-Control": "no-store", "X-Frame-Options": "DENY",
             "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; "
                                        "frame-ancestors 'none'; form-action 'self'"}


def _done(page: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/{page}?done={notice}",
                            status_code=status.HTTP_303_SEE_OTHER)


async def _refused(request: Request, tx: Transaction, error: Exception,
                   page: Callable[[], Awaitable[tuple[str, dict[str, Any]]]]) -> HTMLResponse:
    """Re-render ``page`` with why the change was refused (nothing of it is kept)."""
    await tx.session.rollback()
    if isinstance(error, ValidationError):
        message = _errors(error)
        code = status.HTTP_400_BAD_REQUEST  # as the admin API answers an invalid body
    else:
        assert isinstance(error, CozegateError)
        message, code = error.message, error.status_code
    template, context = await page()
    return _render(request, template, {**context, "error": message}, code)


class _LockOut(CozegateError):
    """The console refuses to lock its own operator out (the admin API, used on purpose,
    does not)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status_code=409, code="own_access")


def _field_error(error: Any) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


# -- sign in -------------------------------------------------------------------------------


@router.get("")
async def home() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/overview", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/login")
async def login_page(request: Request) -> HTMLResponse:
    return _render(request, "login.html", {})


@router.post("/login")
async def login(request: Request, runtime: RuntimeDep) -> Response:
    form = await read_form(request)
    token = form.get("key", "")
    try:
        key = await authenticate(runtime, token or None, client_ip(request))
    except CozegateError as exc:
        return _render(request, "login.html", {"error": exc.message}, exc.status_code)
    if not key.is_admin:
        return _render(request, "login.html", {"error": "this key is not an admin key"},
                       status.HTTP_403_FORBIDDEN)
    response = RedirectResponse(f"{PREFIX}/overview", status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(COOKIE, token, path=PREFIX, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.post("/logout")
async def logout(_: Form) -> RedirectResponse:
    response = RedirectResponse(f"{PREFIX}/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


# -- overview ------------------------------------------------------------------------------


@router.get("/overview")
async def overview(request: Request, admin: ConsoleAdmin, tx: TxDep,
                   runtime: RuntimeDep) -> HTMLResponse:
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    usage = UsageRepository(tx.session)
    days = await usage.daily(UsageFilter(since=today - timedelta(days=6)))
    latest = await usage.page(UsageFilter(), offset=0, limit=10)
    channels = await runtime.channels.list_channels(tx.session)
    return _render(request, "overview.html", {
        "admin": admin,
        "users": await runtime.users.count_users(tx.session),
        "channels": [_channel(runtime, c) for c in channels],
        "days": [_day(d) for d in days],
        "latest": [UsageOut.of(row) for row in latest.items],
    })


def _day(day: DailyUsage) -> dict[str, Any]:
    return DailyUsageOut.of(day).model_dump()


# -- users ---------------------------------------------------------------------------------


async def _users(tx: Transaction, runtime: Runtime, offset: int) -> tuple[str, dict[str, Any]]:
    users = await runtime.users.list_users(tx.session, offset=offset, limit=PAGE_SIZE)
    total = await runtime.users.count_users(tx.session)
    return "users.html", {"users": [UserOut.of(u) for u in users],
                          "pager": _pager(offset, total)}


@router.get("/users")
async def users_page(request: Request, _: ConsoleAdmin, tx: TxDep, runtime: RuntimeDep,
                     offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    return _render(request, *await _users(tx, runtime, offset))


@router.post("/users")
async def create_user(request: Request, _: ConsoleAdmin, form: Form, tx: TxDep,
                      runtime: RuntimeDep) -> Response:
    try:
        await runtime.users.create_user(tx.session, UserCreate.model_validate(form))
    except (CozegateError, ValidationError) as exc:
        return await _refused(request, tx, exc, lambda: _users(tx, runtime, 0))
    return _done("users", "user-created")


@router.post("/users/{user_id}/top-up")
async def top_up(request: Request, user_id: int, _: ConsoleAdmin, form: Form, tx: TxDep,
                 runtime: RuntimeDep) -> Response:
    try:
        body = TopUpBody.model_validate(form)
        await runtime.users.get_user(tx.session, user_id)
        await runtime.billing.top_up(tx.session, user_id, body.micros, body.reason)
    except (CozegateError, ValidationError) as exc:
        return await _refused(request, tx, exc, lambda: _users(tx, runtime, 0))
    return _done("users", "topped-up")


@router.post("/users/{user_id}/enabled")
async def switch_user(request: Request, user_id: int, admin: ConsoleAdmin, form: Form,
                      tx: TxDep, runtime: RuntimeDep) -> Response:
    enabled = form.get("enabled") == "true"
    try:
        if user_id == admin.user_id and not enabled:
            raise _LockOut("this is the user you are signed in as: disable it from another")
        await runtime.users.set_enabled(tx.session, user_id, enabled)
    except CozegateError as exc:
        return await _refused(request, tx, exc, lambda: _users(tx, runtime, 0))
    # Cached key records carry the user's enabled flag (as the admin API does).
    tx.after_commit(lambda: runtime.keys.cache.invalidate_user(user_id))
    return _done("users", "user-switched")


@router.get("/users/{user_id}")
async def user_page(request: Request, user_id: int, _: ConsoleAdmin, tx: TxDep,
                    runtime: RuntimeDep, offset: Annotated[int, Query(ge=0)] = 0) -> Response:
    """One user: balance, keys, and every balance movement, newest first."""
    try:
        user = await runtime.users.get_user(tx.session, user_id)
    except CozegateError as exc:
        return _render(request, "users.html", {
            **(await _users(tx, runtime, 0))[1], "error": exc.message}, exc.status_code)
    keys, _count = await runtime.keys.page_keys(tx.session, user_id, offset=0,
                                                limit=MAX_PAGE_SIZE)
    entries = await runtime.billing.ledger(tx.session, user_id=user_id, offset=offset,
                                           limit=PAGE_SIZE, newest_first=True)
    total = await runtime.billing.ledger_count(tx.session, user_id=user_id)
    now = utcnow()
    return _render(request, "user.html", {
        "user": UserOut.of(user), "keys": [KeyOut.of(k, now) for k in keys],
        "ledger": [LedgerEntryOut.of(e) for e in entries], "pager": _pager(offset, total)})


# -- keys ----------------------------------------------------------------------------------


async def _keys(tx: Transaction, runtime: Runtime, offset: int) -> tuple[str, dict[str, Any]]:
    keys, total = await runtime.keys.page_keys(tx.session, None, offset=offset,
                                               limit=PAGE_SIZE)
    users = await runtime.users.list_users(tx.session, offset=0, limit=MAX_PAGE_SIZE)
    now = utcnow()
    return "keys.html", {"keys": [KeyOut.of(k, now) for k in keys],
                         "users": [UserOut.of(u) for u in users],
                         "pager": _pager(offset, total)}


@router.get("/keys")
async def keys_page(request: Request, _: ConsoleAdmin, tx: TxDep, runtime: RuntimeDep,
                    offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    return _render(request, *await _keys(tx, runtime, offset))


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
        return await _refused(request, tx, exc, lambda: _keys(tx, runtime, 0))
    await tx.session.flush()
    template, context = await _keys(tx, runtime, 0)
    return _render(request, template, {**context, "new_key": created.key,
                                       "new_key_name": body.name}, status.HTTP_201_CREATED)


def _entries(text: str) -> list[str]:
    return [item.strip() for item in text.replace(",", "\n").splitlines() if item.strip()]


@router.post("/keys/{key_id}/enabled")
async def switch_key(request: Request, key_id: int, admin: ConsoleAdmin, form: Form,
                     tx: TxDep, runtime: RuntimeDep) -> Response:
    enabled = form.get("enabled") == "true"
    try:
        if key_id == admin.id and not enabled:
            raise _LockOut("this is the key you are signed in with: disable it from another")
        await runtime.keys.update_key(tx.session, key_id, KeyUpdate(enabled=enabled))
    except CozegateError as exc:
        return await _refused(request, tx, exc, lambda: _keys(tx, runtime, 0))
    tx.after_commit(lambda: runtime.keys.cache.invalidate(key_id))
    return _done("keys", "key-switched")


# -- channels ------------------------------------------------------------------------------


def _channel(runtime: Runtime, channel: Channel) -> ChannelOut:
    return ChannelOut.of(channel, secret_hint(runtime, channel))


async def _channels(tx: Transaction, runtime: Runtime) -> tuple[str, dict[str, Any]]:
    channels = await runtime.channels.list_channels(tx.session)
    return "channels.html", {"channels": [_channel(runtime, c) for c in channels]}


@router.get("/channels")
async def channels_page(request: Request, _: ConsoleAdmin, tx: TxDep,
                        runtime: RuntimeDep) -> HTMLResponse:
    return _render(request, *await _channels(tx, runtime))


@router.post("/channels/{channel_id}/test")
async def test_channel(request: Request, channel_id: int, _: ConsoleAdmin, form: Form,
                       runtime: RuntimeDep) -> Response:
    # Like the admin API's test: no transaction held while Coze answers.
    outcome: dict[str, Any] = {"tested": channel_id}
    code = status.HTTP_200_OK
    try:
        outcome["test"] = await probe_channel(runtime, channel_id)
    except CozegateError as exc:  # an unknown channel
        outcome["error"], code = exc.message, exc.status_code
    async with runtime.sessionmaker() as session:
        template, context = await _channels(Transaction(session), runtime)
    return _render(request, template, {**context, **outcome}, code)


@router.post("/channels/{channel_id}/enabled")
async def switch_channel(request: Request, channel_id: int, _: ConsoleAdmin, form: Form,
                         tx: TxDep, runtime: RuntimeDep) -> Response:
    try:
        await runtime.channels.set_enabled(tx.session, channel_id,
                                           form.get("enabled") == "true",
                                           "from the web console")
    except CozegateError as exc:
        return await _refused(request, tx, exc, lambda: _channels(tx, runtime))
    tx.after_commit(runtime.directory.invalidate)
    return _done("channels", "channel-switched")


# -- prices --------------------------------------------------------------------------------


async def _prices(tx: Transaction) -> tuple[str, dict[str, Any]]:
    prices = await PriceService().list_prices(tx.session)
    return "prices.html", {"prices": [PriceOut.of(p) for p in prices]}


@router.get("/prices")
async def prices_page(request: Request, _: ConsoleAdmin, tx: TxDep) -> HTMLResponse:
    return _render(request, *await _prices(tx))


@router.post("/prices")
async def set_price(request: Request, _: ConsoleAdmin, form: Form, tx: TxDep,
                    runtime: RuntimeDep) -> Response:
    fields = dict(form)
    target = fields.pop("target", "")
    try:
        if not target:
            raise CozegateError("give the model name or workflow id (* = default price)",
                                status_code=400, code="invalid_request")
        body = PriceBody.model_validate(fields)
        await PriceService().set_price(tx.session, body.to_service(target))
    except (CozegateError, ValidationError) as exc:
        return await _refused(request, tx, exc, lambda: _prices(tx))
    tx.after_commit(runtime.prices.invalidate)
    return _done("prices", "price-set")


# -- runs ----------------------------------------------------------------------------------


@router.get("/runs")
async def runs_page(request: Request, _: ConsoleAdmin, tx: TxDep,
                    offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    query = _query(request)
    try:
        filters = _filters(query, RunFilter, {"key_id": "api_key_id"})
    except ValidationError as exc:
        return _render(request, "runs.html", {"runs": [], "filters": query,
                                              "pager": _pager(0, 0), "error": _errors(exc)},
                       status.HTTP_400_BAD_REQUEST)
    found = await RunService().page(tx.session, filters, offset=offset, limit=PAGE_SIZE)
    return _render(request, "runs.html", {"runs": found.items, "filters": query,
                                          "pager": _pager(offset, found.total, query)})


@router.get("/runs/{run_id}")
async def run_page(request: Request, run_id: str, _: ConsoleAdmin, tx: TxDep) -> Response:
    """One run with its inputs and whole output (kept after Coze's own retention)."""
    try:
        run = RunOut.of(await RunService().get(tx.session, run_id))
    except CozegateError as exc:
        return _render(request, "run.html", {"error": exc.message}, exc.status_code)
    return _render(request, "run.html", {
        "run": run, "inputs": json.dumps(run.inputs, ensure_ascii=False, indent=2)
        if run.inputs is not None else None,
        "interrupt": json.dumps(run.interrupt, ensure_ascii=False, indent=2)
        if run.interrupt is not None else None})


def _query(request: Request) -> dict[str, str]:
    """The page's filters as given (blank ones dropped), for its links and its form."""
    return {name: value for name, value in request.query_params.items()
            if name not in ("offset", "done") and value}


# -- tasks ---------------------------------------------------------------------------------


async def _tasks(runtime: Runtime, query: dict[str, str],
                 offset: int) -> tuple[str, dict[str, Any]]:
    user = query.get("user_id", "")
    found = await runtime.tasks.page(int(user) if user.isdigit() else None,
                                     status=query.get("status"),
                                     workflow_id=query.get("workflow_id"),
                                     offset=offset, limit=PAGE_SIZE)
    return "tasks.html", {"tasks": found.tasks, "filters": query,
                          "pager": _pager(offset, found.total, query)}


@router.get("/tasks")
async def tasks_page(request: Request, _: ConsoleAdmin, runtime: RuntimeDep,
                     offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    query = _query(request)
    if query.get("user_id", "").isdigit() or "user_id" not in query:
        return _render(request, *await _tasks(runtime, query, offset))
    template, context = await _tasks(runtime, {}, 0)
    return _render(request, template, {**context, "filters": query,
                                       "error": "user_id: give a number"},
                   status.HTTP_400_BAD_REQUEST)


@router.post("/tasks/{task_id}/cancel")
async def cancel_task(request: Request, task_id: str, _: ConsoleAdmin, form: Form,
                      runtime: RuntimeDep) -> Response:
    try:
        await runtime.tasks.cancel(None, task_id)
    except CozegateError as exc:
        template, context = await _tasks(runtime, {}, 0)
        return _render(request, template, {**context, "error": exc.message},
                       exc.status_code)
    return _done("tasks", "task-cancelled")


# -- usage ---------------------------------------------------------------------------------


@router.get("/usage")
async def usage_page(request: Request, _: ConsoleAdmin, tx: TxDep,
                     offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    query = _query(request)
    try:
        filters = _filters(query, UsageFilter, {"key_id": "api_key_id"})
    except ValidationError as exc:
        return _render(request, "usage.html", {"rows": [], "filters": query,
                                               "pager": _pager(0, 0), "error": _errors(exc)},
                       status.HTTP_400_BAD_REQUEST)
    found = await UsageRepository(tx.session).page(filters, offset=offset, limit=PAGE_SIZE)
    return _render(request, "usage.html", {
        "rows": [UsageOut.of(row) for row in found.items],
        "pager": _pager(offset, found.total, query),
        "filters": query,
    })


@router.get("/usage.csv")
async def usage_export(request: Request, _: ConsoleAdmin, runtime: RuntimeDep) -> Response:
    try:
        filters = _filters(_query(request), UsageFilter, {"key_id": "api_key_id"})
    except ValidationError as exc:
        return Response(_errors(exc), status_code=status.HTTP_400_BAD_REQUEST,
                        media_type="text/plain; charset=utf-8")
    filename = f"usage-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.csv"
    await runtime.writer.flush()  # see deps.get_session
    return StreamingResponse(
        usage_csv(runtime.sessionmaker, pinned(filters)), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _filters(query: dict[str, str], model: type[F], renames: dict[str, str]) -> F:
    """A filter form's fields (blank ones already dropped: blank means any) as ``model``,
    validated like the admin API's query parameters; a time without an offset is UTC."""
    given = {renames.get(name, name): value for name, value in query.items()}
    values = model.model_validate({name: value for name, value in given.items()
                                   if name in model.model_fields})
    return values.model_copy(update={
        name: value.replace(tzinfo=UTC) for name, value in values
        if isinstance(value, datetime) and value.tzinfo is None})


def _errors(error: ValidationError) -> str:
    return "; ".join(_field_error(e) for e in error.errors())


def _pager(offset: int, total: int, query: dict[str, str] | None = None) -> dict[str, Any]:
    """Where the page is, and the query strings of the pages before and after it."""

    def link(to: int) -> str:
        return "?" + urlencode({**(query or {}), "offset": to})

    return {"offset": offset, "total": total,
            "last": min(offset + PAGE_SIZE, total),
            "previous": link(max(offset - PAGE_SIZE, 0)) if offset > 0 else None,
            "next": link(offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None}
