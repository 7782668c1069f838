"""leaner indexes on the request path: fewer B-tree writes per billed call

Every call books a hold and a settlement (reservation, ledger entries, usage row, run row);
each index on those tables is one more B-tree page written per transaction. Three indexes
served no query as they were:

* reservations: ``status`` and ``created_at`` served only the reaper's "open and older
  than" query; one partial index on ``created_at`` over open reservations serves it, and a
  settled reservation leaves it instead of moving within a status index;
* runs: ``task_id`` is set only on task runs; the index now skips the rest (every relay
  call);
* ledger_entries: ``created_at`` was never queried (entries list in id order).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_ONLY = sa.text("status = 'reserved'")
HAS_TASK = sa.text("task_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_reservations_status", table_name="reservations")
    op.drop_index("ix_reservations_created_at", table_name="reservations")
    op.create_index("ix_reservations_open", "reservations", ["created_at"],
                    sqlite_where=OPEN_ONLY, postgresql_where=OPEN_ONLY)
    op.drop_index("ix_runs_task_id", table_name="runs")
    op.create_index("ix_runs_task_id", "runs", ["task_id"],
                    sqlite_where=HAS_TASK, postgresql_where=HAS_TASK)
    op.drop_index("ix_ledger_entries_created_at", table_name="ledger_entries")


def downgrade() -> None:
    op.create_index("ix_ledger_entries_created_at", "ledger_entries", ["created_at"])
    op.drop_index("ix_runs_task_id", table_name="runs")
    op.create_index("ix_runs_task_id", "runs", ["task_id"])
    op.drop_index("ix_reservations_open", table_name="reservations")
    op.create_index("ix_reservations_created_at", "reservations", ["created_at"])
    op.create_index("ix_reservations_status", "reservations", ["status"])
