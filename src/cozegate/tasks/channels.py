"""Which channel (upstream Coze account) a task or a catalog call uses.

New tasks route like the relay (``ChannelDirectory.candidates``). A task picked up again after
a restart must go back to the channel that knows its ``execute_id``, even if that channel was
since disabled or left the relay's snapshot, so it is loaded by id from the database.
"""

from __future__ import annotations

from cozegate.channels.repository import ChannelRepository
from cozegate.channels.service import ChannelService
from cozegate.db import SessionMaker
from cozegate.models import Channel
from cozegate.models.channel import CHANNEL_ENABLED
from cozegate.relay.channels import ChannelDirectory
from cozegate.relay.upstreams import ChannelAccess, UpstreamPool
from cozegate.tasks.errors import NoChannel, UnknownAccount
from cozegate.upstream import CozeClient

DEFAULT_ACCOUNT = "default"


class TaskChannels:
    def __init__(self, sessionmaker: SessionMaker, service: ChannelService,
                 directory: ChannelDirectory, upstreams: UpstreamPool) -> None:
        self._sessionmaker = sessionmaker
        self._service = service
        self._directory = directory
        self._upstreams = upstreams

    def client(self, channel: ChannelAccess) -> CozeClient:
        return self._upstreams.client_for(channel)

    async def candidates(self, workflow_id: str, model: str) -> list[ChannelAccess]:
        candidates = await self._directory.candidates(workflow_id, model)
        if not candidates:
            raise NoChannel(f"no enabled channel serves workflow {workflow_id}")
        return candidates

    async def record_failure(self, channel: ChannelAccess, error: str) -> None:
        await self._directory.record_failure(channel, error)

    async def by_id(self, channel_id: int) -> ChannelAccess | None:
        async with self._sessionmaker() as session:
            channel = await ChannelRepository(session).get(channel_id)
            return None if channel is None else self._access(channel)

    async def account(self, account_id: str | None) -> ChannelAccess:
        """Seed 004's ``account_id``: a channel name; ``default`` (or none) is the channel
        named ``default`` if there is one, else the first enabled channel by priority."""
        async with self._sessionmaker() as session:
            repo = ChannelRepository(session)
            name = account_id or DEFAULT_ACCOUNT
            channel = await repo.get_by_name(name)
            if channel is None and name == DEFAULT_ACCOUNT:
                enabled = sorted(await repo.list_enabled(), key=lambda c: (-c.priority, c.id))
                channel = enabled[0] if enabled else None
            if channel is None or channel.status != CHANNEL_ENABLED:
                raise UnknownAccount(f"no enabled account (channel) named {name!r}")
            return self._access(channel)

    def _access(self, channel: Channel) -> ChannelAccess:
        # The same mapping as the relay's snapshot (relay.channels), for one row.
        credentials = self._service.credentials(channel)
        return ChannelAccess(
            id=channel.id, name=channel.name, base_url=channel.base_url,
            auth_type=channel.auth_type, api_token=credentials.token,
            oauth_jwt=credentials.oauth_jwt, version=channel.updated_at,
            priority=channel.priority, weight=channel.weight,
            targets=list(channel.targets) if channel.targets else None,
            consecutive_failures=channel.consecutive_failures)
