"""leaner indexes on the request path: fewer B-tree writes per billed call

Every call books a hold and a settlement (reservation, ledger entries, usage row, run row);
each index on those tables is one more B-tree page written per transaction.

* reservations: ``status`` and ``created_at`` served only the reaper's "open and older
  than" query; one index on both serves it with one write instead of two;
* ledger_entries: ``created_at`` was never queried (entries list in id order).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_reservations_status", table_name="reservations")
    op.drop_index("ix_reservations_created_at", table_name="reservations")
    op.create_index("ix_reservations_status_created", "reservations",
                    ["status", "created_at"])
    op.drop_index("ix_ledger_entries_created_at", table_name="ledger_entries")


def downgrade() -> None:
    op.create_index("ix_ledger_entries_created_at", "ledger_entries", ["created_at"])
    op.drop_index("ix_reservations_status_created", table_name="reservations")
    op.create_index("ix_reservations_created_at", "reservations", ["created_at"])
    op.create_index("ix_reservations_status", "reservations", ["status"])
