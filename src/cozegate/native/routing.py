"""Which channel a Coze-surface call goes to.

* A call naming a workflow goes to the channels serving it, in the relay's order, failing
  over before the first byte (``relay.failover``).
* An account-wide call (workspaces, workflow list, a conversation made without a workflow)
  goes to the channels that serve every workflow (no ``targets``).
* A call on an id the gateway handed out (execute_id, conversation_id) goes to the channel
  that made it and nowhere else: ids are per Coze account.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from cozegate.native.errors import CozeSurfaceError, no_channel
from cozegate.native.ownership import Holder
from cozegate.relay.channels import ChannelDirectory
from cozegate.relay.failover import ChannelSlot, open_with_failover
from cozegate.relay.upstreams import ChannelAccess, UpstreamPool
from cozegate.upstream import CozeClient

T = TypeVar("T")

WORKFLOW_MODEL = "coze-workflow"
CHATFLOW_MODEL = "coze-chatflow"
INTERNAL = 5000


class Routes:
    def __init__(self, directory: ChannelDirectory, upstreams: UpstreamPool, *,
                 max_retries: int) -> None:
        self._directory = directory
        self._upstreams = upstreams
        self._max_retries = max_retries

    async def for_workflow(self, workflow_id: str, model: str) -> list[ChannelAccess]:
        candidates = await self._directory.candidates(workflow_id, model)
        if not candidates:
            raise no_channel(f"workflow {workflow_id}")
        return candidates

    async def for_account(self) -> list[ChannelAccess]:
        candidates = await self._directory.candidates("", "")
        if not candidates:
            raise no_channel("account-wide calls (every channel is limited to some targets)")
        return candidates

    async def holding(self, holder: Holder, model: str) -> list[ChannelAccess]:
        """The one channel that holds ``holder``'s id, as a candidate list."""
        if holder.channel_id is None:
            raise CozeSurfaceError(INTERNAL, "this id was never sent to a channel",
                                   status_code=409)
        candidates = await self._directory.candidates(holder.workflow_id or "", model)
        held = [c for c in candidates if c.id == holder.channel_id]
        if not held:
            raise CozeSurfaceError(INTERNAL, "the channel that holds this id is disabled or "
                                   "no longer serves it", status_code=503)
        return held

    async def open(self, candidates: list[ChannelAccess],
                   opener: Callable[[CozeClient], Awaitable[T]], *,
                   slot: ChannelSlot | None = None) -> tuple[ChannelAccess, T]:
        """The first answer over ``candidates`` (upstream errors are raised as they come)."""
        return await open_with_failover(candidates, opener, health=self._directory,
                                        upstreams=self._upstreams,
                                        max_retries=self._max_retries, slot=slot)

    def client(self, channel: ChannelAccess) -> CozeClient:
        return self._upstreams.client_for(channel)
