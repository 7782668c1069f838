"""Who is calling: the bearer gateway key, checked on every surface."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cozegate.billing.writer import WriterClosed
from cozegate.deps import RuntimeDep
from cozegate.keys.errors import InvalidApiKey
from cozegate.keys.schemas import KeyRecord
from cozegate.keys.writes import KeyUsed
from cozegate.runtime import Runtime

log = logging.getLogger("cozegate.keys")

_bearer = HTTPBearer(auto_error=False, description="A gateway key, sk-…")


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def current_key(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> KeyRecord:
    token = credentials.credentials if credentials is not None else None
    return await authenticate(runtime, token, client_ip(request))


async def authenticate(runtime: Runtime, token: str | None, ip: str | None) -> KeyRecord:
    """The key record for a bearer token, or the reason it may not be used."""
    if not token:
        raise InvalidApiKey("missing API key: send Authorization: Bearer sk-…")
    keys = runtime.keys
    # Most calls are answered from the key cache without a database session; a cache miss
    # reads the key, and the periodic last_used_at write goes through the billing writer
    # without being waited for (best effort, like the stamp itself).
    record = keys.cached(token)
    if record is None:
        record = await keys.load_once(runtime.sessionmaker, token)
    keys.check(record, ip)
    if keys.touch_due(record):
        record = keys.touched(record)
        assert record.last_used_at is not None
        with contextlib.suppress(WriterClosed):
            runtime.writer.submit(KeyUsed(record.id, record.last_used_at), urgent=False) \
                .add_done_callback(_log_touch_failure)
    return record


def _log_touch_failure(future: asyncio.Future[object]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("could not record that a key was used: %s", future.exception())


CurrentKey = Annotated[KeyRecord, Depends(current_key)]
