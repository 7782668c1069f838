"""A user: owns keys and a balance; admins manage everything."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cozegate.models.base import Base, BigId, TimestampMixin
from cozegate.models.group import Group


class User(TimestampMixin, Base):
    __tablename__ = "users"
    # The database itself refuses a negative balance: the last line of defence behind the
    # guarded updates in billing.
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_non_negative"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    email: Mapped[str | None] = mapped_column(String(255))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)  # micros
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    group: Mapped[Group] = relationship(lazy="joined")
