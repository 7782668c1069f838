"""What each catalog workflow does, as an async generator of steps.

Scripts know nothing about HTTP, SSE or history: they yield :class:`Chunk` (output-node
text), then exactly one terminal step — :class:`Finish`, :class:`Ask` (a question node
interrupts) or :class:`Fail`. :mod:`cozegate.emulator.engine` turns steps into Coze events.
Outputs are pure functions of the inputs so tests can assert exact text and usage.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from cozegate.emulator import catalog
from cozegate.emulator.wire import dumps

FAIL_CODE = 720701002
FAIL_MESSAGE = ("Workflow execution failed: node 'Code' raised "
                "ValueError('always_fail fails by design')")
CITY_QUESTION = "Which city?"
_CITY = re.compile(r"^[^\W\d_]+(?:[ \-'][^\W\d_]+)*$")


@dataclass(slots=True)
class Chunk:
    content: str
    seq: int
    finish: bool
    node_title: str = "Output"
    node_id: str = "100002"


@dataclass(slots=True)
class Finish:
    output: str  # the End node's data string (JSON text)


@dataclass(slots=True)
class Ask:
    question: str


@dataclass(slots=True)
class Fail:
    code: int
    message: str


Step = Chunk | Finish | Ask | Fail


@dataclass(slots=True)
class RunContext:
    params: dict[str, Any]
    answer: str | None  # None on the first leg; the resume_data on a resume
    chunk_interval: float


Script = Callable[[RunContext], AsyncIterator[Step]]


def story_text(topic: str) -> str:
    return (f"Once upon a time, {topic} set out on a long journey. Along the way {topic} "
            "met a friendly fox, crossed a silver river and found the way home. The end.")


def split_even(text: str, pieces: int) -> list[str]:
    """``pieces`` non-empty slices of ``text`` (fewer when the text is shorter)."""
    pieces = max(1, min(pieces, len(text)))
    size = len(text)
    return [text[i * size // pieces:(i + 1) * size // pieces] for i in range(pieces)]


def city_answer(city: str) -> str:
    return f"The weather in {city} is sunny, {15 + len(city) % 15}C"


async def echo(ctx: RunContext) -> AsyncIterator[Step]:
    yield Finish(dumps(ctx.params))


async def story(ctx: RunContext) -> AsyncIterator[Step]:
    text = story_text(ctx.params["topic"])
    pieces = split_even(text, ctx.params["chunks"])
    for seq, piece in enumerate(pieces):
        if seq and ctx.chunk_interval:
            await asyncio.sleep(ctx.chunk_interval)
        yield Chunk(piece, seq, seq == len(pieces) - 1)
    yield Finish(dumps({"output": text}))


async def ask_city(ctx: RunContext) -> AsyncIterator[Step]:
    if ctx.answer is None:
        yield Ask(CITY_QUESTION)
        return
    city = ctx.answer.strip()
    if not _CITY.match(city) or len(city) > 60:
        yield Ask(f"Sorry, {ctx.answer!r} is not a city name. {CITY_QUESTION}")
        return
    yield Finish(dumps({"output": city_answer(city)}))


def assistant_reply(message: str) -> str:
    return f"You said: {message}. Here is my answer: hello from the cozegate emulator!"


async def assistant(ctx: RunContext) -> AsyncIterator[Step]:
    text = assistant_reply(ctx.params["BOT_USER_INPUT"])
    pieces = split_even(text, 4)
    for seq, piece in enumerate(pieces):
        if seq and ctx.chunk_interval:
            await asyncio.sleep(ctx.chunk_interval)
        yield Chunk(piece, seq, seq == len(pieces) - 1)
    yield Finish(dumps({"output": text}))


async def always_fail(ctx: RunContext) -> AsyncIterator[Step]:
    yield Fail(FAIL_CODE, FAIL_MESSAGE)


async def slow_job(ctx: RunContext) -> AsyncIterator[Step]:
    seconds = float(ctx.params["seconds"])
    await asyncio.sleep(seconds)
    yield Finish(dumps({"output": f"slept {seconds:g} seconds"}))


SCRIPTS: Mapping[str, Script] = MappingProxyType({
    catalog.ECHO: echo,
    catalog.STORY: story,
    catalog.ASK_CITY: ask_city,
    catalog.ALWAYS_FAIL: always_fail,
    catalog.SLOW_JOB: slow_job,
    catalog.ASSISTANT: assistant,
})


def check_ranges(workflow_id: str, params: dict[str, Any], max_slow_seconds: float) -> str | None:
    """Range rules beyond types; returns the 4000 message, or None when fine."""
    if workflow_id == catalog.STORY and not 1 <= params["chunks"] <= 100:
        return "Request parameter error: input 'chunks' must be between 1 and 100"
    if workflow_id == catalog.SLOW_JOB and not 0 <= params["seconds"] <= max_slow_seconds:
        return ("Request parameter error: input 'seconds' must be between 0 and "
                f"{max_slow_seconds:g}")
    return None
