"""Conversations on the Coze surface: create, retrieve, message list, and Coze Plus create.

Not billed, rate limited as ``info``. A conversation is made on a channel (the account-wide
ones, or those serving the chat flow named in a Coze Plus create) and recorded for the
caller's user; retrieving it or listing its messages goes to that channel, for that user
only (``ownership``).
"""

from __future__ import annotations

from typing import Any

from cozegate.keys.schemas import KeyRecord
from cozegate.native.gate import Gate
from cozegate.native.ownership import Holder, Ownership
from cozegate.native.routing import CHATFLOW_MODEL
from cozegate.native.schemas import (
    AppConversationCreateBody,
    ConversationCreateBody,
    MessageListBody,
)
from cozegate.protocol.coze import Conversation, MessageList
from cozegate.relay.upstreams import ChannelAccess


class Conversations:
    def __init__(self, gate: Gate, ownership: Ownership) -> None:
        self._gate = gate
        self._ownership = ownership

    async def create(self, key: KeyRecord, body: ConversationCreateBody) -> Conversation:
        await self._gate.admit(key, "info")
        candidates = await self._gate.routes.for_account()
        channel, conversation = await self._gate.routes.open(
            candidates, lambda client: client.create_conversation(
                messages=body.messages, bot_id=body.bot_id, name=body.name,
                connector_id=body.connector_id, meta_data=body.meta_data))
        await self._ownership.bind_conversation(key, conversation.id, channel.id,
                                                name=body.name)
        return conversation

    async def create_for_workflow(self, key: KeyRecord,
                                  body: AppConversationCreateBody) -> dict[str, Any]:
        """Coze Plus ``/v1/workflow/conversation/create``: the conversation (as Coze's
        create answers it) plus ``conversation_id`` and ``workflow_id`` (seed 001)."""
        workflow_id = body.workflow_id or None
        await self._gate.admit(key, "info", CHATFLOW_MODEL if workflow_id else None,
                               workflow_id)
        name = body.conversation_name or None
        if body.get_or_create and name:
            holder = await self._ownership.named_conversation(key, name, workflow_id)
            if holder is not None:
                return await self._existing(holder, workflow_id)
        candidates = await (self._gate.routes.for_workflow(workflow_id, CHATFLOW_MODEL)
                            if workflow_id else self._gate.routes.for_account())
        channel, conversation = await self._gate.routes.open(
            candidates, lambda client: client.create_conversation(
                name=name, meta_data=body.metadata or body.meta_data))
        await self._ownership.bind_conversation(key, conversation.id, channel.id,
                                                workflow_id=workflow_id, name=name)
        return _plus_data(conversation, workflow_id)

    async def retrieve(self, key: KeyRecord, conversation_id: str) -> Conversation:
        candidates = await self._held(key, conversation_id)
        _, conversation = await self._gate.routes.open(
            candidates, lambda client: client.retrieve_conversation(conversation_id))
        return conversation

    async def messages(self, key: KeyRecord, conversation_id: str,
                       body: MessageListBody) -> MessageList:
        candidates = await self._held(key, conversation_id)
        _, page = await self._gate.routes.open(candidates, lambda client: client.list_messages(
            conversation_id, order=body.order or "desc", chat_id=body.chat_id,
            before_id=body.before_id, after_id=body.after_id, limit=body.limit or 50))
        return page

    async def _existing(self, holder: Holder, workflow_id: str | None) -> dict[str, Any]:
        candidates = await self._gate.routes.holding(holder, CHATFLOW_MODEL)
        conversation_id = holder.conversation_id or ""
        _, conversation = await self._gate.routes.open(
            candidates, lambda client: client.retrieve_conversation(conversation_id))
        return _plus_data(conversation, workflow_id)

    async def _held(self, key: KeyRecord, conversation_id: str) -> list[ChannelAccess]:
        await self._gate.admit(key, "info")
        holder = await self._ownership.conversation(key, conversation_id)
        if holder is None:  # an admin looking at a conversation the gateway did not make
            return await self._gate.routes.for_account()
        return await self._gate.routes.holding(holder, CHATFLOW_MODEL)


def _plus_data(conversation: Conversation, workflow_id: str | None) -> dict[str, Any]:
    data = conversation.raw.get("data")
    fields = dict(data) if isinstance(data, dict) else conversation.model_dump(
        exclude={"logid", "raw"})
    return {**fields, "conversation_id": conversation.id, "workflow_id": workflow_id or ""}
