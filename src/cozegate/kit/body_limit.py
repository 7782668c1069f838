"""Refuse request bodies larger than a limit, before or while they are read.

Every endpoint reads its whole JSON body into memory before validating it, so without a
limit one request could make a process buffer any amount. A declared ``Content-Length``
past the limit is refused before a byte of the body is read (:func:`declared_length`); a
chunked body is counted as it arrives and refused once past it (:func:`limit_body`),
whichever endpoint reads it.

The refusal is Starlette's ``HTTPException(413)``: FastAPI passes an HTTPException raised
while it reads a body through untouched (any other exception there becomes a 400), and the
exception handlers render it in the shape of the request's surface.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]

STATUS = 413


def too_large(limit: int) -> HTTPException:
    return HTTPException(STATUS, f"request body larger than the gateway's limit of "
                                 f"{limit:,} bytes")


def declared_length(scope: MutableMapping[str, Any]) -> int | None:
    """The ``Content-Length`` of an HTTP request, if it declares a valid one."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def limit_body(receive: Receive, limit: int) -> Receive:
    """``receive``, raising :func:`too_large` once the body passes ``limit`` bytes."""
    received = 0

    async def receive_within_limit() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise too_large(limit)
        return message

    return receive_within_limit
