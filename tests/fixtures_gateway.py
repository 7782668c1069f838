"""A real gateway on a port (uvicorn in a thread), over the test database of fixtures_db.

The gateway's first start runs for real: migrations, the admin account (its key is on
``gateway.admin_key``), the ``sandbox`` channel on the in-process emulator, the default
sandbox price (0.001 / 0.002 per 1K tokens) and the admin's sandbox balance of 100.
Tests set up more users, keys and prices straight through the services on their own
engine (``gateway.session()``), in the test's event loop.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cozegate.app import create_app
from cozegate.billing.price_service import PriceService
from cozegate.billing.schemas import PriceSet
from cozegate.billing.service import BillingService
from cozegate.channels.schemas import ChannelCreate
from cozegate.config import Settings, load_settings
from cozegate.db import SessionMaker, create_sessionmaker, engine_from_url
from cozegate.keys.schemas import KeyCreate
from cozegate.keys.service import KeyService
from cozegate.kit.money import parse_amount
from cozegate.kit.serving import ThreadedServer
from cozegate.models import UsageLog
from cozegate.users.schemas import UserCreate
from cozegate.users.service import UserService

TEST_SECRET_KEY = "gateway-tests-secret-key-0123456789"


@dataclass
class Gateway:
    url: str
    admin_key: str
    app: FastAPI
    settings: Settings
    sessionmaker: SessionMaker
    server: ThreadedServer

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A transaction on the gateway's database; the gateway's price snapshot is dropped
        after it commits, as the admin API does after a price change."""
        async with self.sessionmaker.begin() as session:
            yield session
        self.runtime.prices.invalidate()

    async def create_user(self, name: str, balance: str = "0", *, group: str | None = None,
                          **key_fields: Any) -> tuple[int, str]:
        """A user with ``balance`` and one key; returns (user id, raw key)."""
        async with self.session() as session:
            user = await UserService().create_user(session, UserCreate(name=name, group=group))
            if Decimal(balance) > 0:
                await BillingService().top_up(session, user.id, parse_amount(balance), "test")
            key = await KeyService().create_key(session, user.id,
                                                KeyCreate(name=f"{name}-key", **key_fields))
        return user.id, key.key

    async def set_price(self, target: str, **prices: Any) -> None:
        async with self.session() as session:
            await PriceService().set_price(session, PriceSet(target=target, **prices))

    async def add_channel(self, name: str, base_url: str, token: str = "pat_sandbox",
                          **fields: Any) -> int:
        """A PAT channel; the relay's channel snapshot is refreshed at once."""
        async with self.session() as session:
            channel = await self.runtime.channels.create_channel(
                session, ChannelCreate(name=name, base_url=base_url, token=token, **fields))
        self.runtime.directory.invalidate()
        return channel.id

    async def disable_channel(self, name: str) -> None:
        async with self.session() as session:
            channel = await self.runtime.channels.get_by_name(session, name)
            await self.runtime.channels.set_enabled(session, channel.id, False)
        self.runtime.directory.invalidate()

    async def booked(self) -> None:
        """Wait until the gateway booked what its answers left queued: the read barrier its
        own API reads pass (``BillingWriter.flush``), for tests that read the database. A
        stopped gateway booked everything on its way out."""
        loop = self.server.loop
        if not loop.is_running():
            return
        flush = asyncio.run_coroutine_threadsafe(self.runtime.writer.flush(), loop)
        await asyncio.wrap_future(flush)

    async def usage_rows(self, user_id: int) -> list[UsageLog]:
        await self.booked()
        async with self.sessionmaker() as session:
            rows = await session.scalars(select(UsageLog).where(UsageLog.user_id == user_id)
                                         .order_by(UsageLog.id))
            return list(rows)

    async def balance(self, user_id: int) -> int:
        await self.booked()
        async with self.sessionmaker() as session:
            return await BillingService().balance(session, user_id)


def gateway_settings(db_url: str, **overrides: Any) -> Settings:
    # A Redis namespace per gateway: key ids restart in every test database, and counters
    # left by an earlier test (or run) must not count against this one.
    overrides.setdefault("redis_prefix", f"cgtest:{secrets.token_hex(6)}:")
    return load_settings(database_url=db_url, secret_key=TEST_SECRET_KEY,
                         redis_url=os.environ.get("COZEGATE_TEST_REDIS_URL"), **overrides)


@pytest.fixture
async def gateway(db_url: str) -> AsyncIterator[Gateway]:
    settings = gateway_settings(db_url)
    app = create_app(settings)
    server = ThreadedServer(app).start()
    engine = engine_from_url(db_url)
    try:
        yield Gateway(url=server.url, admin_key=app.state.bootstrap.admin_key, app=app,
                      settings=settings, sessionmaker=create_sessionmaker(engine),
                      server=server)
    finally:
        await engine.dispose()
        server.stop()
