"""Following ``is_async`` runs again after a restart.

An async run's reservation stays open until the run ends at Coze, and the process that
accepted it follows the run's history (``async_runs``). When that process stops first —
a deploy, a crash — the next start finds the run records still ``running`` whose
reservation is still held, rebuilds each one's billing context (key, price, channel) from
the database, and follows it on. Settlement is exactly once whoever gets there first (the
reservation is claimed once), so several processes recovering the same run only poll twice.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cozegate.billing.price_book import PriceBook
from cozegate.billing.repository import BalanceRepository
from cozegate.channels.repository import ChannelRepository
from cozegate.db import SessionMaker
from cozegate.keys.service import record_of
from cozegate.models import ApiKey, Group, Run, User
from cozegate.models.reservation import RESERVED
from cozegate.native.async_runs import AsyncRuns
from cozegate.native.gate import Gate
from cozegate.native.metered import MeteredRun
from cozegate.relay.channels import ChannelDirectory
from cozegate.relay.metering import Call

log = logging.getLogger("cozegate.native")

SURFACE = "coze"


class AsyncRecovery:
    def __init__(self, sessionmaker: SessionMaker, gate: Gate, async_runs: AsyncRuns,
                 directory: ChannelDirectory, prices: PriceBook) -> None:
        self._sessionmaker = sessionmaker
        self._gate = gate
        self._async_runs = async_runs
        self._directory = directory
        self._prices = prices

    async def resume_following(self) -> int:
        """Follow every unfinished async run of this surface; returns how many."""
        async with self._sessionmaker() as session:
            runs = (await session.scalars(select(Run).where(
                Run.surface == SURFACE, Run.is_async.is_(True),
                Run.status.in_(("queued", "running")), Run.execute_id.is_not(None),
                Run.request_id.is_not(None)))).all()
            followed = 0
            for run in runs:
                if await self._follow(session, run):
                    followed += 1
        if followed:
            log.info("following %d async run(s) left unfinished by an earlier process",
                     followed)
        return followed

    async def _follow(self, session: AsyncSession, run: Run) -> bool:
        assert run.request_id is not None and run.execute_id is not None
        reservation = await BalanceRepository(session).get_reservation(run.request_id)
        if reservation is None or reservation.status != RESERVED:
            return False  # already settled (or never billed): nothing left to follow for
        owner = (await session.execute(
            select(ApiKey, User, Group).join(User, User.id == ApiKey.user_id)
            .join(Group, Group.id == User.group_id)
            .where(ApiKey.id == run.api_key_id))).first()
        channel = await ChannelRepository(session).get(run.channel_id) \
            if run.channel_id is not None else None
        if owner is None or channel is None:
            log.warning("async run %s: its key or channel is gone; the reservation is left "
                        "for the reaper", run.execute_id)
            return False
        access = self._directory.access(channel)
        call = Call(request_id=run.request_id, key=record_of(*owner),
                    model=run.model or "coze-workflow", workflow_id=run.workflow_id,
                    price=await self._prices.resolve(run.workflow_id, run.model),
                    stream=False, surface=SURFACE, channel_id=channel.id,
                    channel_name=channel.name, reserved=reservation.amount)
        recorded: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        recorded.set_result(run.id)
        metered = MeteredRun(call=call, recorded=recorded, metering=self._gate.metering,
                             runs=self._gate.runs, bookkeeping=self._gate.bookkeeping)
        self._async_runs.follow(metered, self._gate.routes.client(access), access,
                                run.workflow_id, run.execute_id)
        return True
