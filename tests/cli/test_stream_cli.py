"""``cozegate stream`` against the emulator: streamed output, interrupts answered, errors."""

from __future__ import annotations

from tests.cli.conftest import Cli
from tests.fixtures_emulator import catalog


def test_story_streams_node_output_and_usage(cli: Cli) -> None:
    result = cli.invoke("stream", catalog.STORY, "-p", "topic=a fox", "-p", "chunks=4")
    assert result.exit_code == 0, result.output
    assert "── Output" in result.stdout and "── End" in result.stdout
    assert "Once upon a time, a fox set out on a long journey." in result.stdout
    assert "usage: tokens" in result.stdout
    assert "debug_url:" in result.stdout
    assert "execute_id:" in result.stdout  # taken from the Done event's debug_url
    assert cli.saved_files() == []  # streaming runs save no file


def test_interrupt_answered_with_answer_option(cli: Cli) -> None:
    result = cli.invoke("stream", catalog.ASK_CITY, "--answer", "Paris")
    assert result.exit_code == 0, result.output
    assert "Which city?" in result.stderr  # the question, asked on stderr
    assert "The weather in Paris is sunny" in result.stdout
    assert "resumes: 1" in result.stdout


def test_interrupt_asked_again_uses_the_next_answer(cli: Cli) -> None:
    result = cli.invoke("stream", catalog.ASK_CITY, "-a", "123", "-a", "Hangzhou")
    assert result.exit_code == 0, result.output
    assert "is not a city name" in result.stderr
    assert "The weather in Hangzhou" in result.stdout
    assert "resumes: 2" in result.stdout


def test_interrupt_answered_at_the_prompt(cli: Cli) -> None:
    result = cli.invoke("stream", catalog.ASK_CITY, input="Berlin\n")
    assert result.exit_code == 0, result.output
    assert "The weather in Berlin" in result.stdout


def test_unanswered_interrupt_is_a_usage_error(cli: Cli) -> None:
    result = cli.invoke("stream", catalog.ASK_CITY, input="")
    assert result.exit_code == 2
    assert "waiting for an answer" in result.stderr


def test_error_event_exits_1(cli: Cli) -> None:
    result = cli.invoke("stream", catalog.ALWAYS_FAIL)
    assert result.exit_code == 1
    assert "720701002" in result.stderr


def test_pre_stream_refusal_exits_3(cli: Cli) -> None:
    result = cli.invoke("stream", catalog.DRAFT_ONLY)
    assert result.exit_code == 3
    assert "4200" in result.stderr
