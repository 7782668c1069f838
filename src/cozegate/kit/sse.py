"""Server-sent events: a tolerant incremental parser and a strict encoder.

The parser follows the WHATWG event-stream algorithm, because real servers send all of it:
comments (``: ping``), ``retry:`` lines, multi-line ``data:``, CRLF or lone CR line ends,
a UTF-8 BOM, events with no ``id:``. cozepy's own parser rejects most of that, so it cannot
be reused here. Unlike a browser, the parser reports each event's own ``id`` (``None`` when
the event had none) instead of carrying the last one forward, since Coze ids are per event.

The encoder writes the strict form every Coze client accepts: ``id:``, ``event:``, then one
``data:`` line, then a blank line (see the wire spec §1.5).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass, field


@dataclass(slots=True)
class SSEEvent:
    """One dispatched event. ``event`` is ``None`` when the stream named none (``message``)."""

    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    def encode(self) -> bytes:
        return encode_event(self.data, event=self.event, id=self.id)


def encode_event(data: str, *, event: str | None = None, id: str | int | None = None) -> bytes:
    """Encode one event; multi-line ``data`` becomes several ``data:`` lines."""
    parts: list[str] = []
    if id is not None:
        parts.append(f"id: {id}\n")
    if event is not None:
        parts.append(f"event: {event}\n")
    for line in data.splitlines() or [""]:
        parts.append(f"data: {line}\n")
    parts.append("\n")
    return "".join(parts).encode()


def encode_comment(text: str = "") -> bytes:
    """A comment line, used as a keep-alive by streams whose clients accept comments."""
    return f": {text}\n\n".encode()


class SSEParser:
    """Incremental parser: feed it text or bytes as they arrive, get complete events back."""

    def __init__(self) -> None:
        self._buffer = ""
        self._pending_cr = False
        self._started = False
        self._reset()

    def _reset(self) -> None:
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._retry: int | None = None
        self._comments: list[str] = []
        self._has_data = False

    def feed(self, chunk: str | bytes) -> list[SSEEvent]:
        text = chunk.decode("utf-8", errors="replace") if isinstance(chunk, bytes) else chunk
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        if self._pending_cr and text.startswith("\n"):
            text = text[1:]  # the \n of a CRLF split across two chunks
        self._pending_cr = False
        self._buffer += text
        events: list[SSEEvent] = []
        if "\r" not in self._buffer:
            # The common case, LF line ends only: split once instead of searching per line,
            # and handle the usual lines inline (this runs for every streamed event).
            *lines, self._buffer = self._buffer.split("\n")
            for line in lines:
                if not line:
                    event = self._dispatch()
                    if event is not None:
                        events.append(event)
                    continue
                name, _, value = line.partition(":")
                if name == "data":
                    self._has_data = True
                    self._data.append(value[1:] if value[:1] == " " else value)
                elif name == "event":
                    self._event = value[1:] if value[:1] == " " else value
                elif name == "id":  # Coze numbers every event
                    if "\0" not in value:
                        self._id = value[1:] if value[:1] == " " else value
                else:
                    self._line(line)
            return events
        while True:
            cut = _first_line_end(self._buffer)
            if cut is None:
                break
            end, width = cut
            line = self._buffer[:end]
            if width == 1 and self._buffer[end] == "\r" and end + 1 == len(self._buffer):
                self._pending_cr = True  # may be the first half of a CRLF
            self._buffer = self._buffer[end + width:]
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[SSEEvent]:
        """End of stream: a partial event without a terminating blank line is dropped (per spec)."""
        self._buffer = ""
        self._reset()
        return []

    def _line(self, line: str) -> SSEEvent | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            self._comments.append(line[1:].removeprefix(" "))
            return None
        name, sep, value = line.partition(":")
        if sep:
            value = value.removeprefix(" ")
        if name == "data":
            self._has_data = True
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        # unknown field names are ignored, as the spec says
        return None

    def _dispatch(self) -> SSEEvent | None:
        if not self._has_data:
            # No data line, no event (WHATWG): a block of comments, ``retry:`` or ``id:``
            # alone carries nothing to dispatch. The retry value is kept for the next event.
            retry = self._retry
            self._reset()
            self._retry = retry
            return None
        event = SSEEvent("\n".join(self._data), self._event, self._id, self._retry,
                         self._comments)
        self._reset()
        return event


_LINE_END = re.compile(r"\r\n|\r|\n")


def _first_line_end(text: str) -> tuple[int, int] | None:
    """Position and width of the first line terminator (CRLF, LF or CR) in ``text``."""
    match = _LINE_END.search(text)
    if match is None:
        return None
    return match.start(), match.end() - match.start()


def parse_events(chunks: Iterable[str | bytes]) -> list[SSEEvent]:
    """Parse a whole stream held in memory (tests, recorded transcripts)."""
    parser = SSEParser()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.close())
    return events


async def aiter_events(chunks: AsyncIterable[bytes]) -> AsyncIterator[SSEEvent]:
    """Yield events as soon as each one is complete in an async byte stream."""
    parser = SSEParser()
    async for chunk in chunks:
        for event in parser.feed(chunk):
            yield event
    for event in parser.close():
        yield event
