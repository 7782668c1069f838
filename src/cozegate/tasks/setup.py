"""Assemble the task service for a runtime (one call in ``Runtime.start``)."""

from __future__ import annotations

from datetime import timedelta

from cozegate.channels.crypto import SecretBox
from cozegate.channels.service import ChannelService
from cozegate.config import Settings
from cozegate.db import SessionMaker
from cozegate.models.base import utcnow
from cozegate.ratelimit.base import RateLimiter
from cozegate.ratelimit.service import RateLimitService
from cozegate.relay.channels import ChannelDirectory
from cozegate.relay.metering import Metering
from cozegate.relay.upstreams import UpstreamPool
from cozegate.runs.purge import RunPurger
from cozegate.tasks.callbacks import CallbackSender
from cozegate.tasks.channels import TaskChannels
from cozegate.tasks.driver import TaskDriver
from cozegate.tasks.repository import TaskRepository
from cozegate.tasks.service import TaskManager
from cozegate.tasks.store import TaskStore
from cozegate.tasks.worker import TaskWorker, new_owner_id


def build_task_manager(settings: Settings, sessionmaker: SessionMaker, metering: Metering,
                       channel_service: ChannelService, directory: ChannelDirectory,
                       upstreams: UpstreamPool, limiter: RateLimiter,
                       purger: RunPurger) -> TaskManager:
    owner = new_owner_id()
    box = SecretBox.from_settings(settings)
    store = TaskStore(sessionmaker, metering)
    channels = TaskChannels(sessionmaker, channel_service, directory, upstreams)
    worker = TaskWorker(store, TaskDriver(store, channels, settings.tasks, owner),
                        CallbackSender(store, box, settings.tasks), settings.tasks, owner)
    store.on_settled(worker.wake)  # callbacks go out at once, not at the next tick
    purger.also(purge_ended_tasks)
    # Like the OpenAI surface, only each key's own limits apply here (no per-class defaults).
    return TaskManager(store, worker, channels, metering, RateLimitService(limiter, {}), box,
                       settings.tasks)


async def purge_ended_tasks(sessionmaker: SessionMaker, retention_days: int) -> int:
    """Ended, settled tasks (and their events) go with the runs' retention."""
    async with sessionmaker.begin() as session:
        return await TaskRepository(session).delete_ended_before(
            utcnow() - timedelta(days=retention_days))
