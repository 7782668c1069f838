"""A tiny in-process TTL cache of key records, so auth costs no query most of the time.

Staleness is bounded by the TTL (seconds): a disabled key keeps working at most that long
in other processes; in this process the key service invalidates on every change. Quotas read
from the cache are a soft check only; the guarded update in billing is the hard one.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from cozegate.keys.schemas import KeyRecord


class KeyCache:
    def __init__(
        self,
        ttl: float = 5.0,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, KeyRecord]] = OrderedDict()

    def get(self, key_hash: str) -> KeyRecord | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        expires, record = entry
        if self._clock() >= expires:
            del self._entries[key_hash]
            return None
        return record

    def put(self, record: KeyRecord) -> None:
        if self.ttl <= 0:
            return
        self._entries[record.key_hash] = (self._clock() + self.ttl, record)
        self._entries.move_to_end(record.key_hash)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)  # oldest insert first

    def replace(self, record: KeyRecord) -> None:
        """Update a cached record in place, keeping its expiry."""
        entry = self._entries.get(record.key_hash)
        if entry is not None:
            self._entries[record.key_hash] = (entry[0], record)

    def invalidate(self, key_id: int) -> None:
        for key_hash, (_, record) in list(self._entries.items()):
            if record.id == key_id:
                del self._entries[key_hash]

    def invalidate_user(self, user_id: int) -> None:
        for key_hash, (_, record) in list(self._entries.items()):
            if record.user_id == user_id:
                del self._entries[key_hash]

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
