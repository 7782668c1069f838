"""``RunRecorder``: the run store as other surfaces use it, each call its own short transaction.

Surfaces hold no session across a stream (design §4), so they record through this object
(``runtime.runs``) rather than through :class:`RunService` directly. Recording is
best effort on purpose: a failed insert or update is logged and swallowed, because losing a
history row must never fail the call it describes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from cozegate.billing.writer import DEFER_WITHIN, BillingWriter, WriterClosed
from cozegate.db import SessionMaker
from cozegate.models.base import utcnow
from cozegate.relay.metering import Call, Outcome
from cozegate.runs.schemas import EndStatus, RunFinish, RunStart, RunUpdate
from cozegate.runs.service import RunService, new_run_id
from cozegate.runs.writes import RunEnded, RunStarted, RunUpdated

log = logging.getLogger("cozegate.runs")

# Metering's outcome statuses → run statuses.
_END_STATUS: dict[str, EndStatus] = {"success": "succeeded", "interrupted": "interrupted",
                                     "error": "failed", "cancelled": "cancelled"}


class RunRecorder:
    def __init__(self, sessionmaker: SessionMaker, service: RunService | None = None, *,
                 writer: BillingWriter | None = None) -> None:
        """With ``writer`` (the runtime's billing writer), start, update and finish are
        booked through it (``runs.writes``), in the transactions of the calls' billing."""
        self._sessionmaker = sessionmaker
        self.service = service or RunService()
        self._writer = writer

    @property
    def books_with_billing(self) -> bool:
        """Writes go through the billing writer, in order with holds and settlements."""
        return self._writer is not None

    async def start(self, data: RunStart) -> str:
        """Record a run that begins; returns its id (even if the insert failed)."""
        run_id = new_run_id()
        try:
            if self._writer is not None:
                await self._writer.submit(RunStarted(run_id, data))
            else:
                async with self._sessionmaker.begin() as session:
                    await self.service.start(session, data, run_id=run_id)
        except Exception:
            log.exception("could not record the start of run %s", run_id)
        return run_id

    async def update(self, run_id: str, data: RunUpdate) -> None:
        try:
            if self._writer is not None:
                await self._writer.submit(RunUpdated(run_id, data))
                return
            async with self._sessionmaker.begin() as session:
                await self.service.update(session, run_id, data)
        except Exception:
            log.exception("could not update run %s", run_id)

    async def finish(self, run_id: str, data: RunFinish) -> bool:
        try:
            if self._writer is not None:
                return bool(await self._writer.submit(RunEnded(run_id, data)))
            async with self._sessionmaker.begin() as session:
                return await self.service.finish(session, run_id, data)
        except Exception:
            log.exception("could not record the end of run %s", run_id)
            return False

    async def resume(self, run_id: str) -> bool:
        try:
            async with self._sessionmaker.begin() as session:
                return await self.service.resume(session, run_id)
        except Exception:
            log.exception("could not record the resume of run %s", run_id)
            return False

    # --- metered calls (relay, Coze surface) -----------------------------------------------

    async def call_started(self, call: Call, *, kind: str = "workflow",
                           inputs: dict[str, Any] | None = None,
                           conversation_id: str | None = None, resume_count: int = 0) -> str:
        """Record the run of a metered ``Call`` (after its reservation, before upstream)."""
        return await self.start(_run_start(call, kind, inputs, conversation_id, resume_count))

    def call_started_lazily(self, call: Call, *, kind: str = "workflow",
                            inputs: dict[str, Any] | None = None,
                            conversation_id: str | None = None,
                            resume_count: int = 0) -> str:
        """:meth:`call_started` without waiting: the insert is booked ``LAZY_DELAY`` later,
        or with the first write of this run submitted before that (an end absorbs it: one
        insert of the finished run). Only with a billing writer (``books_with_billing``)."""
        assert self._writer is not None, "lazy starts need the billing writer"
        run_id = new_run_id()
        job = RunStarted(run_id, _run_start(call, kind, inputs, conversation_id, resume_count),
                         at=utcnow())
        self._writer.submit(job, urgent=False).add_done_callback(
            lambda done: _log_start_failure(done, run_id))
        return run_id

    async def call_finished(self, run_id: str, call: Call, outcome: Outcome, *,
                            output: str | None = None,
                            interrupt: dict[str, Any] | None = None,
                            conversation_id: str | None = None) -> bool:
        """Record how a metered call ended; call it after ``Metering.finish`` so the run
        copies the settled usage and cost from the usage log. ``output`` defaults to the
        outcome's text. One short transaction."""
        return await self.finish(run_id, _run_finish(call, outcome, output=output,
                                                     interrupt=interrupt,
                                                     conversation_id=conversation_id))

    def queue_call_finished(self, run_id: str, call: Call, outcome: Outcome, *,
                            interrupt: dict[str, Any] | None = None,
                            deferred: bool = False) -> asyncio.Future[Any] | None:
        """:meth:`call_finished` queued now on the billing writer (``books_with_billing``),
        right behind the call's ``Metering.queue_finish`` (``deferred`` as it was): it
        lands in the settlement's transaction and still sees its usage row. The future
        answers once committed; a failure is logged here. None if the writer is closed."""
        assert self._writer is not None, "queued ends need the billing writer"
        try:
            future = self._writer.submit(RunEnded(run_id, _run_finish(
                call, outcome, interrupt=interrupt)), urgent=not deferred, within=DEFER_WITHIN)
        except WriterClosed:
            log.error("could not record the end of run %s: shutting down", run_id)
            return None
        future.add_done_callback(lambda done: _log_end_failure(done, run_id))
        return future


def _run_start(call: Call, kind: str, inputs: dict[str, Any] | None,
               conversation_id: str | None, resume_count: int) -> RunStart:
    return RunStart(
        user_id=call.key.user_id, api_key_id=call.key.id, key_name=call.key.name,
        surface=call.surface, workflow_id=call.workflow_id,
        kind="chatflow" if kind == "chatflow" else "workflow", model=call.model,
        inputs=inputs, request_id=call.request_id, channel_id=call.channel_id,
        channel_name=call.channel_name, stream=call.stream, client_ip=call.client_ip,
        conversation_id=conversation_id, resume_count=resume_count)


def _run_finish(call: Call, outcome: Outcome, *, output: str | None = None,
                interrupt: dict[str, Any] | None = None,
                conversation_id: str | None = None) -> RunFinish:
    ttfb = None if call.first_byte is None else round((call.first_byte - call.started) * 1000)
    return RunFinish(
        status=_END_STATUS[outcome.status],
        output=output if output is not None else (outcome.output_text or None),
        error=outcome.error, execute_id=outcome.execute_id, logid=outcome.logid,
        debug_url=outcome.debug_url, interrupt=interrupt, conversation_id=conversation_id,
        ttfb_ms=ttfb, channel_id=call.channel_id, channel_name=call.channel_name)


def _log_end_failure(done: asyncio.Future[Any], run_id: str) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.error("could not record the end of run %s", run_id, exc_info=done.exception())


def _log_start_failure(done: asyncio.Future[Any], run_id: str) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.error("could not record the start of run %s", run_id, exc_info=done.exception())
