"""Settling ``is_async`` runs: Coze only says "accepted", the usage comes when the run ends.

The reservation made at submit stays open; this process follows the run's history through
the channel that accepted it (polls with exponential backoff) and settles from the usage
Coze reports once the run is ``Success`` or ``Fail``. When the client polls the run history
through the gateway first, that answer settles at once (:meth:`AsyncRuns.observe`).

A run is followed by the process that accepted it; when that process stops first, the next
start picks the run up again (``recovery.AsyncRecovery``) and settles it the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from cozegate.native.metered import MeteredRun
from cozegate.protocol.coze import ExecuteStatus, RunHistory
from cozegate.relay.metering import Outcome
from cozegate.relay.upstreams import ChannelAccess
from cozegate.upstream import CozeClient, CozeError

log = logging.getLogger("cozegate.native")


@dataclass(frozen=True)
class AsyncPolling:
    first: float = 2.0  # seconds before the first look
    longest: float = 60.0  # cap of the backoff
    deadline: float = 86_400.0  # Coze's own limit for async runs: 24 h


@dataclass
class _Followed:
    run: MeteredRun
    execute_id: str
    task: asyncio.Task[None] | None = None


class AsyncRuns:
    def __init__(self, polling: AsyncPolling) -> None:
        self._polling = polling
        self._followed: dict[str, _Followed] = {}

    def follow(self, run: MeteredRun, client: CozeClient, channel: ChannelAccess,
               workflow_id: str, execute_id: str) -> None:
        followed = _Followed(run, execute_id)
        self._followed[execute_id] = followed
        followed.task = asyncio.create_task(
            self._poll(followed, client, workflow_id, execute_id),
            name=f"cozegate-async-run-{execute_id}")
        log.info("following async run %s of workflow %s on channel %s", execute_id,
                 workflow_id, channel.name)

    async def observe(self, history: RunHistory) -> None:
        """A history answer relayed to a client: settle now if it shows the end."""
        followed = self._followed.get(history.execute_id)
        if followed is not None and _ended(history):
            await self._settle(followed, history)

    async def aclose(self) -> None:
        tasks = [f.task for f in self._followed.values() if f.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._followed.clear()

    @property
    def following(self) -> int:
        return len(self._followed)

    async def _poll(self, followed: _Followed, client: CozeClient, workflow_id: str,
                    execute_id: str) -> None:
        delay = self._polling.first
        give_up = time.monotonic() + self._polling.deadline
        last: RunHistory | None = None
        while time.monotonic() < give_up and not followed.run.finished:
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._polling.longest)
            try:
                last = await client.get_run_history(workflow_id, execute_id)
            except CozeError as exc:
                log.warning("polling async run %s failed (%s); trying again", execute_id, exc)
                continue
            if _ended(last):
                await self._settle(followed, last)
                return
        if not followed.run.finished:
            log.warning("async run %s did not end within %.0f s", execute_id,
                        self._polling.deadline)
            await self._settle(followed, last, timed_out=True)

    async def _settle(self, followed: _Followed, history: RunHistory | None, *,
                      timed_out: bool = False) -> None:
        run = followed.run
        self._followed.pop(followed.execute_id, None)
        if run.finished:
            return
        await run.finish(_outcome(history, timed_out), output=_output(history),
                         interrupt=_interrupt(history))
        task = followed.task
        if task is not None and task is not asyncio.current_task():
            task.cancel()


def _ended(history: RunHistory) -> bool:
    return history.execute_status in (ExecuteStatus.SUCCESS, ExecuteStatus.FAIL)


def _outcome(history: RunHistory | None, timed_out: bool) -> Outcome:
    if history is None:
        return Outcome(status="cancelled", error="async run never reported back")
    usage = history.usage
    tokens = {"input_tokens": usage.input_count if usage else None,
              "output_tokens": usage.output_count if usage else None}
    common = {"output_text": history.output, "execute_id": history.execute_id,
              "logid": history.logid, "debug_url": history.debug_url or None}
    if history.execute_status is ExecuteStatus.SUCCESS:
        return Outcome(status="success", http_status=200, **tokens, **common)
    if timed_out:
        status = "interrupted" if history.interrupt_data is not None else "cancelled"
        return Outcome(status=status, http_status=200, **tokens, **common)  # type: ignore[arg-type]
    return Outcome(status="error", error=history.error_message or f"code {history.error_code}",
                   http_status=200, **tokens, **common)


def _output(history: RunHistory | None) -> str | None:
    return history.output or None if history is not None else None


def _interrupt(history: RunHistory | None) -> dict[str, object] | None:
    if history is None or history.interrupt_data is None:
        return None
    return history.interrupt_data.model_dump()
