"""Key bookkeeping booked through the runtime's billing writer (``billing.writer``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cozegate.billing.booking import Tx


@dataclass(frozen=True, slots=True)
class KeyUsed:
    """``last_used_at`` of a key (written at most once a minute per key: KeyService)."""

    key_id: int
    when: datetime

    def apply(self, tx: Tx, now: datetime) -> None:
        tx.run("UPDATE api_keys SET last_used_at = :when WHERE id = :id",
               {"when": tx.stamp(self.when), "id": self.key_id})
