"""One billed call on the Coze surface: its reservation, its run record, its single ending.

Billing is the relay's :class:`~cozegate.relay.metering.Metering` unchanged (reserve before,
settle or refund after, shielded); the run record is the run store's
:class:`~cozegate.runs.recorder.RunRecorder`. What a stream learns on the way (the
execute_id, a new conversation) is written to the run record *before* the event that
revealed it is relayed, so a client that acts on that event (resume, history, next turn)
always finds its run.

A resume is billed as a call of its own but continues the run record of the run it resumes
(a *leg*): that record then shows the usage and cost of all legs together.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from cozegate.db import SessionMaker
from cozegate.relay.metering import Call, Metering, Outcome, Status
from cozegate.runs.recorder import RunRecorder
from cozegate.runs.repository import RunRepository
from cozegate.runs.schemas import EndStatus, RunFinish, RunUpdate


class Bookkeeping:
    """Endings in flight: each runs as a task of its own, so a cancelled caller (a client gone
    mid-stream) cannot cut it short; :meth:`drain` waits for them at shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await asyncio.shield(task)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


@dataclass
class MeteredRun:
    call: Call
    # The run record's id once its insert (or resume) is written: that write runs beside the
    # upstream call instead of before it (one database write less before the first byte);
    # everything else the record gets waits for it.
    recorded: asyncio.Future[str]
    metering: Metering
    runs: RunRecorder
    bookkeeping: Bookkeeping
    # Set for a resume leg: where to read the earlier legs' totals.
    legs_of: SessionMaker | None = None
    _finished: bool = field(default=False, init=False)

    @property
    def finished(self) -> bool:
        return self._finished

    async def learned(self, *, execute_id: str | None = None,
                      conversation_id: str | None = None, logid: str | None = None,
                      debug_url: str | None = None, is_async: bool | None = None) -> None:
        facts: dict[str, Any] = {"execute_id": execute_id, "conversation_id": conversation_id,
                                 "logid": logid, "debug_url": debug_url, "is_async": is_async}
        known = {name: value for name, value in facts.items() if value is not None}
        if not known:
            return
        if self.call.channel_id is not None:
            # Later calls on these ids (history, resume) must reach the same channel.
            known.update(channel_id=self.call.channel_id, channel_name=self.call.channel_name)
        await self.runs.update(await self.recorded, RunUpdate(**known))

    async def finish(self, outcome: Outcome, *, output: str | None = None,
                     interrupt: dict[str, Any] | None = None,
                     conversation_id: str | None = None, record: bool = True) -> None:
        """Settle (or refund) and close the run record, once; safe to call again.

        ``record=False`` only settles (a leg whose run goes on elsewhere)."""
        if self._finished:
            return
        self._finished = True
        await self.bookkeeping.run(self._end(outcome, output, interrupt, conversation_id,
                                             record))

    async def _end(self, outcome: Outcome, output: str | None,
                   interrupt: dict[str, Any] | None, conversation_id: str | None,
                   record: bool) -> None:
        await self.metering.finish(self.call, outcome)
        if record:
            await self._record(outcome, output, interrupt, conversation_id)

    async def _record(self, outcome: Outcome, output: str | None,
                      interrupt: dict[str, Any] | None, conversation_id: str | None) -> None:
        run_id = await self.recorded
        if self.legs_of is None:
            await self.runs.call_finished(run_id, self.call, outcome, output=output,
                                          interrupt=interrupt, conversation_id=conversation_id)
            return
        totals = await self._totals(run_id)
        await self.runs.finish(run_id, RunFinish(
            status=run_status(outcome.status), output=output or outcome.output_text or None,
            error=outcome.error, execute_id=outcome.execute_id, logid=outcome.logid,
            debug_url=outcome.debug_url, interrupt=interrupt,
            conversation_id=conversation_id, **totals))

    async def _totals(self, run_id: str) -> dict[str, int]:
        """The run's usage and cost so far plus this leg's (as billing settled it)."""
        assert self.legs_of is not None
        async with self.legs_of() as session:
            repo = RunRepository(session)
            run = await repo.get(run_id)
            leg = await repo.usage_of(self.call.request_id)
        if run is None or leg is None:
            return {}
        return {"input_tokens": run.input_tokens + leg.input_tokens,
                "output_tokens": run.output_tokens + leg.output_tokens,
                "cost": run.cost + leg.cost}


def run_status(status: Status) -> EndStatus:
    """Metering's outcome status as a run status."""
    match status:
        case "success":
            return "succeeded"
        case "error":
            return "failed"
        case _:
            return status
