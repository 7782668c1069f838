"""Callback delivery: POST the finished task to its ``callback_url``, signed, with retries.

Body: the task as ``GET /api/coze/tasks/{id}`` shows it (JSON). Headers:

* ``X-Cozegate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`` — the
  secret is the task's ``callback_secret`` (given at submit, or generated and returned once
  in the submit answer). Receivers recompute it over the raw body and compare in constant
  time; ``t`` lets them refuse old deliveries.
* ``X-Cozegate-Event: task.<status>``, ``X-Cozegate-Task-Id``, ``X-Cozegate-Delivery``
  (``<task id>:<attempt>``, for de-duplication: a delivery may arrive more than once).

A 2xx answer is a delivery. Anything else is retried after ``callback_backoff`` seconds,
doubling, up to ``callback_max_attempts``; then ``callback_status`` says ``failed``. The
state lives in the task row, so deliveries survive restarts and any process may send them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta

import httpx

from cozegate.channels.crypto import SecretBox
from cozegate.config import TaskSettings
from cozegate.kit.netguard import UnsafeURL, check_public_url
from cozegate.models.task import CALLBACK_DELIVERED, CALLBACK_FAILED, CALLBACK_PENDING
from cozegate.tasks.repository import TaskRepository
from cozegate.tasks.schemas import TaskOut
from cozegate.tasks.store import TaskStore

log = logging.getLogger("cozegate.tasks")

SIGNATURE_HEADER = "X-Cozegate-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body,
                      hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes) -> bool:
    """What a receiver does (used by the tests; documented in docs/tasks.md)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        expected = sign(secret, int(parts["t"]), body)
    except (KeyError, ValueError):
        return False
    return hmac.compare_digest(expected, header)


class CallbackSender:
    def __init__(self, store: TaskStore, box: SecretBox, settings: TaskSettings) -> None:
        self._store = store
        self._box = box
        self._settings = settings
        self._http: httpx.AsyncClient | None = None
        self._running = False
        self._sending: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._running = True

    def _client(self) -> httpx.AsyncClient:
        # Made on the first delivery: its TLS context (the CA bundle) costs ~3 MiB of a
        # gateway's idle memory, and most gateways never send a callback.
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self._settings.callback_timeout,
                                           follow_redirects=False)
        return self._http

    async def stop(self) -> None:
        self._running = False
        for sending in list(self._sending):
            sending.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def sweep(self) -> None:
        """Start the deliveries that are due (claimed first, so one process sends each)."""
        if not self._running:
            return
        now = self._store.now()
        # A claimed delivery not finished by then (its process died) becomes due again.
        hold = now + timedelta(seconds=self._settings.callback_timeout * 2 + 5)
        async with self._store.sessionmaker.begin() as session:
            repo = TaskRepository(session)
            due = await repo.callbacks_due(now, limit=50)
            claimed = [task_id for task_id, due_at in due
                       if await repo.claim_callback(task_id, due_at, hold)]
        for task_id in claimed:
            sending = asyncio.create_task(self._deliver(task_id), name=f"callback:{task_id}")
            self._sending.add(sending)
            sending.add_done_callback(self._sending.discard)

    async def _deliver(self, task_id: str) -> None:
        task = await self._store.load(task_id)
        if task is None or task.callback_url is None or not self._running:
            return
        attempt = task.callback_attempts + 1
        body = json.dumps(TaskOut.of(task).model_dump(mode="json"), ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8")
        secret = self._box.decrypt(task.callback_secret) if task.callback_secret else ""
        headers = {"Content-Type": "application/json",
                   SIGNATURE_HEADER: sign(secret, int(time.time()), body),
                   "X-Cozegate-Event": f"task.{task.status}", "X-Cozegate-Task-Id": task.id,
                   "X-Cozegate-Delivery": f"{task.id}:{attempt}"}
        error: str | None = None
        try:
            if not self._settings.callback_allow_private:
                await check_public_url(task.callback_url)  # again: DNS may have changed
            response = await self._client().post(task.callback_url, content=body,
                                                 headers=headers)
            if not response.is_success:
                error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        except UnsafeURL as exc:
            error = f"callback target refused: {exc}"
        await self._record(task_id, attempt, error)

    async def _record(self, task_id: str, attempt: int, error: str | None) -> None:
        values: dict[str, object] = {"callback_attempts": attempt, "callback_error": error}
        if error is None:
            values.update(callback_state=CALLBACK_DELIVERED, callback_next_at=None)
        elif attempt >= self._settings.callback_max_attempts:
            values.update(callback_state=CALLBACK_FAILED, callback_next_at=None)
            log.warning("task %s: callback given up after %d attempts (%s)", task_id,
                        attempt, error)
        else:
            delay = self._settings.callback_backoff * 2 ** (attempt - 1)
            values.update(callback_state=CALLBACK_PENDING,
                          callback_next_at=self._store.now() + timedelta(seconds=delay))
        async with self._store.sessionmaker.begin() as session:
            await TaskRepository(session).set_fields(task_id, values)
