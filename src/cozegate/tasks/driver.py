"""Drive one task to its end from wherever it stands (``stage``), as the lease holder.

* ``new``: pick a channel and ask Coze for an async run (``is_async``). Accepted → ``polling``.
  Code 6003 (the plan has no async) → the run is held as a stream instead (:mod:`.holding`);
  chat flows always are.
* ``polling``: poll the run history with exponential backoff until Success / Fail / an
  interrupt; a task taken over after a restart continues here with its ``execute_id``.
* ``submitting`` / ``streaming`` found at the start of a drive mean the process that drove
  the task died in the middle (the submit's answer, or the held stream, died with it): the
  task fails with that reason, never stays running.

Every write is guarded by the lease (``owner``): a driver that lost its lease cannot write,
and the worker cancels it. Cancellation also closes a held stream, which stops the run.
"""

from __future__ import annotations

import asyncio
import logging

from cozegate.config import TaskSettings
from cozegate.models import Task
from cozegate.models.task import (
    STAGE_NEW,
    STAGE_POLLING,
    STAGE_STREAMING,
    STAGE_SUBMITTING,
    TASK_ACTIVE,
    TASK_RUNNING,
)
from cozegate.protocol.coze import ExecuteStatus, RunHistory, WorkflowRunResult
from cozegate.relay.upstreams import ChannelAccess
from cozegate.runs.schemas import RunUpdate
from cozegate.tasks.channels import TaskChannels
from cozegate.tasks.errors import NoChannel
from cozegate.tasks.holding import StreamHolder
from cozegate.tasks.outcome import RunEnd, end_node_uuid, end_of_history, history_output
from cozegate.tasks.store import TaskStore
from cozegate.upstream import CozeAPIError, CozeClient, CozeError, CozeTransportError

log = logging.getLogger("cozegate.tasks")

ASYNC_NOT_ALLOWED = 6003  # Coze: "premium feature available only to Coze Professional users"
NOT_FOUND = 4000  # run history of an unknown (or expired) execute_id
MAX_POLL_REFUSALS = 5  # consecutive API errors (not transport errors) before giving up
MAX_SUBMIT_ROUNDS = 6  # rounds over the channels while none can take the run

LOST_SUBMIT = ("the cozegate process driving this task stopped while Coze was accepting the "
               "run; whether it started is unknown — submit the task again")
LOST_STREAM = ("the cozegate process holding this task's stream stopped (restart or crash); "
               "a stream cannot be re-attached — submit the task again")


