"""Conversations: create, retrieve, message list, and Coze Plus ``workflow/conversation/create``."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from cozegate.access import CurrentKey
from cozegate.native.deps import CozeSurfaceDep
from cozegate.native.errors import coze_errors
from cozegate.native.schemas import (
    AppConversationCreateBody,
    ConversationCreateBody,
    MessageListBody,
)
from cozegate.native.wire import coze_data, relayed

router = APIRouter()


@router.post("/v1/conversation/create")
async def create_conversation(key: CurrentKey, coze: CozeSurfaceDep,
                              body: ConversationCreateBody | None = None) -> Response:
    with coze_errors():
        return relayed(await coze.conversations.create(key, body or ConversationCreateBody()))


@router.post("/v1/workflow/conversation/create")
async def create_workflow_conversation(key: CurrentKey, coze: CozeSurfaceDep,
                                       body: AppConversationCreateBody | None = None) -> (
        Response):
    with coze_errors():
        return coze_data(await coze.conversations.create_for_workflow(
            key, body or AppConversationCreateBody()))


@router.get("/v1/conversation/retrieve")
async def retrieve_conversation(conversation_id: str, key: CurrentKey,
                                coze: CozeSurfaceDep) -> Response:
    with coze_errors():
        return relayed(await coze.conversations.retrieve(key, conversation_id))


@router.post("/v1/conversation/message/list")
async def list_messages(conversation_id: str, key: CurrentKey, coze: CozeSurfaceDep,
                        body: MessageListBody | None = None) -> Response:
    with coze_errors():
        return relayed(await coze.conversations.messages(key, conversation_id,
                                                         body or MessageListBody()))
