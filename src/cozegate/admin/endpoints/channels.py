"""``/api/admin/channels``: upstream Coze accounts, their switch, events and test.

Every change is followed, after the commit, by ``directory.invalidate()`` so this process's
relay picks it up at once (other processes within the snapshot TTL).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from cozegate.admin.channel_probe import probe_channel, secret_hint
from cozegate.admin.deps import PageDep, Transaction, TxDep
from cozegate.admin.errors import InvalidRequest
from cozegate.admin.requests import ChannelSwitchBody, ChannelUpdateBody
from cozegate.admin.schemas import ChannelEventOut, ChannelOut, ChannelTestOut, Page
from cozegate.channels.schemas import ChannelCreate
from cozegate.deps import RuntimeDep
from cozegate.models import Channel
from cozegate.runtime import Runtime

router = APIRouter(prefix="/channels")


@router.get("", summary="List channels")
async def list_channels(
    tx: TxDep, runtime: RuntimeDep, page: PageDep,
    name: Annotated[str | None, Query(description="Only the channel with this name.")] = None,
) -> Page[ChannelOut]:
    # A handful of rows at most (upstream accounts): sliced in memory.
    channels = [c for c in await runtime.channels.list_channels(tx.session)
                if name is None or c.name == name]
    window = channels[page.offset:page.offset + page.limit]
    return Page(items=[channel_out(runtime, c) for c in window], total=len(channels),
                offset=page.offset, limit=page.limit)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add a channel")
async def create_channel(body: ChannelCreate, tx: TxDep, runtime: RuntimeDep) -> ChannelOut:
    channel = await runtime.channels.create_channel(tx.session, body)
    _refresh_relay(tx, runtime)
    return channel_out(runtime, channel)


@router.get("/{channel_id}", summary="Show a channel")
async def get_channel(channel_id: int, tx: TxDep, runtime: RuntimeDep) -> ChannelOut:
    return channel_out(runtime, await runtime.channels.get_channel(tx.session, channel_id))


@router.patch("/{channel_id}", summary="Change a channel (only the fields sent)")
async def update_channel(channel_id: int, body: ChannelUpdateBody, tx: TxDep,
                         runtime: RuntimeDep) -> ChannelOut:
    try:
        channel = await runtime.channels.update_channel(tx.session, channel_id, body)
    except ValueError as exc:  # e.g. a token sent for an oauth_jwt channel without auth_type
        raise InvalidRequest(str(exc)) from exc
    _refresh_relay(tx, runtime)
    return channel_out(runtime, channel)


@router.delete("/{channel_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Remove a channel")
async def delete_channel(channel_id: int, tx: TxDep, runtime: RuntimeDep) -> None:
    await runtime.channels.delete_channel(tx.session, channel_id)
    _refresh_relay(tx, runtime)


@router.post("/{channel_id}/enable", summary="Enable a channel (clears its failure streak)")
async def enable_channel(channel_id: int, tx: TxDep, runtime: RuntimeDep,
                         body: ChannelSwitchBody | None = None) -> ChannelOut:
    return await _switch(tx, runtime, channel_id, True, body)


@router.post("/{channel_id}/disable", summary="Disable a channel")
async def disable_channel(channel_id: int, tx: TxDep, runtime: RuntimeDep,
                          body: ChannelSwitchBody | None = None) -> ChannelOut:
    return await _switch(tx, runtime, channel_id, False, body)


@router.get("/{channel_id}/events",
            summary="A channel's state changes (auto-disable, enable, disable), oldest first")
async def channel_events(channel_id: int, tx: TxDep, runtime: RuntimeDep,
                         page: PageDep) -> Page[ChannelEventOut]:
    await runtime.channels.get_channel(tx.session, channel_id)  # 404 for an unknown id
    events = await runtime.channels.events(tx.session, channel_id)
    window = events[page.offset:page.offset + page.limit]
    return Page(items=[ChannelEventOut.of(e) for e in window], total=len(events),
                offset=page.offset, limit=page.limit)


@router.post("/{channel_id}/test", summary="Call Coze with the channel's credentials")
async def test_channel(channel_id: int, runtime: RuntimeDep) -> ChannelTestOut:
    # No TxDep: the probe holds a session only while it reads the channel, not during
    # the call to Coze.
    return await probe_channel(runtime, channel_id)


async def _switch(tx: Transaction, runtime: Runtime, channel_id: int, enabled: bool,
                  body: ChannelSwitchBody | None) -> ChannelOut:
    reason = body.reason if body is not None else ""
    channel = await runtime.channels.set_enabled(tx.session, channel_id, enabled, reason)
    await tx.session.flush()  # so the answer shows the new updated_at
    _refresh_relay(tx, runtime)
    return channel_out(runtime, channel)


def _refresh_relay(tx: Transaction, runtime: Runtime) -> None:
    tx.after_commit(runtime.directory.invalidate)


def channel_out(runtime: Runtime, channel: Channel) -> ChannelOut:
    """A channel as the admin API and the web console show it (its secret only hinted)."""
    return ChannelOut.of(channel, secret_hint(runtime, channel))
