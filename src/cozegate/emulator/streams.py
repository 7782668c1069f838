"""Workflow SSE: numbered events, PING heartbeats while a step takes long, close at the end.

Every event carries ``id:`` (PING too) counting from 0 per response — a resume restarts at 0
(spec §2.3). A heartbeat is sent whenever the script has produced nothing for
``ping_interval`` seconds, which is what keeps long ``slow_job`` streams alive.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator

from cozegate.emulator.engine import Event
from cozegate.emulator.state import Execution
from cozegate.emulator.wire import sse_frame

FINAL_EVENTS = frozenset({"Done", "Error", "Interrupt"})
CANCELLED_CODE = "5000"


async def workflow_sse(execution: Execution, events: AsyncGenerator[Event, None],
                       ping_interval: float) -> AsyncIterator[bytes]:
    """Frame ``events`` as workflow SSE; ends right after the final event."""
    # One pump task feeds a queue, so waiting with a heartbeat timeout costs no task per event.
    queue: asyncio.Queue[Event | BaseException | None] = asyncio.Queue(maxsize=16)
    pump = asyncio.ensure_future(_pump(events, queue))
    seq = 0
    finished = False
    try:
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                try:
                    async with asyncio.timeout(ping_interval):
                        item = await queue.get()
                except TimeoutError:
                    yield sse_frame("PING", {}, seq)
                    seq += 1
                    continue
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            name, data = item
            yield sse_frame(name, data, seq)
            seq += 1
            if name in FINAL_EVENTS:
                finished = True
                return
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        if not finished and execution.status == "Running":
            # The client went away mid-run: the emulator stops the run rather than
            # finishing it unseen, and says so in the run history.
            execution.status = "Fail"
            execution.error_code = CANCELLED_CODE
            execution.error_message = "stream cancelled: the client disconnected"
            execution.interrupt = None
            execution.touch()


async def _pump(events: AsyncGenerator[Event, None],
                queue: asyncio.Queue[Event | BaseException | None]) -> None:
    """Move events into ``queue``; ``None`` marks the end, an exception a failure."""
    try:
        async for event in events:
            await queue.put(event)
        await queue.put(None)
    except Exception as exc:
        await queue.put(exc)
    finally:
        await events.aclose()
