"""What every Coze-surface call passes before Coze sees it, and how a billed call starts.

Order (cheapest refusal first, no money moved until the request is known to be sendable):
allowlist (4101) → rate limit per key and API class (4013) → a channel (4200) → input schema
(4000, optional) → price → reservation (4028 when the balance or key quota cannot cover it)
→ run record → the upstream call, with failover before the first byte. A failure after the
reservation settles it at once (a refund, as the relay does).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from cozegate.db import SessionMaker
from cozegate.keys.errors import ModelNotAllowed
from cozegate.keys.schemas import KeyRecord
from cozegate.kit.ids import snowflake_id
from cozegate.native.input_schemas import InputSchemas
from cozegate.native.inputs import check_inputs
from cozegate.native.metered import Bookkeeping, MeteredRun
from cozegate.native.routing import Routes
from cozegate.ratelimit.service import RateLimitService
from cozegate.relay.metering import Call, Metering, Outcome
from cozegate.relay.upstreams import ChannelAccess
from cozegate.runs.recorder import RunRecorder
from cozegate.upstream import CozeAPIError, CozeClient

T = TypeVar("T")
ApiClass = Literal["workflow", "chat", "info"]
SURFACE = "coze"


@dataclass(frozen=True)
class CallSpec:
    """A billed call about to start."""

    kind: Literal["workflow", "chatflow"]
    model: str
    workflow_id: str
    inputs: dict[str, Any] | None
    estimate_text: str  # what the worst-case reservation counts as input
    stream: bool
    client_ip: str | None
    conversation_id: str | None = None
    resume_count: int = 0


class Gate:
    def __init__(self, *, routes: Routes, metering: Metering, limits: RateLimitService,
                 runs: RunRecorder, schemas: InputSchemas, sessionmaker: SessionMaker,
                 validate_inputs: bool) -> None:
        self.routes = routes
        self.bookkeeping = Bookkeeping()
        self._sessionmaker = sessionmaker
        self.runs = runs
        self._metering = metering
        self._limits = limits
        self._schemas = schemas
        self._validate_inputs = validate_inputs

    @property
    def metering(self) -> Metering:
        return self._metering

    async def admit(self, key: KeyRecord, api_class: ApiClass, *targets: str | None) -> None:
        """Allowlist (for calls naming a workflow), then the key's rate limit."""
        if any(targets) and not key.allows(*targets):
            raise ModelNotAllowed(f"this key may not call {_named(targets)!r}")
        await self._limits.check(key, api_class)

    async def check_inputs(self, channel: ChannelAccess, workflow_id: str,
                           inputs: Mapping[str, Any]) -> None:
        if not self._validate_inputs:
            return
        schema = await self._schemas.get(channel, workflow_id)
        if schema is not None:
            check_inputs(inputs, schema)

    async def begin(self, key: KeyRecord, spec: CallSpec) -> MeteredRun:
        """Price, reserve, record the run; the returned run must be finished."""
        call = await self._reserve(key, spec)
        recorded = asyncio.ensure_future(self.runs.call_started(
            call, kind=spec.kind, inputs=spec.inputs, conversation_id=spec.conversation_id,
            resume_count=spec.resume_count))
        return MeteredRun(call=call, recorded=recorded, metering=self._metering,
                          runs=self.runs, bookkeeping=self.bookkeeping)

    async def begin_leg(self, key: KeyRecord, spec: CallSpec, run_id: str) -> MeteredRun:
        """A resume of run ``run_id``: billed on its own, recorded on that run."""
        call = await self._reserve(key, spec)
        recorded = asyncio.ensure_future(_resumed(self.runs, run_id))
        return MeteredRun(call=call, recorded=recorded, metering=self._metering,
                          runs=self.runs, bookkeeping=self.bookkeeping,
                          legs_of=self._sessionmaker)

    async def _reserve(self, key: KeyRecord, spec: CallSpec) -> Call:
        price = await self._metering.price_for(spec.model, spec.workflow_id)
        call = Call(request_id=snowflake_id(), key=key, model=spec.model,
                    workflow_id=spec.workflow_id, price=price, stream=spec.stream,
                    surface=SURFACE, client_ip=spec.client_ip, input_text=spec.estimate_text)
        await self._metering.reserve(call, grant=True)
        return call

    async def open(self, run: MeteredRun, candidates: list[ChannelAccess],
                   opener: Callable[[CozeClient], Awaitable[T]]) -> tuple[ChannelAccess, T]:
        """The upstream call of a started run; a failure ends the run (refund) and is raised."""
        try:
            return await self.routes.open(candidates, opener, slot=run.call)
        except BaseException as exc:
            await run.finish(failed(exc))
            raise


async def _resumed(runs: RunRecorder, run_id: str) -> str:
    await runs.resume(run_id)
    return run_id


def failed(exc: BaseException) -> Outcome:
    """How a call that never got an answer ends."""
    if isinstance(exc, asyncio.CancelledError):
        return Outcome(status="cancelled", error="client disconnected", http_status=499)
    if isinstance(exc, CozeAPIError):
        return Outcome(status="error", error=exc.msg, http_status=exc.http_status,
                       logid=exc.logid, debug_url=exc.debug_url)
    return Outcome(status="error", error=str(exc),
                   http_status=getattr(exc, "status_code", 500))


def estimate_text(inputs: Mapping[str, Any] | None, *extra: str) -> str:
    """The text a reservation counts as input: the parameters as sent, plus any message."""
    text = json.dumps(inputs, ensure_ascii=False, separators=(",", ":")) if inputs else ""
    return text + "".join(extra)


def _named(targets: tuple[str | None, ...]) -> str:
    """The most specific target (a workflow id comes after the model name)."""
    return next((target for target in reversed(targets) if target), "")
