"""Entry point of the ``cozegate`` command: assembles the command groups.

The app is a list of registrations. Commands of this package take a :class:`CliEnv` (so tests
can pin the clock); groups owned by other packages expose ``register(app)`` and are added to
``_REGISTRATIONS`` — adding a group is one import and one line there.
"""

from __future__ import annotations

from collections.abc import Callable

import typer

from cozegate.cli import browse, chat, emulator, run, serve, stream, tasks
from cozegate.cli.admin import channels, groups, keys, prices, usage, users
from cozegate.cli.common import CliEnv

_CLI_COMMANDS: tuple[Callable[[typer.Typer, CliEnv], None], ...] = (
    run.register,
    stream.register,
    chat.register,
    browse.register,
)
# Groups owned by other packages (serve, emulator, channels, keys, tasks, …): register(app).
_REGISTRATIONS: tuple[Callable[[typer.Typer], None], ...] = (
    serve.register,
    emulator.register,
    channels.register,
    users.register,
    groups.register,
    keys.register,
    prices.register,
    usage.register,
    tasks.register,
)


def create_app(env: CliEnv | None = None) -> typer.Typer:
    """A fresh ``cozegate`` app; tests build one with a fixed clock."""
    env = env or CliEnv()
    app = typer.Typer(
        name="cozegate",
        help="Gateway, task service, CLI and emulator for Coze workflows and chat flows.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    for register_cli in _CLI_COMMANDS:
        register_cli(app, env)
    for register in _REGISTRATIONS:
        register(app)
    return app


app = create_app()
