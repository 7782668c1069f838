"""Chat flows on the Coze surface: ``POST /v1/workflows/chat``, relayed as Coze streams it.

A turn in an existing conversation goes to the channel that holds the conversation, and only
for the user who owns it. A turn without one lets Coze create the conversation; its id is
recorded for the caller (before the first event naming it is relayed), so the next turn and
``conversation/retrieve`` / ``message/list`` find it. A chat flow that stops at a question
(``conversation.chat.requires_action``) is continued by the next turn, as on Coze.
"""

from __future__ import annotations

from cozegate.keys.schemas import KeyRecord
from cozegate.native.gate import CallSpec, Gate, estimate_text
from cozegate.native.metered import MeteredRun
from cozegate.native.ownership import Ownership
from cozegate.native.relaying import FactsHook, relay_events
from cozegate.native.routing import CHATFLOW_MODEL
from cozegate.native.schemas import ChatBody
from cozegate.native.tally import ChatTally, Facts
from cozegate.native.workflows import OpenStream
from cozegate.relay.upstreams import ChannelAccess


class ChatRuns:
    def __init__(self, gate: Gate, ownership: Ownership) -> None:
        self._gate = gate
        self._ownership = ownership

    async def chat(self, key: KeyRecord, body: ChatBody, client_ip: str | None) -> OpenStream:
        await self._gate.admit(key, "chat", CHATFLOW_MODEL, body.workflow_id)
        inputs = body.inputs()
        candidates = await self._candidates(key, body)
        run = await self._gate.begin(key, CallSpec(
            kind="chatflow", model=CHATFLOW_MODEL, workflow_id=body.workflow_id,
            inputs={"parameters": inputs, "question": body.question()} if inputs
            else {"question": body.question()},
            estimate_text=estimate_text(inputs, body.question()), stream=True,
            client_ip=client_ip, conversation_id=body.conversation_id))
        channel, stream = await self._gate.open(run, candidates, lambda client: (
            client.chat_workflow(body.workflow_id, body.messages(), parameters=inputs or None,
                                 conversation_id=body.conversation_id, bot_id=body.bot_id,
                                 app_id=body.app_id, ext=body.ext,
                                 workflow_version=body.workflow_version,
                                 connector_id=body.connector_id)))
        tally = ChatTally(logid=stream.logid, conversation_id=body.conversation_id)
        hook = self._recorder(key, body, run, channel)
        return OpenStream(stream.logid, relay_events(stream, tally, run, hook))

    async def _candidates(self, key: KeyRecord, body: ChatBody) -> list[ChannelAccess]:
        if body.conversation_id:
            holder = await self._ownership.conversation(key, body.conversation_id)
            if holder is not None:
                return await self._gate.routes.holding(holder, CHATFLOW_MODEL)
        return await self._gate.routes.for_workflow(body.workflow_id, CHATFLOW_MODEL)

    def _recorder(self, key: KeyRecord, body: ChatBody, run: MeteredRun,
                  channel: ChannelAccess) -> FactsHook:
        async def record(facts: Facts) -> None:
            # Only a conversation Coze just made matters before the end: the client may send
            # its next turn (or list its messages) as soon as it sees the id.
            if facts.conversation_id and facts.conversation_id != body.conversation_id:
                await self._ownership.bind_conversation(
                    key, facts.conversation_id, channel.id, workflow_id=body.workflow_id)
                await run.learned(conversation_id=facts.conversation_id)

        return record
