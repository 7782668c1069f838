"""Everything the gateway holds for its lifetime, built in the app's lifespan.

One object, attached to ``app.state.runtime``, instead of module globals: tests build as many
independent gateways as they like in one process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cozegate.billing.price_book import PriceBook
from cozegate.billing.reaper import ReservationReaper
from cozegate.billing.service import BillingService
from cozegate.billing.writer import BillingWriter, create_writer
from cozegate.channels.crypto import SecretBox
from cozegate.channels.service import ChannelService
from cozegate.config import Settings
from cozegate.db import SessionMaker, create_engine, create_sessionmaker
from cozegate.keys.cache import KeyCache
from cozegate.keys.service import KeyService
from cozegate.migrations.current import ensure_migrated
from cozegate.native.surface import CozeSurface
from cozegate.protocol.request_map import ModelAlias
from cozegate.ratelimit.base import RateLimiter
from cozegate.ratelimit.service import RateLimitService, create_rate_limiter
from cozegate.relay.channels import ChannelDirectory
from cozegate.relay.metering import Metering
from cozegate.relay.service import Relay, RelaySettings
from cozegate.relay.sessions import InterruptSessions
from cozegate.relay.upstreams import UpstreamPool
from cozegate.runs.purge import RunPurger
from cozegate.runs.recorder import RunRecorder
from cozegate.tasks.service import TaskManager
from cozegate.tasks.setup import build_task_manager
from cozegate.users.service import UserService

if TYPE_CHECKING:
    from redis.asyncio import Redis

# Housekeeping waits for startup to settle, and the two rounds never coincide. Run together
# with startup's own database work (migrations, bootstrap, recovery of in-flight runs, the
# task worker's first tick), each would take a SQLite connection of its own, and every
# connection a pool ever opened stays for the life of the process (measured: ~0.6 MiB of an
# idle gateway). Nothing is late for it: both only touch rows many hours old.
REAPER_FIRST_DELAY = 20.0  # seconds after start
PURGER_FIRST_DELAY = 40.0


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: SessionMaker
    redis: Redis | None
    keys: KeyService
    users: UserService
    billing: BillingService
    prices: PriceBook
    writer: BillingWriter
    reaper: ReservationReaper
    channels: ChannelService
    directory: ChannelDirectory
    upstreams: UpstreamPool
    metering: Metering
    limiter: RateLimiter
    relay: Relay
    runs: RunRecorder
    run_purger: RunPurger
    coze: CozeSurface  # the Coze-compatible API's services
    tasks: TaskManager  # the task API (seed 004) and its background worker

    @classmethod
    async def start(cls, settings: Settings) -> Runtime:
        engine = create_engine(settings)
        await ensure_migrated(engine, settings.database_url)
        sessionmaker = create_sessionmaker(engine)
        channels = ChannelService(SecretBox.from_settings(settings),
                                  failure_threshold=settings.channel_failure_threshold)
        directory = ChannelDirectory(sessionmaker, channels)
        upstreams = UpstreamPool(settings.coze)
        billing = BillingService()
        prices = PriceBook(sessionmaker)
        writer = create_writer(engine, busy_timeout_ms=settings.db_busy_timeout_ms)
        metering = Metering(writer, prices, max_output_tokens=settings.reserve_max_output_tokens)
        reaper = ReservationReaper(
            sessionmaker, writer, older_than=timedelta(seconds=settings.reservation_reap_after),
            interval=settings.reservation_reap_interval, busy=lambda: metering.open_requests,
            first_delay=REAPER_FIRST_DELAY)
        limiter = create_rate_limiter(settings)
        # The OpenAI surface applies only the limits set on each key; Coze's own per-class
        # defaults (settings.rate_limits) belong to the Coze-compatible surface.
        runs = RunRecorder(sessionmaker, writer=writer)
        relay = Relay(channels=directory, upstreams=upstreams, metering=metering,
                      limits=RateLimitService(limiter, {}),
                      sessions=InterruptSessions(sessionmaker), runs=runs,
                      settings=RelaySettings(
                          keepalive_seconds=settings.stream_keepalive,
                          max_retries=settings.coze.max_retries,
                          aliases={name: ModelAlias.model_validate(alias)
                                   for name, alias in settings.model_aliases.items()}))
        run_purger = RunPurger(sessionmaker, retention_days=settings.run_retention_days,
                               interval=settings.run_purge_interval,
                               first_delay=PURGER_FIRST_DELAY)
        runtime = cls(
            settings=settings,
            engine=engine,
            sessionmaker=sessionmaker,
            redis=_redis_client(settings.redis_url),
            keys=KeyService(KeyCache(ttl=settings.key_cache_ttl)),
            users=UserService(),
            billing=billing,
            prices=prices,
            writer=writer,
            reaper=reaper,
            channels=channels,
            directory=directory,
            upstreams=upstreams,
            metering=metering,
            limiter=limiter,
            relay=relay,
            runs=runs,
            run_purger=run_purger,
            tasks=build_task_manager(settings, sessionmaker, metering, channels, directory,
                                     upstreams, limiter, run_purger),
            coze=CozeSurface.build(settings, sessionmaker=sessionmaker, directory=directory,
                                   upstreams=upstreams, metering=metering, limiter=limiter,
                                   runs=runs, prices=prices),
        )
        await runtime.coze.start()
        return runtime

    def start_workers(self) -> None:
        """Background loops of this process, started once the gateway is bootstrapped (its
        first channel exists, and startup's database work is done: one pooled connection
        serves it all); stopped by :meth:`aclose`."""
        self.run_purger.start()
        self.reaper.start()
        self.tasks.start()

    async def aclose(self) -> None:
        await self.tasks.stop()
        await self.run_purger.stop()
        await self.reaper.stop()  # before the writer drains: its refunds go through it
        await self.coze.aclose()
        await self.metering.drain()
        await self.upstreams.aclose()
        await self.limiter.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()

    async def check_database(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def check_redis(self) -> None:
        if self.redis is not None:
            await self.redis.ping()


def _redis_client(url: str | None) -> Redis | None:
    if not url:
        return None
    # Imported only when configured (~6 MiB a gateway without Redis would carry for life).
    from redis.asyncio import Redis

    return Redis.from_url(url)
