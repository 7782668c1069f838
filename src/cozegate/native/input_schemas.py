"""Workflow input schemas, fetched through a channel and cached with a TTL.

``GET /v1/workflows/{id}?include_input_output=true`` is one extra upstream read per workflow
and channel per TTL, against a refused run that would cost a whole round trip (and, for
streams, a reservation). When the schema cannot be had (Coze refuses, the channel is down,
an unknown shape) the check is skipped for a short while: the run itself will tell.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from cozegate.protocol.coze import WorkflowParameter
from cozegate.relay.upstreams import ChannelAccess, UpstreamPool
from cozegate.upstream import CozeError

log = logging.getLogger("cozegate.native")

Schema = Mapping[str, WorkflowParameter]
FAILURE_TTL = 30.0  # seconds before asking again after a failed fetch


class InputSchemas:
    def __init__(self, upstreams: UpstreamPool, *, ttl: float, max_entries: int = 4096,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._upstreams = upstreams
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[tuple[int, str], tuple[float, Schema | None]] = OrderedDict()

    async def get(self, channel: ChannelAccess, workflow_id: str) -> Schema | None:
        """The input parameters of ``workflow_id`` on ``channel``; None when unknown."""
        key = (channel.id, workflow_id)
        cached = self._entries.get(key)
        now = self._clock()
        if cached is not None and cached[0] > now:
            return cached[1]
        schema = await self._fetch(channel, workflow_id)
        ttl = self._ttl if schema is not None else min(self._ttl, FAILURE_TTL)
        if ttl > 0:
            self._remember(key, (now + ttl, schema))
        return schema

    def invalidate(self) -> None:
        self._entries.clear()

    async def _fetch(self, channel: ChannelAccess, workflow_id: str) -> Schema | None:
        try:
            info = await self._upstreams.client_for(channel).get_workflow(
                workflow_id, include_input_output=True)
        except CozeError as exc:
            log.info("no input schema for workflow %s on channel %s (%s)", workflow_id,
                     channel.name, exc)
            return None
        # No ``input`` at all: a server that ignores include_input_output; nothing to check.
        return dict(info.input.parameters) if info.input is not None else {}

    def _remember(self, key: tuple[int, str], entry: tuple[float, Schema | None]) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
