"""Fault injection, per request (``X-Emulator-Fault`` header or ``?emulator_fault=``) and by
configured rules. Syntax: directives separated by ``,`` or ``;``::

    latency=MS        wait MS before handling the request (before auth, like a slow network)
    first_byte=MS     send the response head, then wait MS before the first body byte
    http=STATUS       answer STATUS (e.g. 502/503) with a JSON {"code":5000,...} body
    http=STATUS:html  ... with an HTML body instead (a proxy's error page)
    rate_limit[=ST]   answer {"code":4013,...} with HTTP ST (default 429)
    break[=N]         let N body chunks (SSE events) through, send half of the next, then
                      cut the connection (default N=1; a JSON answer is one chunk: break=0)
    drop              close the connection before any response byte

Over real HTTP the cut/drop closes the socket (see :mod:`cozegate.emulator.runner`); under
``httpx.ASGITransport`` there is no socket, so :class:`EmulatorConnectionDropped` /
:class:`EmulatorStreamBroken` is raised instead and reaches the client as an exception.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import random
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cozegate.emulator.config import EmulatorConfig
from cozegate.emulator.faultspec import FaultPlan, parse_fault
from cozegate.emulator.state import EmulatorState
from cozegate.emulator.wire import CozeError, coze_error, coze_json

FAULT_HEADER = "x-emulator-fault"
FAULT_QUERY = "emulator_fault"
ABORT_EXTENSION = "cozegate.emulator.abort"  # set by the runner's protocol: abort(hard: bool)
HTML_PAGE = b"<html><head><title>{s} Error</title></head><body><h1>{s}</h1>emulated</body></html>"


class EmulatorConnectionDropped(Exception):
    """In-process stand-in for a connection dropped before any response byte."""


class EmulatorStreamBroken(Exception):
    """In-process stand-in for a response cut in the middle of an event."""


class _Cut(Exception):
    """Raised inside ``send`` to stop the app once the partial chunk is out."""


class FaultMiddleware:
    """Outermost emulator middleware: decides a plan per request and plays it."""

    def __init__(self, app: ASGIApp, config: EmulatorConfig, state: EmulatorState) -> None:
        self.app = app
        self.config = config
        self.state = state
        self.random = random.Random(config.fault_seed)
        self.needs_body = any(rule.workflow_id for rule in config.faults)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            plan, receive = await self._plan(scope, receive)
        except ValueError as exc:
            error = CozeError(4000, f"bad {FAULT_HEADER}: {exc}", status=400)
            await coze_error(error)(scope, receive, send)
            return
        if plan is None:
            await self.app(scope, receive, send)
            return
        await self._play(plan, scope, receive, send)

    async def _play(self, plan: FaultPlan, scope: Scope, receive: Receive, send: Send) -> None:
        if plan.latency_ms:
            await asyncio.sleep(plan.latency_ms / 1000)
        if plan.drop:
            # Read the whole request first: closing a socket with unread bytes makes the
            # kernel send RST, and the client would see "connection reset" by chance.
            await _drain(receive)
            _abort(scope, hard=True, error=EmulatorConnectionDropped("fault: drop"))
            return
        if plan.http_status is not None:
            await _http_error(plan, scope, receive, send)
            return
        if plan.rate_limit_status is not None:
            error = CozeError(4013, "Request rate limit exceeded (emulated)",
                              status=plan.rate_limit_status)
            await coze_error(error)(scope, receive, send)
            return
        try:
            await self.app(scope, receive, _faulty_send(plan, send))
        except _Cut:
            _abort(scope, hard=False, error=EmulatorStreamBroken("fault: break"))

    async def _plan(self, scope: Scope, receive: Receive) -> tuple[FaultPlan | None, Receive]:
        plan: FaultPlan | None = None
        if self.config.fault_header:
            headers = dict(scope["headers"])
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            for text in (headers.get(FAULT_HEADER.encode(), b"").decode("latin-1"),
                         *query.get(FAULT_QUERY, [])):
                if text.strip():
                    plan = parse_fault(text, plan)
        if not self.config.faults:
            return plan, receive
        workflow_id, receive = await self._workflow_id(scope, receive)
        for index, rule in enumerate(self.config.faults):
            if rule.path and not fnmatch.fnmatchcase(scope["path"], rule.path):
                continue
            if rule.workflow_id and rule.workflow_id != workflow_id:
                continue
            seen = self.state.fault_counts.get(index, 0)
            self.state.fault_counts[index] = seen + 1
            if rule.first_n is not None and seen >= rule.first_n:
                continue
            if rule.probability < 1 and self.random.random() >= rule.probability:
                continue
            plan = parse_fault(rule.fault, plan)
        return plan, receive

    async def _workflow_id(self, scope: Scope, receive: Receive) -> tuple[str | None, Receive]:
        """The request's workflow id (path, query or JSON body); the body is replayed."""
        parts = scope["path"].strip("/").split("/")
        if len(parts) >= 3 and parts[1] == "workflows" and parts[2].isdigit():
            return parts[2], receive
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if "workflow_id" in query:
            return query["workflow_id"][0], receive
        if not self.needs_body or scope["method"] != "POST":
            return None, receive
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        body = b"".join(chunks)
        return _body_workflow_id(body), _replay(body, receive)


def _body_workflow_id(body: bytes) -> str | None:
    try:
        value: Any = json.loads(body or b"{}")
    except ValueError:
        return None
    return str(value.get("workflow_id")) if isinstance(value, dict) else None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return


def _faulty_send(plan: FaultPlan, send: Send) -> Send:
    passed = 0
    waited = False

    async def faulty(message: Message) -> None:
        nonlocal passed, waited
        if message["type"] == "http.response.body":
            if plan.first_byte_ms and not waited:
                waited = True
                await asyncio.sleep(plan.first_byte_ms / 1000)
            body = message.get("body", b"")
            if plan.break_after is not None and body:
                if passed >= plan.break_after:
                    half = body[:max(1, len(body) // 2)]
                    await send({"type": "http.response.body", "body": half, "more_body": True})
                    raise _Cut
                passed += 1
        await send(message)

    return faulty


async def _http_error(plan: FaultPlan, scope: Scope, receive: Receive, send: Send) -> None:
    status = plan.http_status or 500
    if plan.http_html:
        body = HTML_PAGE.replace(b"{s}", str(status).encode())
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/html; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
        return
    response = coze_json({"code": 5000, "msg": f"internal server error (emulated HTTP {status})"},
                         status=status)
    await response(scope, receive, send)


def _abort(scope: Scope, *, hard: bool, error: Exception) -> None:
    abort: Callable[[bool], None] | None = scope.get("extensions", {}).get(ABORT_EXTENSION)
    if abort is None:
        raise error
    abort(hard)
