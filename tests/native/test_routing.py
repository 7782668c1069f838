"""Channel choice on the Coze surface: failover before the first byte, ids stay on their
channel."""

from __future__ import annotations

import pytest
from cozepy import CozeAPIError, Message

from tests.fixtures_emulator import catalog
from tests.fixtures_gateway import Gateway
from tests.native.conftest import coze_client

pytestmark = pytest.mark.db

DEAD = "http://127.0.0.1:9"  # discard port: nothing listens, the connection is refused


async def test_a_dead_channel_fails_over_before_the_first_byte(gateway: Gateway) -> None:
    await gateway.add_channel("dead", DEAD, priority=10)  # tried first
    user_id, key = await gateway.create_user("router", "1")
    coze = coze_client(gateway, key)
    assert coze.workflows.runs.create(workflow_id=catalog.ECHO,
                                      parameters={"input": "x"}).data == '{"input":"x"}'
    events = list(coze.workflows.runs.stream(workflow_id=catalog.STORY,
                                             parameters={"topic": "x", "chunks": 1}))
    assert events[-1].message.node_title == "End"
    assert coze.workflows.retrieve(workflow_id=catalog.ECHO).workflow_detail.workflow_name
    rows = await gateway.usage_rows(user_id)
    assert [r.channel_name for r in rows] == ["sandbox", "sandbox"]
    async with gateway.sessionmaker() as session:
        dead = await gateway.runtime.channels.get_by_name(session, "dead")
    assert dead.consecutive_failures >= 1


async def test_a_conversation_stays_on_its_channel(gateway: Gateway) -> None:
    coze = coze_client(gateway)
    conversation = coze.conversations.create()
    # A new channel, preferred for new work, must not receive this conversation's turns.
    await gateway.add_channel("dead", DEAD, priority=10)
    await gateway.disable_channel("sandbox")
    with pytest.raises(CozeAPIError) as info:
        coze.workflows.chat.stream(workflow_id=catalog.CHAT_MEMORY,
                                   conversation_id=conversation.id,
                                   additional_messages=[Message.build_user_question_text("x")])
    assert info.value.code == 5000 and "channel" in info.value.msg
