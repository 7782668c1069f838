"""One event of a task's progress, kept so an SSE client that reconnects can replay it.

``seq`` counts per task from 1 and is the SSE ``id:``; it is allocated from
``tasks.last_event_id`` in the same transaction, so it never repeats or goes backwards.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cozegate.models.base import Base, BigId, UTCDateTime, utcnow


class TaskEvent(Base):
    __tablename__ = "task_events"
    __table_args__ = (UniqueConstraint("task_id", "seq", name="uq_task_events_task_seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(32))
    data: Mapped[str] = mapped_column(Text)  # JSON text
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
