"""Who may use an execute_id or a conversation_id, and which channel holds it.

Coze's ids are per upstream account, and any key of the gateway could guess one; so an id is
usable only by the user whose key made it, and only on the channel that made it. Runs are
found in the run store (``runs``: user, channel, workflow, execute_id); conversations in
``coze_conversations``. A foreign or unknown id answers like an unknown resource (4200), so
ids of other users cannot even be confirmed. Admin keys may use any id.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cozegate.db import SessionMaker
from cozegate.keys.schemas import KeyRecord
from cozegate.models import CozeConversation, Run
from cozegate.native.errors import not_found
from cozegate.runs.repository import RunRepository


@dataclass(frozen=True)
class Holder:
    """The owner of an id and where it lives."""

    user_id: int
    channel_id: int | None
    workflow_id: str | None = None
    run_id: str | None = None
    conversation_id: str | None = None
    name: str | None = None


class Ownership:
    def __init__(self, sessionmaker: SessionMaker) -> None:
        self._sessionmaker = sessionmaker

    async def run(self, key: KeyRecord, workflow_id: str, execute_id: str) -> Holder | None:
        """The run behind ``execute_id``; None only for an admin asking about an id the
        gateway never made (it may be relayed as is). Others get a 4200 error."""
        async with self._sessionmaker() as session:
            run = await RunRepository(session).by_execute_id(workflow_id, execute_id)
        return self._check(key, _run_holder(run), f"execute_id {execute_id}")

    async def conversation(self, key: KeyRecord, conversation_id: str) -> Holder | None:
        """The conversation's holder; None only for an admin and an id the gateway never
        made. Others get a 4200 error."""
        async with self._sessionmaker() as session:
            rows = (await session.scalars(
                select(CozeConversation)
                .where(CozeConversation.conversation_id == conversation_id)
                .order_by(CozeConversation.id))).all()
        # The same id could exist on two accounts; the caller's own one wins.
        row = next((r for r in rows if r.user_id == key.user_id), rows[0] if rows else None)
        return self._check(key, _conversation_holder(row), f"conversation {conversation_id}")

    async def named_conversation(self, key: KeyRecord, name: str,
                                 workflow_id: str | None) -> Holder | None:
        """The user's conversation created under ``name`` (Coze Plus ``get_or_create``)."""
        async with self._sessionmaker() as session:
            row = await session.scalar(
                select(CozeConversation)
                .where(CozeConversation.user_id == key.user_id, CozeConversation.name == name,
                       CozeConversation.workflow_id == workflow_id)
                .order_by(CozeConversation.id.desc()).limit(1))
        return _conversation_holder(row)

    async def bind_conversation(self, key: KeyRecord, conversation_id: str, channel_id: int,
                                *, workflow_id: str | None = None,
                                name: str | None = None) -> None:
        """Record that ``key``'s user made ``conversation_id`` on ``channel_id`` (idempotent:
        a conversation already recorded keeps its first owner)."""
        try:
            async with self._sessionmaker.begin() as session:
                exists = await session.scalar(
                    select(CozeConversation.id).where(
                        CozeConversation.channel_id == channel_id,
                        CozeConversation.conversation_id == conversation_id))
                if exists is None:
                    session.add(CozeConversation(
                        conversation_id=conversation_id, channel_id=channel_id,
                        user_id=key.user_id, api_key_id=key.id, workflow_id=workflow_id,
                        name=name))
        except IntegrityError:
            pass  # a concurrent request recorded it first

    @staticmethod
    def _check(key: KeyRecord, holder: Holder | None, what: str) -> Holder | None:
        if holder is not None and (holder.user_id == key.user_id or key.is_admin):
            return holder
        if holder is None and key.is_admin:
            return None
        raise not_found(f"{what} not found")


def _run_holder(run: Run | None) -> Holder | None:
    if run is None:
        return None
    return Holder(user_id=run.user_id, channel_id=run.channel_id, workflow_id=run.workflow_id,
                  run_id=run.id)


def _conversation_holder(row: CozeConversation | None) -> Holder | None:
    if row is None:
        return None
    return Holder(user_id=row.user_id, channel_id=row.channel_id, workflow_id=row.workflow_id,
                  conversation_id=row.conversation_id, name=row.name)
