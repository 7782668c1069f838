"""The channel test: one cheap read call to Coze with the channel's own credentials.

``GET /v1/workspaces`` (one row) needs a valid token and nothing else, so it tells apart a
good channel, rejected credentials (Coze's 4100/4101 with its logid) and an unreachable
host. The test changes nothing: it neither counts towards the auto-disable streak nor
resets it. The database session is closed before Coze is called.
"""

from __future__ import annotations

import asyncio
import time

from cozegate.admin.schemas import ChannelTestError, ChannelTestOut
from cozegate.channels.errors import SecretDecryptError
from cozegate.models import Channel
from cozegate.runtime import Runtime
from cozegate.upstream import CozeAPIError, CozeError

# Longer than one Coze read with its retries would normally take, short enough for a CLI.
PROBE_TIMEOUT = 30.0


async def probe_channel(runtime: Runtime, channel_id: int) -> ChannelTestOut:
    async with runtime.sessionmaker() as session:
        channel = await runtime.channels.get_channel(session, channel_id)
        try:
            access = runtime.directory.access(channel)
        except SecretDecryptError as exc:
            return ChannelTestOut(ok=False, latency_ms=0,
                                  error=ChannelTestError(code=exc.code, msg=exc.message))
    # The relay's pooled client for this channel version: the same one real calls use.
    client = runtime.upstreams.client_for(access)
    started = time.perf_counter()
    error: ChannelTestError | None = None
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            await client.list_workspaces(page_num=1, page_size=1)
    except CozeAPIError as exc:
        error = ChannelTestError(code=exc.code if exc.code is not None else exc.oauth_error,
                                 msg=exc.msg, logid=exc.logid)
    except CozeError as exc:
        error = ChannelTestError(code=str(exc.code), msg=exc.message)
    except TimeoutError:
        error = ChannelTestError(code="timeout", msg=f"no answer within {PROBE_TIMEOUT:g}s")
    latency_ms = round((time.perf_counter() - started) * 1000)
    return ChannelTestOut(ok=error is None, latency_ms=latency_ms, error=error)


def secret_hint(runtime: Runtime, channel: Channel) -> str | None:
    """``"…abcd"`` for a PAT (its last four characters), the app id for an OAuth JWT app."""
    try:
        credentials = runtime.channels.credentials(channel)
    except SecretDecryptError:
        return None  # shown as unknown; the channel test reports the decryption error
    if credentials.token:
        return "…" + credentials.token[-4:] if len(credentials.token) >= 12 else "…"
    if credentials.oauth_jwt is not None:
        return f"app {credentials.oauth_jwt.app_id}"
    return None
