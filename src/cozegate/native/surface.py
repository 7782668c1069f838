"""``CozeSurface``: the Coze-compatible services, built once per gateway (``runtime.coze``)."""

from __future__ import annotations

from dataclasses import dataclass

from cozegate.billing.price_book import PriceBook
from cozegate.config import Settings
from cozegate.db import SessionMaker
from cozegate.native.async_runs import AsyncPolling, AsyncRuns
from cozegate.native.catalog import Catalog
from cozegate.native.chat import ChatRuns
from cozegate.native.conversations import Conversations
from cozegate.native.gate import Gate
from cozegate.native.history import History
from cozegate.native.input_schemas import InputSchemas
from cozegate.native.ownership import Ownership
from cozegate.native.recovery import AsyncRecovery
from cozegate.native.routing import Routes
from cozegate.native.workflows import WorkflowRuns
from cozegate.ratelimit.base import RateLimiter
from cozegate.ratelimit.service import RateLimitService
from cozegate.relay.channels import ChannelDirectory
from cozegate.relay.metering import Metering
from cozegate.relay.upstreams import UpstreamPool
from cozegate.runs.recorder import RunRecorder


@dataclass
class CozeSurface:
    workflows: WorkflowRuns
    chat: ChatRuns
    history: History
    catalog: Catalog
    conversations: Conversations
    async_runs: AsyncRuns
    input_schemas: InputSchemas
    gate: Gate
    recovery: AsyncRecovery

    @classmethod
    def build(cls, settings: Settings, *, sessionmaker: SessionMaker,
              directory: ChannelDirectory, upstreams: UpstreamPool, metering: Metering,
              limiter: RateLimiter, runs: RunRecorder, prices: PriceBook) -> CozeSurface:
        schemas = InputSchemas(upstreams, ttl=settings.native.input_schema_ttl)
        # The Coze surface applies Coze's per-class defaults (seed 001: workflow 30, chat 60,
        # info 100 per minute), overridable per key; the limiter is the gateway's own, so
        # with Redis the counts are shared by every process.
        gate = Gate(routes=Routes(directory, upstreams, max_retries=settings.coze.max_retries),
                    metering=metering, limits=RateLimitService(limiter, settings.rate_limits),
                    runs=runs, schemas=schemas, sessionmaker=sessionmaker,
                    validate_inputs=settings.native.validate_inputs)
        ownership = Ownership(sessionmaker)
        async_runs = AsyncRuns(AsyncPolling(first=settings.native.async_poll_interval,
                                            longest=settings.native.async_poll_max_interval))
        return cls(
            workflows=WorkflowRuns(gate, ownership, async_runs),
            chat=ChatRuns(gate, ownership),
            history=History(gate, ownership, async_runs, sessionmaker),
            catalog=Catalog(gate),
            conversations=Conversations(gate, ownership),
            async_runs=async_runs,
            input_schemas=schemas,
            gate=gate,
            recovery=AsyncRecovery(sessionmaker, gate, async_runs, directory, prices),
        )

    async def start(self) -> None:
        """Pick up async runs an earlier process accepted but did not see end."""
        await self.recovery.resume_following()

    async def aclose(self) -> None:
        await self.async_runs.aclose()
        await self.gate.bookkeeping.drain()
