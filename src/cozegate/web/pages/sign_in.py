"""Signing in and out with an admin key."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cozegate.access import authenticate, client_ip
from cozegate.deps import RuntimeDep
from cozegate.errors import CozegateError
from cozegate.web.rendering import render
from cozegate.web.session import COOKIE, PREFIX, Form, read_form

router = APIRouter(include_in_schema=False)


# -- sign in -------------------------------------------------------------------------------


@router.get("")
async def home() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/overview", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/login")
async def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", {})


@router.post("/login")
async def login(request: Request, runtime: RuntimeDep) -> Response:
    form = await read_form(request)
    token = form.get("key", "")
    try:
        key = await authenticate(runtime, token or None, client_ip(request))
    except CozegateError as exc:
        return render(request, "login.html", {"error": exc.message}, exc.status_code)
    if not key.is_admin:
        return render(request, "login.html", {"error": "this key is not an admin key"},
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
