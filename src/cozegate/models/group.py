"""A pricing group: every user belongs to one; its ratio multiplies every cost."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cozegate.kit.money import RATIO_ONE
from cozegate.models.base import Base, BigId, TimestampMixin

DEFAULT_GROUP = "default"


class Group(TimestampMixin, Base):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # Parts per million (1.0 = 1,000,000): exact on every backend, see kit.money.
    ratio_ppm: Mapped[int] = mapped_column(Integer, default=RATIO_ONE)
    description: Mapped[str] = mapped_column(String(255), default="")
