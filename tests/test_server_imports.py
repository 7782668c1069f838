"""What a gateway process keeps in memory for life: optional backends stay unloaded."""

from __future__ import annotations

import json
import subprocess
import sys


def test_redis_is_not_loaded_without_a_redis_url() -> None:
    probe = ("import sys, cozegate.app, cozegate.cli.main, cozegate.runtime\n"
             "from cozegate.config import load_settings\n"
             "from cozegate.ratelimit.service import create_rate_limiter\n"
             "create_rate_limiter(load_settings(secret_key='x' * 40))\n"
             "print('redis' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, env={"PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "False"


def _loaded_by_serve(*modules: str) -> list[str]:
    """Which of ``modules`` the ``serve`` command's import path loads (no server started)."""
    probe = ("import sys\n"
             "from cozegate.cli.main import app\n"
             "import typer.main, click\n"
             "serve = typer.main.get_command(app).get_command(click.Context(click.Command('x')), "
             "'serve')\n"
             "assert serve is not None\n"
             "import cozegate.app\n"
             f"print(sorted(m for m in {modules!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, env={"PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout.strip().replace("'", '"'))


def test_serve_loads_no_other_command() -> None:
    # The CLI builds a command from its module only when that command runs.
    others = ("cozegate.cli.run", "cozegate.cli.stream", "cozegate.cli.chat",
              "cozegate.cli.browse", "cozegate.cli.emulator", "cozegate.cli.tasks",
              "cozegate.cli.common", "cozegate.cli.admin.channels", "cozegate.cli.admin.users",
              "cozegate.cli.admin.groups", "cozegate.cli.admin.keys", "cozegate.cli.admin.prices",
              "cozegate.cli.admin.usage", "cozegate.cli.admin.client")
    assert _loaded_by_serve(*others) == []


def test_serve_loads_neither_the_emulator_nor_pyjwt() -> None:
    # The emulator comes with the first sandbox request; PyJWT with the first OAuth JWT.
    assert _loaded_by_serve("cozegate.emulator", "jwt") == []
