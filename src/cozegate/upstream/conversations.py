"""Conversations and their messages (used by chat flows)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cozegate.protocol.coze import Conversation, MessageList
from cozegate.upstream.base import BaseCozeClient, compact, validate
from cozegate.upstream.workflows import MessageLike, message_dict


class ConversationEndpoints(BaseCozeClient):
    async def create_conversation(
        self,
        *,
        messages: Sequence[MessageLike] | None = None,
        bot_id: str | None = None,
        name: str | None = None,
        connector_id: str | None = None,
        meta_data: Mapping[str, str] | None = None,
    ) -> Conversation:
        """``POST /v1/conversation/create``. Creates state, so retried only if never sent."""
        body = compact({
            "messages": [message_dict(m) for m in messages] if messages is not None else None,
            "bot_id": bot_id,
            "name": name,
            "connector_id": connector_id,
            "meta_data": dict(meta_data) if meta_data is not None else None,
        })
        answer = await self._request("POST", "/v1/conversation/create", safe=False,
                                     budget=self.timeouts.for_read(), json=body)
        return validate(Conversation, answer.body.get("data"), logid=answer.logid,
                        raw=answer.body)

    async def retrieve_conversation(self, conversation_id: str) -> Conversation:
        """``GET /v1/conversation/retrieve?conversation_id=``."""
        answer = await self._request(
            "GET", "/v1/conversation/retrieve", safe=True, budget=self.timeouts.for_read(),
            params={"conversation_id": conversation_id},
        )
        return validate(Conversation, answer.body.get("data"), logid=answer.logid,
                        raw=answer.body)

    async def list_messages(
        self,
        conversation_id: str,
        *,
        order: str = "desc",
        chat_id: str | None = None,
        before_id: str | None = None,
        after_id: str | None = None,
        limit: int = 50,
    ) -> MessageList:
        """``POST /v1/conversation/message/list``: a read despite the POST, so retry-safe.

        Pagination fields are top level on this endpoint and ``data`` is the message array.
        """
        body: dict[str, Any] = {"order": order, "chat_id": chat_id, "before_id": before_id,
                                "after_id": after_id, "limit": limit}
        answer = await self._request(
            "POST", "/v1/conversation/message/list", safe=True,
            budget=self.timeouts.for_read(), params={"conversation_id": conversation_id},
            json=body,
        )
        payload = {
            "items": answer.body.get("data") or [],
            "first_id": answer.body.get("first_id"),
            "last_id": answer.body.get("last_id"),
            "has_more": bool(answer.body.get("has_more")),
        }
        return validate(MessageList, payload, logid=answer.logid, raw=answer.body)
