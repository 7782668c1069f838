"""A workflow run waiting for its user's answer (OpenAI surface), found again by session.

A row is written when a run ends on a question/input node; the next request of the same
session claims it (deleting it, so two concurrent answers cannot both resume) and resumes the
run instead of starting a new one. It is found by the ``conversation_id`` the gateway handed
out with the question, or by a hash of the conversation so far (see ``relay.sessions``), so
chat UIs that know nothing of extensions resume too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cozegate.models.base import Base, BigId, UTCDateTime, utcnow


class PendingInterrupt(Base):
    __tablename__ = "pending_interrupts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The conversation_id handed out with the question (``cgs_…``), and a hash of the
    # conversation as the client will send it back (key, model, messages, the question).
    conversation_id: Mapped[str] = mapped_column(String(64), unique=True)
    history_key: Mapped[str] = mapped_column(String(64), index=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"),
                                            index=True)
    workflow_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(128))
    interrupt_type: Mapped[int] = mapped_column(Integer)
    execute_id: Mapped[str | None] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(Text, default="")
    resumes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
