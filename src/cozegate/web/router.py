"""``/console``: the operator's pages. Thin, like the admin API beside it: the same services,
the same request models (so a form is validated exactly as the JSON body would be), the same
one-transaction-per-request dependency.

A change is posted from a form and answered with a redirect back to its page (post, then
get: a reload does not post again), except a new key, whose raw value is shown on the answer
itself, once, and never put in a URL. A refused change re-renders its page with the reason
and the error's HTTP status, after rolling back whatever it had begun.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.responses import RedirectResponse, Response

from cozegate.web.pages import accounts, activity, operations, sign_in
from cozegate.web.session import PREFIX, LoginRequired


def install_console(app: FastAPI) -> None:
    """The console's routes and its way back to the login page."""
    app.state.console_templates = None  # loaded by the first page shown (rendering.templates)
    for pages in (sign_in, activity, accounts, operations):
        app.include_router(pages.router, prefix=PREFIX)
    app.add_exception_handler(LoginRequired, _to_login)


async def _to_login(request: Request, exc: Exception) -> Response:
    return RedirectResponse(f"{PREFIX}/login", status_code=status.HTTP_303_SEE_OTHER)
