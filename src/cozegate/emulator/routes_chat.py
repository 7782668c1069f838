"""Chat flow and conversation endpoints (spec §2.7, §2.12, §2.13)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cozegate.emulator import catalog
from cozegate.emulator.chatflows import ChatRun, add_message, new_conversation
from cozegate.emulator.engine import Engine
from cozegate.emulator.routes_meta import int_query
from cozegate.emulator.routes_workflow import read_body
from cozegate.emulator.state import Conversation
from cozegate.emulator.wire import CozeError, SSEResponse, coze_data, coze_json


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _user_text(messages: Any) -> str:
    """The last additional message must be the user's question (it becomes USER_INPUT)."""
    if not isinstance(messages, list) or not messages:
        raise CozeError(4000, "Request parameter error: additional_messages must end with a "
                              "user message")
    if len(messages) > 50:
        raise CozeError(4004, "additional_messages holds more than 50 messages")
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "user" \
            or not isinstance(last.get("content"), str):
        raise CozeError(4000, "Request parameter error: the last additional message must be a "
                              "user message with text content")
    return last["content"]


def _store_messages(conversation: Conversation, messages: Any, chat_id: str = "") -> None:
    for item in messages or []:
        if not isinstance(item, dict) or not isinstance(item.get("content"), str):
            continue
        add_message(conversation, item.get("role") or "user", item["content"], chat_id=chat_id,
                    type=item.get("type"), content_type=item.get("content_type") or "text",
                    meta_data=item.get("meta_data"))


async def chat(request: Request) -> Response:
    engine = _engine(request)
    body = await read_body(request)
    if not body.get("workflow_id"):
        raise CozeError(4000, "Request parameter error: workflow_id is required")
    spec = catalog.get_workflow(body["workflow_id"])
    if not spec.is_chatflow:
        raise CozeError(4000, f"workflow {spec.id} is not a chat flow: use /v1/workflow/stream_run")
    if not spec.published:
        raise CozeError(4200, f"chat flow {spec.id} has not been published")
    if body.get("bot_id") and body.get("app_id"):
        raise CozeError(4000, "Request parameter error: bot_id and app_id cannot both be set")
    catalog.parse_parameters(body.get("parameters"))
    user_text = _user_text(body.get("additional_messages"))
    state = engine.state
    if body.get("conversation_id"):
        conversation = state.get_conversation(body["conversation_id"])
    else:
        conversation = new_conversation(creator_id=engine.config.connector_uid)
        conversation.bot_id = str(body.get("bot_id") or "")
        state.add_conversation(conversation)
    if conversation.busy:
        raise CozeError(4016, "the conversation already has a chat in progress")
    run = ChatRun(engine, spec, conversation, user_text, body.get("bot_id"))
    _store_messages(conversation, body.get("additional_messages"), run.chat_id)
    return SSEResponse(run.events())


async def create_conversation(request: Request) -> Response:
    engine = _engine(request)
    body = await read_body(request)
    meta = body.get("meta_data") if isinstance(body.get("meta_data"), dict) else {}
    conversation = new_conversation(str(body.get("name") or ""), meta, engine.config.connector_uid)
    conversation.bot_id = str(body.get("bot_id") or "")
    engine.state.add_conversation(conversation)
    _store_messages(conversation, body.get("messages"))
    return coze_data(conversation.as_dict())


async def create_app_conversation(request: Request) -> Response:
    """Coze Plus ``/v1/workflow/conversation/create``: named conversations, get-or-create."""
    engine = _engine(request)
    body = await read_body(request)
    name = str(body.get("conversation_name") or "")
    if body.get("get_or_create") and name:
        for conversation in engine.state.conversations.values():
            if conversation.name == name:
                return coze_data(conversation.as_dict())
    conversation = new_conversation(name, None, engine.config.connector_uid)
    engine.state.add_conversation(conversation)
    return coze_data(conversation.as_dict())


async def retrieve_conversation(request: Request) -> Response:
    conversation_id = request.query_params.get("conversation_id")
    return coze_data(_engine(request).state.get_conversation(conversation_id).as_dict())


async def list_conversations(request: Request) -> Response:
    page_num = int_query(request, "page_num", 1, 1, 1_000_000)
    page_size = int_query(request, "page_size", 50, 1, 50)
    bot_id = request.query_params.get("bot_id")
    items = [c for c in _engine(request).state.conversations.values()
             if not bot_id or c.bot_id == bot_id]
    items.reverse()  # newest first
    start = (page_num - 1) * page_size
    return coze_data({"conversations": [c.as_dict() for c in items[start:start + page_size]],
                      "has_more": start + page_size < len(items)})


async def list_messages(request: Request) -> Response:
    body = await read_body(request)
    conversation_id = request.query_params.get("conversation_id") or body.get("conversation_id")
    conversation = _engine(request).state.get_conversation(conversation_id)
    limit = int_query(request, "limit", 50, 1, 50)
    if isinstance(body.get("limit"), int):
        limit = max(1, min(50, body["limit"]))
    items = list(conversation.messages)
    if body.get("chat_id"):
        items = [m for m in items if m.chat_id == body["chat_id"]]
    if body.get("order", "desc") != "asc":
        items.reverse()
    # Ids are positions in the listing order: cozepy asks for the next page with
    # after_id=<last_id>, whatever the order.
    ids = [m.id for m in items]
    if body.get("after_id"):
        start = ids.index(body["after_id"]) + 1 if body["after_id"] in ids else len(ids)
        page = items[start:start + limit]
        has_more = start + limit < len(items)
    elif body.get("before_id"):
        end = ids.index(body["before_id"]) if body["before_id"] in ids else 0
        page = items[max(0, end - limit):end]
        has_more = end - limit > 0
    else:
        page, has_more = items[:limit], len(items) > limit
    return coze_json({
        "data": [m.as_dict() for m in page],
        "first_id": page[0].id if page else "",
        "last_id": page[-1].id if page else "",
        "has_more": has_more,
    })


ROUTES = [
    Route("/v1/workflows/chat", chat, methods=["POST"]),
    Route("/v1/conversation/create", create_conversation, methods=["POST"]),
    Route("/v1/workflow/conversation/create", create_app_conversation, methods=["POST"]),
    Route("/v1/conversations", list_conversations, methods=["GET"]),
    Route("/v1/conversation/retrieve", retrieve_conversation, methods=["GET"]),
    Route("/v1/conversation/message/list", list_messages, methods=["POST"]),
]
