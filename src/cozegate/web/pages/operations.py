"""Channels (test, switch) and prices."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from cozegate.admin.channel_probe import probe_channel
from cozegate.admin.deps import Transaction, TxDep
from cozegate.admin.endpoints.channels import channel_out
from cozegate.admin.requests import ChannelUpdateBody, PriceBody
from cozegate.admin.schemas import PriceOut
from cozegate.billing.price_service import PriceService
from cozegate.channels.schemas import ChannelCreate
from cozegate.deps import RuntimeDep
from cozegate.errors import CozegateError
from cozegate.runtime import Runtime
from cozegate.web.rendering import done, entries, refused, render
from cozegate.web.session import ConsoleAdmin, Form

router = APIRouter(include_in_schema=False)


# -- channels ------------------------------------------------------------------------------


async def _channels(tx: Transaction, runtime: Runtime) -> tuple[str, dict[str, Any]]:
    channels = await runtime.channels.list_channels(tx.session)
    return "channels.html", {"channels": [channel_out(runtime, c) for c in channels]}


def _oauth_app(text: str) -> Any:
    """The OAuth JWT app a form gives as JSON (the seed's shape); pydantic checks its fields."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CozegateError(f"oauth_jwt: not JSON ({exc.msg})", status_code=400,
                            code="invalid_request") from exc


@router.get("/channels")
async def channels_page(request: Request, _: ConsoleAdmin, tx: TxDep,
                        runtime: RuntimeDep) -> HTMLResponse:
    return render(request, *await _channels(tx, runtime))


@router.post("/channels")
async def create_channel(request: Request, _: ConsoleAdmin, form: Form, tx: TxDep,
                         runtime: RuntimeDep) -> Response:
    """A channel from the form: a PAT, or an OAuth JWT app as its JSON (the seed's shape)."""
    fields: dict[str, Any] = dict(form)
    if "targets" in fields:
        fields["targets"] = entries(fields["targets"])
    try:
        if "oauth_jwt" in fields:
            fields["oauth_jwt"] = _oauth_app(fields["oauth_jwt"])
            fields.setdefault("auth_type", "oauth_jwt")
        await runtime.channels.create_channel(tx.session, ChannelCreate.model_validate(fields))
    except (CozegateError, ValidationError) as exc:
        return await refused(request, tx, exc, lambda: _channels(tx, runtime))
    tx.after_commit(runtime.directory.invalidate)
    return done("channels", "channel-created")


@router.post("/channels/{channel_id}")
async def change_channel(request: Request, channel_id: int, _: ConsoleAdmin, form: Form,
                         tx: TxDep, runtime: RuntimeDep) -> Response:
    """Base URL, priority, weight, what it serves, and a new secret: a PAT or an OAuth JWT
    app's JSON, either of which also switches the channel to that kind of auth (both blank:
    the secret is kept). ``targets`` is always sent by the form: blank means all workflows
    again."""
    fields: dict[str, Any] = {name: form[name] for name in
                              ("base_url", "priority", "weight", "token") if name in form}
    fields["targets"] = entries(form.get("targets", "")) or None
    try:
        if "token" in form and "oauth_jwt" in form:
            raise CozegateError("give a new token or an OAuth JWT app, not both",
                                status_code=400, code="invalid_request")
        if "token" in form:
            fields["auth_type"] = "pat"
        if "oauth_jwt" in form:
            fields["auth_type"] = "oauth_jwt"
            fields["oauth_jwt"] = _oauth_app(form["oauth_jwt"])
        body = ChannelUpdateBody.model_validate(fields)
        await runtime.channels.update_channel(tx.session, channel_id, body)
    except ValueError as exc:  # a secret the channel's auth cannot take (ValidationError too)
        error = exc if isinstance(exc, ValidationError) else CozegateError(
            str(exc), status_code=400, code="invalid_request")
        return await refused(request, tx, error, lambda: _channels(tx, runtime))
    except CozegateError as exc:
        return await refused(request, tx, exc, lambda: _channels(tx, runtime))
    tx.after_commit(runtime.directory.invalidate)
    return done("channels", "channel-changed")


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
    return render(request, template, {**context, **outcome}, code)


@router.post("/channels/{channel_id}/enabled")
async def switch_channel(request: Request, channel_id: int, _: ConsoleAdmin, form: Form,
                         tx: TxDep, runtime: RuntimeDep) -> Response:
    try:
        await runtime.channels.set_enabled(tx.session, channel_id,
                                           form.get("enabled") == "true",
                                           "from the web console")
    except CozegateError as exc:
        return await refused(request, tx, exc, lambda: _channels(tx, runtime))
    tx.after_commit(runtime.directory.invalidate)
    return done("channels", "channel-switched")


# -- prices --------------------------------------------------------------------------------


async def _prices(tx: Transaction) -> tuple[str, dict[str, Any]]:
    prices = await PriceService().list_prices(tx.session)
    return "prices.html", {"prices": [PriceOut.of(p) for p in prices]}


@router.get("/prices")
async def prices_page(request: Request, _: ConsoleAdmin, tx: TxDep) -> HTMLResponse:
    return render(request, *await _prices(tx))


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
        return await refused(request, tx, exc, lambda: _prices(tx))
    tx.after_commit(runtime.prices.invalidate)
    return done("prices", "price-set")
