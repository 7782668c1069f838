"""``GET /api/coze/tasks/{id}/events``: the task's stored events as SSE, then the live rest.

Every event has ``id: <seq>``. A client that reconnects with ``Last-Event-ID: <seq>`` (or
``?last_event_id=``) gets the events after it, then the new ones as they are stored; the
stream closes after the task's final event (``succeeded``, ``failed``, ``cancelled`` or
``interrupted``, whose data is the whole task). Events are read from the database, so the
stream works from any process, whichever one drives the task; each read is its own short
session (none is held across the stream).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from cozegate.kit.sse import encode_comment, encode_event
from cozegate.models.task import TASK_ACTIVE, TASK_ENDED
from cozegate.tasks.repository import TaskRepository
from cozegate.tasks.store import TaskStore

RETRY_MS = 2000  # the browser's reconnect delay (EventSource ``retry:``)


async def task_events(store: TaskStore, task_id: str, after: int, *, poll_interval: float,
                      keepalive: float) -> AsyncIterator[bytes]:
    yield f"retry: {RETRY_MS}\n\n".encode()
    last = after
    quiet_since = time.monotonic()
    while True:
        async with store.sessionmaker() as session:
            repo = TaskRepository(session)
            events = await repo.events_after(task_id, last)
            task = None if events else await repo.get(task_id)
        for event in events:
            yield encode_event(event.data, event=event.event, id=event.seq)
            last = event.seq
            if event.event in TASK_ENDED:
                return
        if events:
            quiet_since = time.monotonic()
            continue
        if task is None or (task.status not in TASK_ACTIVE and task.settled
                            and last >= task.last_event_id):
            return  # nothing more will come (the client already has the final event)
        if time.monotonic() - quiet_since >= keepalive:
            yield encode_comment("keep-alive")
            quiet_since = time.monotonic()
        await asyncio.sleep(poll_interval)
