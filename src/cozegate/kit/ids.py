"""Identifiers shaped like Coze's: 19-digit snowflake-like numbers carried as strings.

Coze serialises every id as a JSON string of ~19 digits and its logids as a 14-digit local
timestamp followed by 20 upper-case hex characters. Clients treat both as opaque, but
matching the shape keeps logs and UIs that parse them happy.
"""

from __future__ import annotations

import itertools
import os
import secrets
import threading
import time
from datetime import datetime

_EPOCH_MS = 1_288_834_974_657  # the classic snowflake epoch; keeps ids at 19 digits today
_lock = threading.Lock()
_sequence = itertools.count()
_node = int.from_bytes(os.urandom(2), "big") & 0x3FF


def snowflake_id() -> str:
    """Return a unique, roughly time-ordered 19-digit decimal id as a string."""
    with _lock:
        seq = next(_sequence) & 0xFFF
    millis = int(time.time() * 1000) - _EPOCH_MS
    return str((millis << 22) | (_node << 12) | seq)


def logid(now: datetime | None = None) -> str:
    """Return a Coze-style log id: ``YYYYMMDDhhmmss`` + 20 upper-case hex characters."""
    stamp = (now or datetime.now()).strftime("%Y%m%d%H%M%S")
    return stamp + secrets.token_hex(10).upper()
