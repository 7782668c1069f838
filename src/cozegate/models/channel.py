"""An upstream Coze account. Its secret (PAT or OAuth JWT app JSON) is encrypted at rest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cozegate.models.base import Base, BigId, TimestampMixin, UTCDateTime

CHANNEL_ENABLED = "enabled"
CHANNEL_DISABLED = "disabled"  # by the operator
CHANNEL_AUTO_DISABLED = "auto_disabled"  # by cozegate after repeated failures


class Channel(TimestampMixin, Base):
    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)  # also the seed's account_id
    type: Mapped[str] = mapped_column(String(32), default="coze")
    auth_type: Mapped[str] = mapped_column(String(16))  # pat | oauth_jwt
    base_url: Mapped[str] = mapped_column(String(512))
    secret_ciphertext: Mapped[str] = mapped_column(Text)  # channels.crypto.SecretBox
    status: Mapped[str] = mapped_column(String(16), default=CHANNEL_ENABLED, index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    weight: Mapped[int] = mapped_column(Integer, default=1)
    # Workflow ids / model names served; NULL or [] = all.
    targets: Mapped[list[str] | None] = mapped_column(JSON)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