class TaskDriver:
    def __init__(self, store: TaskStore, channels: TaskChannels, settings: TaskSettings,
                 owner: str) -> None:
        self._store = store
        self._channels = channels
        self._settings = settings
        self._owner = owner
        self._holder = StreamHolder(store, channels, settings, owner)

    async def drive(self, task_id: str) -> None:
        task = await self._store.load(task_id)
        if task is None or task.status not in TASK_ACTIVE or task.lease_owner != self._owner:
            return
        try:
            end = await self._from_stage(task)
        except asyncio.CancelledError:
            raise
        except NoChannel as exc:
            end = RunEnd.failed(str(exc))
        except Exception as exc:  # a bug must end the task, not leave it running
            log.exception("driving task %s failed", task_id)
            end = RunEnd.failed(f"internal error while driving the task: {exc!r}")
        if end is not None:
            await self._store.end(task_id, end, owner=self._owner)

    async def _from_stage(self, task: Task) -> RunEnd | None:
        if task.stage == STAGE_NEW:
            return await self._start(task)
        if task.stage == STAGE_SUBMITTING:
            return RunEnd.failed(LOST_SUBMIT)
        if task.stage == STAGE_STREAMING:
            return RunEnd.failed(LOST_STREAM)
        if task.stage == STAGE_POLLING and task.execute_id and task.channel_id is not None:
            channel = await self._channels.by_id(task.channel_id)
            if channel is None:
                return RunEnd.failed(f"channel {task.channel_name!r} that runs this task was "
                                     "deleted; its result cannot be fetched")
            await self._store.emit(task.id, "resumed", {"execute_id": task.execute_id,
                                                        "polls": task.polls})
            return await self._poll(task, self._channels.client(channel), task.execute_id)
        return RunEnd.failed(f"task found in an unexpected stage {task.stage!r}")

    async def _start(self, task: Task) -> RunEnd | None:
        candidates = await self._channels.candidates(task.workflow_id, task.model)
        if task.kind == "chatflow":
            return await self._holder.hold(task, candidates, "chat flows run as a held stream")
        last_error: CozeError | None = None
        for attempt in range(MAX_SUBMIT_ROUNDS):
            if attempt:
                # No channel could take it: wait and go round again.
                if not await self._store.update(task.id, {"stage": STAGE_NEW},
                                                owner=self._owner):
                    return None
                await asyncio.sleep(self._delay(attempt - 1))
            for channel in candidates:
                client = self._channels.client(channel)
                if not await self._store.update(task.id, {
                        "stage": STAGE_SUBMITTING, "status": TASK_RUNNING,
                        "channel_id": channel.id, "channel_name": channel.name,
                        "started_at": self._store.now()}, owner=self._owner,
                        run=RunUpdate(status="running", channel_id=channel.id,
                                      channel_name=channel.name)):
                    return None
                try:
                    result = await client.run_workflow(task.workflow_id, task.input_parameters,
                                                       is_async=True)
                except CozeAPIError as exc:
                    if exc.code == ASYNC_NOT_ALLOWED:
                        await self._store.emit(task.id, "fallback", {
                            "reason": f"Coze refused an async run ({exc.code}): {exc.msg}",
                            "mode": "stream"})
                        return await self._holder.hold(
                            task, [channel], f"async refused by Coze ({exc.code})")
                    if _server_side(exc):
                        last_error = exc
                        await self._channels.record_failure(channel, str(exc))
                        continue
                    return RunEnd(status="failed", error=f"Coze refused the run: {exc.msg}",
                                  error_code=exc.code, logid=exc.logid,
                                  debug_url=exc.debug_url)
                except CozeTransportError as exc:
                    if exc.sent:
                        return RunEnd.failed(f"no answer from Coze to the run request ({exc}); "
                                             "whether it started is unknown")
                    last_error = exc
                    await self._channels.record_failure(channel, str(exc))
                    continue
                return await self._accepted(task, channel, client, result)
        return RunEnd.failed(f"no channel could take the run after {MAX_SUBMIT_ROUNDS} rounds: "
                             f"{last_error}")

    async def _accepted(self, task: Task, channel: ChannelAccess, client: CozeClient,
                        result: WorkflowRunResult) -> RunEnd | None:
        if not result.is_async_accepted:
            # A server that ignored is_async answered with the whole run: that is the end.
            usage = result.usage
            return RunEnd(status="succeeded" if result.interrupt_data is None else "interrupted",
                          output=result.data, execute_id=result.execute_id,
                          debug_url=result.debug_url, logid=result.logid,
                          input_tokens=int(usage.input_count) if usage else None,
                          output_tokens=int(usage.output_count) if usage else None)
        execute_id = str(result.execute_id)
        if not await self._store.update(task.id, {
                "stage": STAGE_POLLING, "mode": "async", "execute_id": execute_id,
                "debug_url": result.debug_url, "logid": result.logid}, owner=self._owner,
                run=RunUpdate(execute_id=execute_id, debug_url=result.debug_url,
                              logid=result.logid, is_async=True),
                event=("started", {"mode": "async", "execute_id": execute_id,
                                   "debug_url": result.debug_url, "channel": channel.name})):
            return None
        return await self._poll(task, client, execute_id)

    async def _poll(self, task: Task, client: CozeClient, execute_id: str) -> RunEnd | None:
        polls, refusals, attempt = task.polls, 0, 0
        while True:
            await asyncio.sleep(self._delay(attempt))
            attempt += 1
            try:
                history = await client.get_run_history(task.workflow_id, execute_id)
            except CozeAPIError as exc:
                if exc.code == NOT_FOUND:
                    return RunEnd.failed(f"Coze does not know execute_id {execute_id} (any "
                                         f"more): {exc.msg}", exc.code)
                refusals += 1
                if refusals >= MAX_POLL_REFUSALS:
                    return RunEnd.failed(f"Coze refused the run history {refusals} times: "
                                         f"{exc.msg}", exc.code)
                continue
            except CozeError as exc:  # unreachable for now: keep trying until the deadline
                log.warning("task %s: run history unavailable (%s)", task.id, exc)
                continue
            refusals = 0
            polls += 1
            if history.execute_status is ExecuteStatus.SUCCESS:
                return end_of_history(history, await self._full_output(task, client, history))
            if history.execute_status is ExecuteStatus.FAIL or history.interrupt_data:
                return end_of_history(history, None)
            finished = sorted(title for title, node in (history.node_execute_status or {})
                              .items() if node.is_finish)
            if not await self._store.update(task.id, {"polls": polls}, owner=self._owner,
                                            event=("progress", {
                                                "execute_status": history.execute_status.value,
                                                "polls": polls, "nodes_finished": finished,
                                                "next_poll_in": self._delay(attempt)})):
                return None

    async def _full_output(self, task: Task, client: CozeClient,
                           history: RunHistory) -> str:
        """History trims outputs over 1 MB; the End node's own record has all of it."""
        output = history_output(history)
        if not history.is_output_trimmed:
            return output
        uuid = end_node_uuid(history)
        if uuid:
            try:
                node = await client.get_node_execute_history(task.workflow_id,
                                                             history.execute_id, uuid)
                if node.node_output is not None:
                    return node.node_output
            except CozeError as exc:
                log.warning("task %s: the full output could not be fetched (%s)", task.id, exc)
        await self._store.emit(task.id, "warning", {
            "message": "Coze trimmed the output and the End node's full output could not be "
                       "fetched: the output kept is trimmed"})
        return output

    def _delay(self, attempt: int) -> float:
        settings = self._settings
        return min(settings.poll_initial * settings.poll_factor ** attempt, settings.poll_max)


def _server_side(exc: CozeAPIError) -> bool:
    return (exc.http_status or 0) >= 500 or exc.code == 5000


__all__ = ["LOST_STREAM", "LOST_SUBMIT", "TaskDriver"]
