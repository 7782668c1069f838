"""A conversation created through the Coze-compatible surface, and who may use it.

Conversation ids are Coze's (per upstream account), so the row also names the channel the
conversation lives on: every later call on it (chat turns, retrieve, message list) must go to
that channel, and only the user whose key created it may make them. Plain ids, no foreign
keys, like runs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cozegate.models.base import Base, BigId, UTCDateTime, utcnow


class CozeConversation(Base):
    __tablename__ = "coze_conversations"
    __table_args__ = (UniqueConstraint("channel_id", "conversation_id",
                                       name="uq_coze_conversations_channel_conversation"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(64), index=True)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    api_key_id: Mapped[int | None] = mapped_column(BigInteger)
    # The chat flow it was made for (routes later calls), and the Coze Plus name it was
    # created under (``get_or_create``).
    workflow_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
