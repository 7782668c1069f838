"""What a gateway process keeps in memory for life: optional backends stay unloaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_redis_is_not_loaded_without_a_redis_url() -> None:
    probe = ("import sys, cozegate.app, cozegate.cli.main, cozegate.runtime\n"
             "from cozegate.config import load_settings\n"
             "from cozegate.ratelimit.service import create_rate_limiter\n"
             "create_rate_limiter(load_settings(secret_key='x' * 40))\n"
             "print('redis' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, env={"PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "False"


# `cozegate serve` up to a started app (lifespan run: runtime, bootstrap), then the modules
# asked about that are loaded. uvicorn does not listen: the stub loads its config instead.
_SERVE_PROBE = """
import asyncio, json, sys, types

def serve_forever(app, host, port, log_level="info", **config):
    import uvicorn
    uvicorn.Config(app, lifespan="on", log_level=log_level, **config).load()

    async def start_and_stop():
        async with app.router.lifespan_context(app):
            pass

    asyncio.run(start_and_stop())
    print(json.dumps(sorted(m for m in sys.argv[1:] if sys.modules.get(m) is not None)))

stub = types.ModuleType("cozegate.kit.serving")
stub.serve_forever = serve_forever
sys.modules["cozegate.kit.serving"] = stub
from cozegate.cli.main import app
app(["serve", "--port", "1"])
"""


def _loaded_by_serve(tmp_path: Path, *modules: str) -> list[str]:
    # As the benchmark starts it: a Coze account configured, so no sandbox channel.
    env = {"PATH": "/usr/bin:/bin", "COZE_API_TOKEN": "pat_x", "COZE_API_BASE": "http://127.0.0.1:9",
           "COZEGATE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"}
    out = subprocess.run([sys.executable, "-c", _SERVE_PROBE, *modules], capture_output=True,
                         text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_serve_loads_no_other_command(tmp_path: Path) -> None:
    # The CLI builds a command from its module only when that command runs.
    others = ("cozegate.cli.run", "cozegate.cli.stream", "cozegate.cli.chat",
              "cozegate.cli.browse", "cozegate.cli.emulator", "cozegate.cli.tasks",
              "cozegate.cli.common", "cozegate.cli.admin.channels", "cozegate.cli.admin.users",
              "cozegate.cli.admin.groups", "cozegate.cli.admin.keys", "cozegate.cli.admin.prices",
              "cozegate.cli.admin.usage", "cozegate.cli.admin.client")
    assert _loaded_by_serve(tmp_path, *others) == []


def test_serve_loads_neither_the_emulator_nor_pyjwt(tmp_path: Path) -> None:
    # The emulator comes with the first sandbox request; PyJWT with the first OAuth JWT.
    assert _loaded_by_serve(tmp_path, "cozegate.emulator", "jwt") == []


def test_serve_loads_no_cryptography(tmp_path: Path) -> None:
    # Channel secrets are sealed with PyNaCl (~1 MiB); cryptography (~7 MiB) comes only with
    # an OAuth JWT channel or a secret sealed before v2 (channels/crypto.py).
    assert _loaded_by_serve(tmp_path, "cryptography", "nacl") == ["nacl"]


def test_serve_loads_no_optional_part_it_never_uses(tmp_path: Path) -> None:
    # httpx's CLI (Rich, Pygments), pydantic.v1, uvicorn's reload watcher and WebSockets.
    unused = ("httpx._main", "rich", "pygments", "pydantic.v1", "watchfiles", "websockets",
              "wsproto")
    assert _loaded_by_serve(tmp_path, *unused) == []


def test_serve_on_sqlite_loads_no_postgres_dialect(tmp_path: Path) -> None:
    # ~3 MiB. A model declaring a Postgres-only option (``postgresql_where``, ...) makes
    # SQLAlchemy load the dialect to check it, in every process (models/reservation.py).
    assert _loaded_by_serve(tmp_path, "sqlalchemy.dialects.postgresql", "asyncpg") == []


def test_the_probe_sees_what_serve_loads(tmp_path: Path) -> None:
    assert _loaded_by_serve(tmp_path, "cozegate.app", "httpx", "uvicorn", "rich") == [
        "cozegate.app", "httpx", "uvicorn"]
