"""Who is signed in to the console, and whether a form was posted by the console itself.

The console signs in with an admin key, kept in an HttpOnly, SameSite=Strict cookie scoped to
``/console``: every request authenticates it exactly as the admin API authenticates a bearer
key, so a key that is disabled, expires or loses its admin flag is out at once. Forms are
accepted only from the console's own origin (``Origin``, or ``Referer`` when a browser sends
no ``Origin``): a page elsewhere cannot post to it with the operator's cookie.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl, urlsplit

from fastapi import Depends, Request

from cozegate.access import authenticate, client_ip
from cozegate.deps import RuntimeDep
from cozegate.errors import CozegateError
from cozegate.keys.schemas import KeyRecord

COOKIE = "cozegate_console"
PREFIX = "/console"
MAX_FORM_BYTES = 64 * 1024


class LoginRequired(Exception):
    """No usable admin key in the cookie: the handler sends the browser to the login page."""


class ForeignPost(CozegateError):
    def __init__(self) -> None:
        super().__init__("forms are accepted from the console's own pages only",
                         status_code=403, code="cross_site_form")


async def console_admin(request: Request, runtime: RuntimeDep) -> KeyRecord:
    token = request.cookies.get(COOKIE)
    if not token:
        raise LoginRequired
    try:
        key = await authenticate(runtime, token, client_ip(request))
    except CozegateError as exc:
        raise LoginRequired from exc
    if not key.is_admin:
        raise LoginRequired
    return key


def same_origin(request: Request) -> bool:
    """The form came from a page of this host (host and port, as the browser addressed both).

    The scheme is not compared: behind a TLS proxy that does not forward it, the browser's
    ``https`` page posts to what the gateway sees as ``http``. Another site cannot post
    from this host's name."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return False
    return urlsplit(source).netloc == request.url.netloc


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (what the console's forms send), after
    the same-origin check. Blank fields are left out: they mean "not given"."""
    if not same_origin(request):
        raise ForeignPost
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise CozegateError("form too large", status_code=413, code="request_too_large")
    pairs = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=False)
    return {name: value.strip() for name, value in pairs if value.strip()}


ConsoleAdmin = Annotated[KeyRecord, Depends(console_admin)]
Form = Annotated[dict[str, str], Depends(read_form)]
