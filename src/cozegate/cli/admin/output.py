"""Rendering admin answers: Rich tables for people, the API's JSON for scripts."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cozegate.cli.common import print_json_document, stdout_console

UNBOUNDED = 100_000  # characters: "as wide as the content"
Column = tuple[str, Callable[[dict[str, Any]], Any]]


def field(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: row.get(name)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "-"
    return escape(str(value))


def wide_console(width: int) -> Console:
    return Console(file=sys.stdout, highlight=False, soft_wrap=True, emoji=False, width=width)


def show(value: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    if as_json:
        print_json_document(value)
    else:
        render(value)


def table(columns: Sequence[Column], rows: Iterable[dict[str, Any]],
          title: str | None = None) -> None:
    grid = Table(title=title, show_edge=False, header_style="bold")
    for header, _ in columns:
        grid.add_column(header, overflow="fold")  # wrap long values, never cut them
    for row in rows:
        grid.add_row(*(cell(get(row)) for _, get in columns))
    console = stdout_console()
    if not console.is_terminal:
        # Piped or redirected, the table keeps its natural width (nothing folded for grep
        # or a file); on a terminal it fits the window.
        natural = console.measure(grid, options=console.options.update(max_width=UNBOUNDED))
        console = wide_console(max(natural.maximum, console.width))
    console.print(grid)


def page_table(columns: Sequence[Column], page: dict[str, Any], title: str | None = None) -> None:
    """A table of ``page["items"]`` and a line saying which rows of how many these are."""
    items = page["items"]
    table(columns, items, title)
    first = page["offset"] + 1 if items else page["offset"]
    more = " (--offset/--limit for more)" if page["offset"] + len(items) < page["total"] else ""
    stdout_console().print(f"{first}–{page['offset'] + len(items)} of {page['total']}{more}")


def details(pairs: Iterable[tuple[str, Any]], title: str | None = None) -> None:
    """``label: value`` lines for one object."""
    console = stdout_console()
    if title:
        console.print(f"[bold]{escape(title)}[/]")
    for label, value in pairs:
        console.print(f"  {label}: {cell(value)}")


def say(message: str) -> None:
    stdout_console().print(message)
