"""``Annotated`` dependency aliases shared by the endpoint modules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from cozegate.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    # async: FastAPI runs a plain def dependency in a worker thread, a hop per request.
    return request.app.state.runtime


async def get_session(runtime: Annotated[Runtime, Depends(get_runtime)]) -> AsyncIterator[
        AsyncSession]:
    # A short-lived session per request; endpoints that stream must not use this one
    # across the stream (they open their own short transactions instead).
    # Read barrier first: a chat completion answers, and a stream ends, before its
    # settlement commits (relay.service.RelayRun.completion), so a client reading its
    # balance, usage or run right after the answer must wait for what is still being booked
    # (usually nothing).
    await runtime.writer.flush()
    async with runtime.sessionmaker() as session:
        yield session


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
