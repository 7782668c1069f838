"""What a gateway process keeps in memory for life: optional backends stay unloaded."""

from __future__ import annotations

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
