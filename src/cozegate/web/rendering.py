"""What every console page shares: templates, rendering, redirects after a change, refusals,
paging and filter forms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ValidationError

from cozegate.admin.deps import Transaction
from cozegate.errors import CozegateError
from cozegate.web.session import PREFIX

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
    "channel-created": "Channel added.",
    "adjusted": "Balance adjusted; the movement is in the ledger.",
    "key-changed": "Key updated.",
    "key-revoked": "Key revoked.",
    "channel-changed": "Channel updated; calls use it from now on.",
    "group-created": "Group added.",
    "group-changed": "Group ratio saved; the next calls use it.",
    "user-moved": "User moved; the next calls use the group's ratio.",
}


# Pages show balances and, once, a raw key: never cached, never framed by another site.
NO_STORE = {"Cache-Control": "no-store", "X-Frame-Options": "DENY",
            "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; "
                                       "frame-ancestors 'none'; form-action 'self'"}


def templates(app: Any) -> Any:
    # Jinja2 is imported by the first page, not at start: a gateway nobody opens the console
    # of keeps its idle memory (bench/RESULTS.md (d)).
    if app.state.console_templates is None:
        from fastapi.templating import Jinja2Templates

        app.state.console_templates = Jinja2Templates(directory=TEMPLATES)
    return app.state.console_templates


def render(request: Request, template: str, context: dict[str, Any],
           status_code: int = 200) -> HTMLResponse:
    loaded = templates(request.app)
    notice = NOTICES.get(request.query_params.get("done", ""))
    return loaded.TemplateResponse(
        request, template, {"prefix": PREFIX, "notice": notice, **context},
        status_code=status_code, headers=NO_STORE)


def done(page: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/{page}?done={notice}",
                            status_code=status.HTTP_303_SEE_OTHER)


async def refused(request: Request, tx: Transaction, error: Exception,
                  page: Callable[[], Awaitable[tuple[str, dict[str, Any]]]]) -> HTMLResponse:
    """Re-render ``page`` with why the change was refused (nothing of it is kept)."""
    await tx.session.rollback()
    if isinstance(error, ValidationError):
        message = errors_text(error)
        code = status.HTTP_400_BAD_REQUEST  # as the admin API answers an invalid body
    else:
        assert isinstance(error, CozegateError)
        message, code = error.message, error.status_code
    template, context = await page()
    return render(request, template, {**context, "error": message}, code)


def _field_error(error: Any) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def query_of(request: Request) -> dict[str, str]:
    """The page's filters as given (blank ones dropped), for its links and its form."""
    return {name: value for name, value in request.query_params.items()
            if name not in ("offset", "done") and value}


def filters_of(query: dict[str, str], model: type[F], renames: dict[str, str]) -> F:
    """A filter form's fields (blank ones already dropped: blank means any) as ``model``,
    validated like the admin API's query parameters; a time without an offset is UTC."""
    given = {renames.get(name, name): value for name, value in query.items()}
    values = model.model_validate({name: value for name, value in given.items()
                                   if name in model.model_fields})
    return values.model_copy(update={
        name: value.replace(tzinfo=UTC) for name, value in values
        if isinstance(value, datetime) and value.tzinfo is None})


def errors_text(error: ValidationError) -> str:
    return "; ".join(_field_error(e) for e in error.errors())


def entries(text: str) -> list[str]:
    """A list typed into a text area: one per line or comma-separated."""
    return [item.strip() for item in text.replace(",", "\n").splitlines() if item.strip()]


def pager(offset: int, total: int, query: dict[str, str] | None = None) -> dict[str, Any]:
    """Where the page is, and the query strings of the pages before and after it."""

    def link(to: int) -> str:
        return "?" + urlencode({**(query or {}), "offset": to})

    return {"offset": offset, "total": total,
            "last": min(offset + PAGE_SIZE, total),
            "previous": link(max(offset - PAGE_SIZE, 0)) if offset > 0 else None,
            "next": link(offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None}
