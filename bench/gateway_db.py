"""Fallback provisioning straight through cozegate's service layer, on the gateway's database.

Used only when the admin HTTP API cannot do it (see ``gateway.prepare_gateway``) and the
runner started the gateway itself, so it knows the database URL. It creates, in one
transaction: a user ``bench`` with a large balance, a default price ``*`` (token-priced, so
billing does real work per call), and a key with rate limits far above any benchmark rate
(limits stay enabled, so their cost is still measured). The channel is the one the gateway
created at first start from ``COZE_API_TOKEN`` / ``COZE_API_BASE`` (the fake upstream).

It imports cozegate internals, which may move; any failure is a ``GatewayUnavailable``.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from bench.gateway import BALANCE, RATE_LIMITS, GatewayUnavailable

try:  # internals of the package under test; absent or moved → no fallback
    from cozegate.billing.price_service import PriceService
    from cozegate.billing.schemas import PriceSet
    from cozegate.billing.service import BillingService
    from cozegate.db import create_sessionmaker, engine_from_url
    from cozegate.keys.schemas import KeyCreate
    from cozegate.keys.service import KeyService
    from cozegate.kit.money import parse_amount
    from cozegate.users.schemas import UserCreate
    from cozegate.users.service import UserService

    IMPORT_ERROR: str | None = None
except ImportError as exc:  # pragma: no cover - depends on the gateway's progress
    IMPORT_ERROR = str(exc)

HUGE_LIMIT = max(RATE_LIMITS.values())


async def _provision(db_url: str) -> str:
    engine = engine_from_url(db_url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            user = await UserService().create_user(session, UserCreate(name="bench"))
            await BillingService().top_up(session, user.id, parse_amount(Decimal(BALANCE)), "bench")
            await PriceService().set_price(session, PriceSet(
                target="*", input_price_per_1k=Decimal("0.001"),
                output_price_per_1k=Decimal("0.002")))
            created = await KeyService().create_key(
                session, user.id,
                KeyCreate(name="bench", rpm_limit=HUGE_LIMIT, rate_limits=RATE_LIMITS))
        return created.key
    finally:
        await engine.dispose()


def prepare_gateway_db(db_url: str) -> str:
    """Provision user, balance, price and key in the gateway's DB; return the ``sk-…`` key."""
    if IMPORT_ERROR is not None:
        raise GatewayUnavailable(f"db provisioning: cannot import cozegate: {IMPORT_ERROR}")
    try:
        return asyncio.run(_provision(db_url))
    except Exception as exc:  # any internal change surfaces as "gateway not available"
        raise GatewayUnavailable(f"db provisioning failed: {exc!r}") from exc
