"""Coze wire shapes: the JSON envelope, errors, SSE framing and usage counting.

Every JSON answer carries ``code`` (int) + ``msg`` and ``detail.logid`` equal to the
``X-Tt-Logid`` header (spec §1.3). SSE responses go through :class:`SSEResponse`, which
writes one ``http.response.body`` message per event so faults can cut between events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from cozegate.kit.ids import logid as new_logid

JSON_TYPE = "application/json; charset=utf-8"
SSE_TYPE = "text/event-stream; charset=utf-8"


class CozeError(Exception):
    """A Coze business error, rendered as ``{"code","msg"}`` (+ ``debug_url`` on runs)."""

    def __init__(self, code: int, msg: str, *, status: int = 200, debug_url: str | None = None):
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status
        self.debug_url = debug_url


def dumps(value: Any) -> str:
    """Compact single-line JSON, as Coze sends it (SSE needs one line per ``data:``)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def tokens(text: str) -> int:
    """The emulator's token rule: ceil(characters / 4)."""
    return math.ceil(len(text) / 4)


@dataclass(slots=True)
class Usage:
    input_count: int = 0
    output_count: int = 0

    @property
    def token_count(self) -> int:
        return self.input_count + self.output_count

    def as_dict(self) -> dict[str, int]:
        return {
            "input_count": self.input_count,
            "output_count": self.output_count,
            "token_count": self.token_count,
        }


def coze_json(payload: dict[str, Any], status: int = 200, log_id: str | None = None) -> Response:
    """Envelope ``payload`` (which holds ``code``/``msg`` or gets success defaults)."""
    log_id = log_id or new_logid()
    body = {"code": 0, "msg": "", **payload, "detail": {"logid": log_id}}
    return Response(dumps(body), status_code=status, media_type=JSON_TYPE,
                    headers={"X-Tt-Logid": log_id})


def coze_data(data: Any) -> Response:
    return coze_json({"data": data})


def coze_error(error: CozeError) -> Response:
    payload: dict[str, Any] = {"code": error.code, "msg": error.msg}
    if error.debug_url is not None:
        payload["debug_url"] = error.debug_url
    return coze_json(payload, status=error.status)


def raw_json(body: dict[str, Any], status: int = 200) -> Response:
    """A body without the Coze envelope (the OAuth endpoint), still with a logid header."""
    return Response(dumps(body), status_code=status, media_type=JSON_TYPE,
                    headers={"X-Tt-Logid": new_logid()})


def sse_frame(event: str, data: Any, id: int | None = None) -> bytes:
    """``id:`` (workflow streams only), ``event:``, one ``data:`` line, blank line."""
    text = data if isinstance(data, str) else dumps(data)
    head = f"id: {id}\n" if id is not None else ""
    return f"{head}event: {event}\ndata: {text}\n\n".encode()


class SSEResponse(StreamingResponse):
    """Streams pre-framed SSE events; stops the producer when the client goes away.

    Unlike Starlette's own ``__call__``, this one guarantees one body message per event (the
    stream-break fault counts them), needs no task group (a fault's exception from ``send``
    propagates as is) and stops the producer when the client disconnects.
    """

    def __init__(self, events: AsyncIterator[bytes], log_id: str | None = None) -> None:
        super().__init__(events, status_code=200, media_type=SSE_TYPE, headers={
            "X-Tt-Logid": log_id or new_logid(),
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        })
        self._events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": self.raw_headers})
        producer = asyncio.ensure_future(self._pump(send))
        watcher = asyncio.ensure_future(_wait_disconnect(receive))
        try:
            await asyncio.wait({producer, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watcher.cancel()
            if not producer.done():
                producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            with contextlib.suppress(asyncio.CancelledError):
                await producer
        if not producer.cancelled():
            producer.result()  # re-raise a producer failure (e.g. a fault's abort)

    async def _pump(self, send: Send) -> None:
        try:
            async for frame in self._events:
                await send({"type": "http.response.body", "body": frame, "more_body": True})
        finally:
            await _aclose(self._events)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _aclose(events: AsyncIterator[bytes]) -> None:
    closer = getattr(events, "aclose", None)
    if closer is not None:
        await closer()


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
