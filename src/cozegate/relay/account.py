"""What a key may call (``/v1/models``) and what it has left (the legacy billing endpoints).

``/v1/models`` lists the generic targets (``coze-workflow``, ``coze-chatflow``: the workflow
id goes in the body), the operator's aliases, and ``coze-workflow/<id>`` for every workflow
id the operator has priced or routed to a channel, filtered by the key's allowlist.

The dashboard endpoints speak in the gateway's balance units under OpenAI's ``usd`` names
(chat UIs only display them): ``hard_limit_usd`` = what the key could spend in total
(remaining + used), ``total_usage`` = what it spent, in hundredths.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cozegate.keys.schemas import KeyRecord
from cozegate.kit.money import to_decimal
from cozegate.models import ApiKey, Channel, Price, User
from cozegate.protocol.openai import ModelCard, model_list
from cozegate.protocol.request_map import ModelAlias

_WORKFLOW_ID = re.compile(r"^\d{6,}$")
GENERIC_MODELS = ("coze-workflow", "coze-chatflow")


async def models_for(session: AsyncSession, key: KeyRecord,
                     aliases: Mapping[str, ModelAlias], created: int) -> dict[str, Any]:
    ids = set(await _priced_ids(session)) | set(await _routed_ids(session))
    names = [*GENERIC_MODELS, *sorted(aliases), *(f"coze-workflow/{i}" for i in sorted(ids))]
    visible = [name for name in names if _allowed(key, name, aliases)]
    return model_list(ModelCard(id=name, created=created, owned_by="cozegate")
                      for name in visible)


def _allowed(key: KeyRecord, name: str, aliases: Mapping[str, ModelAlias]) -> bool:
    if name in aliases:
        return key.allows(name, aliases[name].workflow_id)
    workflow_id = name.partition("/")[2] or None
    if workflow_id is None:
        # A generic model is usable when any workflow is: with an allowlist, it still needs
        # an allowed workflow id in the body, so show it only to unrestricted keys.
        return not key.allowed_models or name in key.allowed_models
    return key.allows(name, workflow_id)


async def _priced_ids(session: AsyncSession) -> Iterable[str]:
    targets = await session.scalars(select(Price.target).where(Price.enabled.is_(True)))
    return [t for t in targets if _WORKFLOW_ID.match(t)]


async def _routed_ids(session: AsyncSession) -> Iterable[str]:
    ids: list[str] = []
    for targets in await session.scalars(select(Channel.targets)):
        ids.extend(t for t in targets or () if _WORKFLOW_ID.match(t))
    return ids


async def subscription(session: AsyncSession, key: KeyRecord) -> dict[str, Any]:
    remaining, used, expires_at = await _standing(session, key)
    limit = float(to_decimal(remaining + used))
    return {
        "object": "billing_subscription",
        "has_payment_method": True,
        "soft_limit_usd": limit,
        "hard_limit_usd": limit,
        "system_hard_limit_usd": limit,
        "access_until": int(expires_at.timestamp()) if expires_at else 0,
    }


async def usage(session: AsyncSession, key: KeyRecord) -> dict[str, Any]:
    _, used, _ = await _standing(session, key)
    # Cents, scaled in Decimal: a float product would print 0.009 as 0.009000000000000001.
    return {"object": "list", "total_usage": float(to_decimal(used) * 100)}


async def _standing(session: AsyncSession, key: KeyRecord) -> tuple[int, int,
                                                                     datetime | None]:
    """(remaining, used, expires_at) in micros: the key's quota when it has one, else the
    user's balance; used is what this key has been charged."""
    row = (await session.execute(
        select(ApiKey.quota_remaining, ApiKey.used, ApiKey.expires_at, User.balance)
        .join(User, User.id == ApiKey.user_id).where(ApiKey.id == key.id))).one()
    quota, used, expires_at, balance = row
    remaining = balance if quota is None else min(quota, balance)
    return remaining, used or 0, expires_at
