"""Entry point of the ``cozegate`` command: assembles the command groups.

The app is a table: command name → the module whose ``register`` adds it. A module is
imported only when one of its commands runs (or ``--help`` lists them), so ``cozegate serve``
does not load the HTTP clients, Rich or the emulator, which a gateway would otherwise keep
in memory for life (tests/test_server_imports.py). Commands of this package take a
:class:`CliEnv` (so tests can pin the clock): ``register(app, env)``; groups owned by other
packages take only the app: ``register(app)``. Adding a group is one line in ``_COMMANDS``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any

import click
import typer
from typer.core import TyperGroup

from cozegate.cli.env import CliEnv

# name → (module, whether its register takes the CliEnv); the order is the --help order.
_COMMANDS: dict[str, tuple[str, bool]] = {
    "run": ("cozegate.cli.run", True),
    "stream": ("cozegate.cli.stream", True),
    "chat": ("cozegate.cli.chat", True),
    "workspaces": ("cozegate.cli.browse", True),
    "workflows": ("cozegate.cli.browse", True),
    "serve": ("cozegate.cli.serve", False),
    "emulator": ("cozegate.cli.emulator", False),
    "db": ("cozegate.cli.serve", False),
    "channels": ("cozegate.cli.admin.channels", False),
    "users": ("cozegate.cli.admin.users", False),
    "groups": ("cozegate.cli.admin.groups", False),
    "keys": ("cozegate.cli.admin.keys", False),
    "prices": ("cozegate.cli.admin.prices", False),
    "usage": ("cozegate.cli.admin.usage", False),
    "tasks": ("cozegate.cli.tasks", False),
}
_SETTINGS: dict[str, Any] = {"rich_markup_mode": None}


class _CommandTable(Mapping[str, click.Command]):
    """All command names; a command is built from its module the first time it is looked up."""

    def __init__(self, env: CliEnv) -> None:
        self._env = env
        self._built: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._built:
            module_name, takes_env = _COMMANDS[name]
            module = importlib.import_module(module_name)
            commands = typer.Typer(**_SETTINGS)
            if takes_env:
                module.register(commands, self._env)
            else:
                module.register(commands)
            self._built.update(typer.main.get_group(commands).commands)
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_COMMANDS)

    def __len__(self) -> int:
        return len(_COMMANDS)


def _group_with_commands_of(env: CliEnv) -> type[TyperGroup]:
    class CommandsOnDemand(TyperGroup):
        def __init__(self, **attrs: Any) -> None:
            super().__init__(**attrs)
            self.commands = _CommandTable(env)  # type: ignore[assignment]  # read-only

    return CommandsOnDemand


def create_app(env: CliEnv | None = None) -> typer.Typer:
    """A fresh ``cozegate`` app; tests build one with a fixed clock."""
    app = typer.Typer(
        name="cozegate",
        help="Gateway, task service, CLI and emulator for Coze workflows and chat flows.",
        cls=_group_with_commands_of(env or CliEnv()),
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        **_SETTINGS,
    )

    @app.callback()
    def cozegate() -> None:
        """A group needs a callback (or a command) to exist; the commands come on demand."""

    return app


app = create_app()
