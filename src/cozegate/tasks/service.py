"""``TaskManager``: what the task API does — submit, read, list, cancel, stats.

Like the relay, it spans several short transactions (reserve, then store the task, each
committed on its own; the upstream work happens later in the worker), so it owns the
sessionmaker instead of taking a request session; the row-level rules live in
:mod:`.repository` and :mod:`.store`.

Submit: key allowlist and rate limit (class ``workflow``, or ``chat`` for chat flows), price,
**reservation** (402 when the balance cannot cover the worst case; nothing is stored then),
then the task row, its run record and its first event in one transaction, leased to this
process, which starts driving it at once. Billing settles when the task ends.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from cozegate.channels.crypto import SecretBox
from cozegate.config import TaskSettings
from cozegate.keys.errors import ModelNotAllowed
from cozegate.keys.schemas import KeyRecord
from cozegate.kit.ids import snowflake_id
from cozegate.kit.netguard import UnsafeURL, check_public_url
from cozegate.models import Task
from cozegate.models.task import STAGE_NEW, TASK_ACTIVE, TASK_CANCELLED, TASK_QUEUED
from cozegate.ratelimit.service import RateLimitService
from cozegate.relay.metering import Call, Metering, Outcome
from cozegate.runs.schemas import RunStart
from cozegate.runs.service import RunService, new_run_id
from cozegate.tasks.billing import SURFACE, input_text, price_fields
from cozegate.tasks.channels import TaskChannels
from cozegate.tasks.errors import (
    CallbackNotAllowed,
    IdempotencyConflict,
    TaskAlreadyEnded,
    TaskNotFound,
)
from cozegate.tasks.outcome import RunEnd
from cozegate.tasks.repository import TaskRepository
from cozegate.tasks.schemas import (
    TaskCreate,
    TaskList,
    TaskOut,
    TaskSubmitted,
    external_status,
    task_status,
)
from cozegate.tasks.store import TaskStore
from cozegate.tasks.worker import TaskWorker

# Seed 004's status words are accepted as list filters too.
_STATUS_FILTER = {"pending": ["queued"], "executing": ["running"], "running": ["running"],
                  "completed": ["succeeded"], "success": ["succeeded"],
                  "failed": ["failed", "interrupted"], "cancelled": ["cancelled"],
                  "queued": ["queued"], "succeeded": ["succeeded"],
                  "interrupted": ["interrupted"], "active": list(TASK_ACTIVE)}


@dataclass(frozen=True)
class Submission:
    answer: TaskSubmitted
    replayed: bool  # an earlier submission with the same Idempotency-Key and body


class TaskManager:
    def __init__(self, store: TaskStore, worker: TaskWorker, channels: TaskChannels,
                 metering: Metering, limits: RateLimitService, box: SecretBox,
                 settings: TaskSettings) -> None:
        self.store = store
        self.worker = worker
        self.channels = channels
        self.limits = limits
        self._metering = metering
        self._box = box
        self._settings = settings
        self._runs = RunService()

    async def submit(self, key: KeyRecord, body: TaskCreate, *,
                     idempotency_key: str | None = None,
                     client_ip: str | None = None) -> Submission:
        fingerprint = body.fingerprint()
        if idempotency_key:
            earlier = await self._earlier(key, idempotency_key, fingerprint)
            if earlier is not None:
                return earlier
        model = "coze-chatflow" if body.workflow_type == "chatflow" else "coze-workflow"
        if not key.allows(model, body.workflow_id):
            raise ModelNotAllowed(f"this key may not run {body.workflow_id!r}")
        await self.limits.check(key, "chat" if body.workflow_type == "chatflow" else "workflow")
        if body.callback_url and not self._settings.callback_allow_private:
            try:
                await check_public_url(body.callback_url)
            except UnsafeURL as exc:
                raise CallbackNotAllowed(f"callback_url refused: {exc}",
                                         details={"param": "callback_url"}) from exc
        parameters = dict(body.input_parameters)
        message = body.message
        if body.workflow_type == "chatflow" and message is None:
            message = str(parameters.pop("BOT_USER_INPUT", "") or "")
        call = Call(request_id=snowflake_id(), key=key, model=model,
                    workflow_id=body.workflow_id,
                    price=await self._metering.price_for(model, body.workflow_id),
                    stream=False, surface=SURFACE, client_ip=client_ip,
                    input_text=input_text(parameters, message))
        await self._metering.reserve(call)
        secret = body.callback_secret
        generated = None
        if body.callback_url and not secret:
            secret = generated = secrets.token_urlsafe(32)
        task = self._new_task(key, body, call, parameters, message, idempotency_key,
                              fingerprint, self._box.encrypt(secret) if secret else None)
        try:
            async with self.store.sessionmaker.begin() as session:
                await TaskRepository(session).add(task)
                await self._runs.start(session, RunStart(
                    user_id=key.user_id, api_key_id=key.id, key_name=key.name,
                    surface=SURFACE, workflow_id=body.workflow_id, kind=body.workflow_type,
                    model=model, inputs=body.input_parameters, request_id=call.request_id,
                    task_id=task.id, status="queued", client_ip=client_ip,
                    conversation_id=body.conversation_id), run_id=task.run_id)
                await TaskRepository(session).append_event(task.id, "submitted", {
                    "task_id": task.id, "workflow_id": body.workflow_id,
                    "name": task.name}, self.store.now())
        except BaseException as exc:
            # Nothing will run: give the reservation back before answering.
            await self._metering.finish(call, Outcome(status="error", error="task not stored"))
            if isinstance(exc, IntegrityError) and idempotency_key:
                # The same Idempotency-Key raced us; answer as the winner did.
                earlier = await self._earlier(key, idempotency_key, fingerprint)
                if earlier is not None:
                    return earlier
            raise
        if task.lease_owner is not None:
            self.worker.drive(task.id)
        return Submission(TaskSubmitted(
            task_id=task.id, execution_id=task.run_id, status=external_status(task.status),
            message="task accepted: it runs in the background; follow it with GET "
                    f"/api/coze/tasks/{task.id} or /api/coze/tasks/{task.id}/events",
            callback_secret=generated), replayed=False)

    def start(self) -> None:
        self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()

    async def get(self, key: KeyRecord, task_id: str) -> Task:
        """The caller's task (another user's answers 404, like a missing one)."""
        return await self.load(task_id, user_id=key.user_id)

    async def load(self, task_id: str, *, user_id: int | None = None) -> Task:
        """A task by id; with ``user_id``, only that user's (the admin passes none)."""
        task = await self.store.load(task_id)
        if task is None or (user_id is not None and task.user_id != user_id):
            raise TaskNotFound(f"no task {task_id!r}")
        return task

    async def list(self, key: KeyRecord, *, status: str | None = None,
                   workflow_id: str | None = None, saved: bool | None = None,
                   offset: int = 0, limit: int = 50) -> TaskList:
        return await self.page(key.user_id, status=status, workflow_id=workflow_id,
                               saved=saved, offset=offset, limit=limit)

    async def page(self, user_id: int | None, *, status: str | None = None,
                   workflow_id: str | None = None, saved: bool | None = None,
                   offset: int = 0, limit: int = 50) -> TaskList:
        """Tasks newest first: one user's, or everyone's (``user_id`` None, admin only)."""
        statuses = _STATUS_FILTER.get(status, [status]) if status else None
        async with self.store.sessionmaker() as session:
            rows, total = await TaskRepository(session).page(
                user_id, status=statuses, workflow_id=workflow_id, saved=saved,
                offset=offset, limit=limit)
        tasks = [TaskOut.of(row) for row in rows]
        return TaskList(tasks=tasks, count=len(tasks), total=total, offset=offset, limit=limit)

    async def cancel(self, key: KeyRecord | None, task_id: str) -> Task:
        """Stop a task: it ends ``cancelled`` at once and its driver (here or in another
        process, at its next lease renewal) stops. Coze has no cancel for a running
        workflow, so an async run may still finish upstream; a held stream is closed.
        ``key`` None is the admin: any user's task."""
        owner = key.user_id if key is not None else None
        task = await self.load(task_id, user_id=owner)
        if task.status not in TASK_ACTIVE:
            if task.status == TASK_CANCELLED:
                return task
            raise TaskAlreadyEnded(f"task {task_id} already ended ({task.status})",
                                   details={"status": external_status(task.status)})
        who = "the client" if key is not None else "an administrator"
        ended = await self.store.end(task_id, RunEnd(status=TASK_CANCELLED,
                                                     error=f"cancelled by {who}"))
        self.worker.abort(task_id)
        task = await self.load(task_id, user_id=owner)
        if not ended and task.status != TASK_CANCELLED:
            raise TaskAlreadyEnded(f"task {task_id} already ended ({task.status})",
                                   details={"status": external_status(task.status)})
        return task

    async def stats(self) -> dict[str, Any]:
        async with self.store.sessionmaker() as session:
            counts = await TaskRepository(session).count_by_status()
        by_status: dict[str, int] = {}
        for status, count in counts.items():
            name = task_status(status)
            by_status[name] = by_status.get(name, 0) + count
        return {"tasks": by_status, "active": sum(counts.get(s, 0) for s in TASK_ACTIVE),
                "driven_by_this_process": self.worker.driving}

    async def _earlier(self, key: KeyRecord, idempotency_key: str,
                       fingerprint: str) -> Submission | None:
        async with self.store.sessionmaker() as session:
            task = await TaskRepository(session).by_idempotency_key(key.id, idempotency_key)
        if task is None:
            return None
        if task.request_hash != fingerprint:
            raise IdempotencyConflict("this Idempotency-Key was used with a different request "
                                      "body", details={"task_id": task.id})
        return Submission(TaskSubmitted(
            task_id=task.id, execution_id=task.run_id, status=external_status(task.status),
            message="the same request was submitted before with this Idempotency-Key: "
                    "this is that task"), replayed=True)

    def _new_task(self, key: KeyRecord, body: TaskCreate, call: Call,
                  parameters: dict[str, Any], message: str | None,
                  idempotency_key: str | None, fingerprint: str,
                  callback_secret: str | None) -> Task:
        now = self.store.now()
        task_id = f"task_{snowflake_id()}"
        # Driven here at once when this process has room; else left unleased for whichever
        # process claims it first.
        leased = self.worker.has_room
        return Task(
            id=task_id, run_id=new_run_id(), request_id=call.request_id, user_id=key.user_id,
            api_key_id=key.id, key_name=key.name, group_ratio_ppm=key.group_ratio_ppm,
            price=price_fields(call.price), model=call.model,
            name=body.task_name or f"task {task_id}", description=body.task_description,
            save_as_task=body.save_as_task, workflow_id=body.workflow_id,
            kind=body.workflow_type, input_parameters=parameters, message=message,
            conversation_id=body.conversation_id, status=TASK_QUEUED, stage=STAGE_NEW,
            lease_owner=self.worker.owner if leased else None,
            lease_expires_at=now + timedelta(seconds=self._settings.lease_seconds)
            if leased else None,
            deadline_at=now + timedelta(seconds=self._settings.deadline_seconds),
            idempotency_key=idempotency_key or None, request_hash=fingerprint,
            callback_url=body.callback_url, callback_secret=callback_secret,
            client_ip=call.client_ip, created_at=now, updated_at=now, settled=False,
            polls=0, callback_attempts=0, last_event_id=0)
