"""Relaying an open Coze stream to the client, event by event, and settling after it.

Each event is written out as soon as it arrives (no buffering; ids, names and payloads as
Coze sent them, re-encoded in the strict one-``data:``-line form). The stream ends when
Coze's does, right after its final event; the call is settled and its run record closed just
before that event is relayed. Facts that matter earlier (a conversation Coze just created)
are recorded through ``on_facts`` before the event that reveals them.

If Coze breaks off mid-way, a closing event in Coze's own form says so (workflow ``Error``,
chat ``conversation.chat.failed``/``error``), since the HTTP status is long gone. Whatever
happens, including the client going away, ``finally`` settles the reservation and closes the
run record, shielded from cancellation.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from cozegate.native.metered import MeteredRun
from cozegate.native.tally import ChatTally, Facts, WorkflowTally
from cozegate.relay.metering import Status
from cozegate.upstream import CozeError, EventStream

log = logging.getLogger("cozegate.native")

FactsHook = Callable[[Facts], Awaitable[None]]


async def relay_events(stream: EventStream[Any], tally: WorkflowTally | ChatTally,
                       run: MeteredRun, on_facts: FactsHook | None = None) -> AsyncIterator[
                           bytes]:
    status: Status = "cancelled"  # unless the loop below completes
    try:
        try:
            async for event in stream:
                run.call.mark_first_byte()
                facts = tally.see(event)
                if tally.last:
                    # Settled and recorded before the last event goes out, so a client acting
                    # on it (resume, history, next turn) finds its run, and no extra write.
                    await _end(run, tally, tally.status)
                elif facts and on_facts is not None:
                    await _record(on_facts, facts)
                yield event.encode()
        except CozeError as exc:
            log.warning("upstream stream of request %s broke: %s", run.call.request_id, exc)
            tally.broke(f"upstream stream broke: {exc}")
            yield tally.failure_event(tally.error or "upstream stream broke")
        status = tally.status
    finally:
        await stream.aclose()
        await _end(run, tally, status)  # a no-op when already settled


async def _end(run: MeteredRun, tally: WorkflowTally | ChatTally, status: Status) -> None:
    await run.finish(tally.outcome(status), output=tally.output or None,
                     interrupt=tally.interrupt, conversation_id=tally.conversation_id)


async def _record(on_facts: FactsHook, facts: Facts) -> None:
    # Bookkeeping must not cut a stream the client is reading; the run store logs its own.
    try:
        await on_facts(facts)
    except Exception:
        log.exception("could not record %s", facts)
