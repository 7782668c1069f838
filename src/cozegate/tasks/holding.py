"""A task run as a stream the driving process holds (chat flows, and workflows whose Coze
plan refuses async runs with 6003).

Nothing upstream can re-attach to such a run, so it lives exactly as long as this process
holds the connection: the stage ``streaming`` tells a process that takes the task over later
that the stream died with its holder. The answer text is stored as ``message`` events, at most
one per ``progress_interval``, so ``/events`` shows it growing without a write per token.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from cozegate.config import TaskSettings
from cozegate.models import Task
from cozegate.models.task import STAGE_STREAMING, TASK_RUNNING
from cozegate.protocol.coze import ChatMessageInput
from cozegate.relay.upstreams import ChannelAccess
from cozegate.runs.schemas import RunUpdate
from cozegate.tasks.channels import TaskChannels
from cozegate.tasks.outcome import RunEnd, StreamTally
from cozegate.tasks.store import TaskStore
from cozegate.upstream import (
    CozeAPIError,
    CozeClient,
    CozeError,
    CozeStreamError,
    CozeTransportError,
)


class StreamHolder:
    def __init__(self, store: TaskStore, channels: TaskChannels, settings: TaskSettings,
                 owner: str) -> None:
        self._store = store
        self._channels = channels
        self._settings = settings
        self._owner = owner

    async def hold(self, task: Task, candidates: Sequence[ChannelAccess],
                   reason: str) -> RunEnd | None:
        """Run ``task`` as a stream on the first channel that opens it."""
        last_error: CozeError | None = None
        for channel in candidates:
            if not await self._store.update(task.id, {
                    "stage": STAGE_STREAMING, "mode": "stream", "status": TASK_RUNNING,
                    "channel_id": channel.id, "channel_name": channel.name,
                    "started_at": task.started_at or self._store.now()}, owner=self._owner,
                    run=RunUpdate(status="running", stream=True, channel_id=channel.id,
                                  channel_name=channel.name),
                    event=("started", {"mode": "stream", "reason": reason,
                                       "channel": channel.name})):
                return None
            tally = StreamTally(chat=task.kind == "chatflow")
            try:
                return await self._follow(task, self._channels.client(channel), tally)
            except CozeStreamError as exc:
                return _broken(tally, f"the stream from Coze broke off: {exc}")
            except CozeAPIError as exc:
                if (exc.http_status or 0) >= 500 and tally.execute_id is None:
                    last_error = exc
                    await self._channels.record_failure(channel, str(exc))
                    continue
                return RunEnd(status="failed", error=f"Coze refused the run: {exc.msg}",
                              error_code=exc.code, logid=exc.logid, debug_url=exc.debug_url)
            except CozeTransportError as exc:
                if not exc.sent:
                    last_error = exc
                    await self._channels.record_failure(channel, str(exc))
                    continue
                return _broken(tally, f"Coze stopped answering: {exc}")
        return RunEnd.failed(f"no channel could open the stream: {last_error}")

    async def _follow(self, task: Task, client: CozeClient, tally: StreamTally) -> RunEnd | None:
        pending: list[str] = []
        flushed_at = time.monotonic()
        known_execute_id: str | None = None
        async with self._open(task, client) as stream:
            logid = stream.logid
            async for event in stream:
                added = tally.feed(event)
                if added:
                    pending.append(added)
                facts: dict[str, Any] = {}
                if tally.execute_id and tally.execute_id != known_execute_id:
                    known_execute_id = tally.execute_id
                    facts = {"execute_id": tally.execute_id, "logid": logid}
                due = time.monotonic() - flushed_at >= self._settings.progress_interval
                if facts or (pending and due):
                    if not await self._flush(task.id, pending, facts):
                        return None
                    pending, flushed_at = [], time.monotonic()
        if pending and not await self._flush(task.id, pending, {}):
            return None
        end = tally.end()
        end.logid = end.logid or logid
        return end

    def _open(self, task: Task, client: CozeClient) -> Any:
        if task.kind == "chatflow":
            message = ChatMessageInput(role="user", content=task.message or "")
            return client.chat_workflow(task.workflow_id, [message],
                                        parameters=task.input_parameters or None,
                                        conversation_id=task.conversation_id)
        return client.stream_workflow(task.workflow_id, task.input_parameters)

    async def _flush(self, task_id: str, pending: list[str], facts: dict[str, Any]) -> bool:
        event = ("message", {"content": "".join(pending)}) if pending else None
        facts = {name: value for name, value in facts.items() if value}
        run = RunUpdate(**facts) if facts else None
        return await self._store.update(task_id, facts, owner=self._owner, run=run,
                                        event=event)


def _broken(tally: StreamTally, reason: str) -> RunEnd:
    end = tally.end()
    return RunEnd(status="failed", error=reason, output=end.output or None,
                  input_tokens=end.input_tokens, output_tokens=end.output_tokens,
                  execute_id=end.execute_id, debug_url=end.debug_url)
