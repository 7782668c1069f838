"""``cozegate chat`` against the emulator: conversation kept across turns, requires_action."""

from __future__ import annotations

import re

from tests.cli.conftest import Cli
from tests.fixtures_emulator import catalog

CONVERSATION = re.compile(r"conversation (\d+)")


def test_two_messages_share_one_conversation(cli: Cli) -> None:
    result = cli.invoke("chat", catalog.CHAT_MEMORY, "--message", "first", "--message", "second")
    assert result.exit_code == 0, result.output
    assert 'You said: "first". This is turn 1.' in result.stdout
    assert 'You said: "second". Earlier you said: "first". This is turn 2.' in result.stdout
    ids = CONVERSATION.findall(result.stderr)
    assert len(ids) == 2 and ids[0] == ids[1]


def test_requires_action_then_answer(cli: Cli) -> None:
    result = cli.invoke("chat", catalog.CHAT_ASK, "-m", "hi", "-m", "Alice")
    assert result.exit_code == 0, result.output
    assert "What is your name?" in result.stdout
    assert "Nice to meet you, Alice!" in result.stdout
    assert "requires_action" in result.stderr
    assert "your next message is the answer" in result.stderr


def test_pending_question_can_be_answered_in_a_later_call(cli: Cli) -> None:
    first = cli.invoke("chat", catalog.CHAT_ASK, "-m", "hi")
    assert first.exit_code == 0, first.output
    assert "--conversation-id" in first.stderr
    conversation_id = CONVERSATION.findall(first.stderr)[0]
    second = cli.invoke("chat", catalog.CHAT_ASK, "--conversation-id", conversation_id,
                        "-m", "Bob")
    assert second.exit_code == 0, second.output
    assert "Nice to meet you, Bob!" in second.stdout


def test_interactive_session_with_new_and_exit(cli: Cli) -> None:
    result = cli.invoke("chat", catalog.CHAT_MEMORY,
                        input="hello\nagain\n/new\nfresh\n/exit\nignored\n")
    assert result.exit_code == 0, result.output
    assert 'Earlier you said: "hello". This is turn 2.' in result.stdout
    assert 'You said: "fresh". This is turn 1.' in result.stdout  # /new forgot the rest
    assert "ignored" not in result.stdout


def test_chat_on_a_plain_workflow_exits_3(cli: Cli) -> None:
    result = cli.invoke("chat", catalog.ECHO, "-m", "hi")
    assert result.exit_code == 3
    assert "4000" in result.stderr
