"""First start on an empty database: an admin account with a key, and a channel.

The admin key is returned once (the caller prints it) and stored only as a hash. The channel
is the built-in emulator (``sandbox``) unless a Coze account is configured (``COZE_API_TOKEN``
/ ``config.json``'s ``COZE_API`` / an OAuth JWT app), in which case that account becomes the
``default`` channel — the name the seed's ``account_id=default`` refers to. The sandbox also
gets a default price and the admin a sandbox balance, so every README example works at once;
a real account gets neither: prices and balances are the operator's decision.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cozegate.billing.price_service import PriceService
from cozegate.billing.schemas import PriceSet
from cozegate.channels.schemas import ChannelCreate
from cozegate.config import Settings
from cozegate.keys.schemas import KeyCreate
from cozegate.kit.money import parse_amount
from cozegate.models import Channel, User
from cozegate.relay.upstreams import SANDBOX_BASE_URL
from cozegate.runtime import Runtime
from cozegate.users.schemas import UserCreate

ADMIN_NAME = "admin"
SANDBOX_CHANNEL = "sandbox"
DEFAULT_CHANNEL = "default"
SANDBOX_BALANCE = Decimal("100")
SANDBOX_PRICE = PriceSet(target="*", input_price_per_1k=Decimal("0.001"),
                         output_price_per_1k=Decimal("0.002"))
# The emulator's documented sandbox token (docs/emulator.md).
SANDBOX_TOKEN = "pat_sandbox"


@dataclass(frozen=True)
class BootstrapResult:
    admin_key: str | None = None  # only on the start that created the admin
    channel: str | None = None  # the channel created on this start, if any


async def bootstrap(runtime: Runtime) -> BootstrapResult:
    """Idempotent: does nothing on a database that already has users / channels."""
    async with runtime.sessionmaker.begin() as session:
        admin_key = None
        if not await session.scalar(select(func.count()).select_from(User)):
            admin_key = await _create_admin(runtime, session)
        channel = None
        if not await session.scalar(select(func.count()).select_from(Channel)):
            channel = await _create_channel(runtime, session, runtime.settings)
    return BootstrapResult(admin_key=admin_key, channel=channel)


async def _create_admin(runtime: Runtime, session: AsyncSession) -> str:
    await runtime.users.ensure_default_group(session)
    admin = await runtime.users.create_user(session, UserCreate(name=ADMIN_NAME, is_admin=True))
    created = await runtime.keys.create_key(session, admin.id, KeyCreate(name="admin"))
    return created.key


async def _create_channel(runtime: Runtime, session: AsyncSession, settings: Settings) -> str:
    coze = settings.coze
    if coze.api_token or coze.oauth_jwt:
        await runtime.channels.create_channel(session, ChannelCreate(
            name=DEFAULT_CHANNEL, auth_type="oauth_jwt" if coze.oauth_jwt else "pat",
            base_url=coze.base_url, token=None if coze.oauth_jwt else coze.api_token,
            oauth_jwt=coze.oauth_jwt))
        return DEFAULT_CHANNEL
    await runtime.channels.create_channel(session, ChannelCreate(
        name=SANDBOX_CHANNEL, base_url=SANDBOX_BASE_URL, token=SANDBOX_TOKEN))
    await PriceService().set_price(session, SANDBOX_PRICE)
    admin = await session.scalar(select(User).where(User.name == ADMIN_NAME))
    if admin is not None:
        await runtime.billing.top_up(session, admin.id, parse_amount(SANDBOX_BALANCE),
                                     "sandbox starting balance",
                                     idempotency_key="bootstrap:sandbox-balance")
    return SANDBOX_CHANNEL


def announce(result: BootstrapResult) -> None:
    """Print what a first start created; the admin key is shown this once and never again."""
    if result.admin_key:
        print(f"cozegate: created the admin account; admin key (shown once, keep it): "
              f"{result.admin_key}", file=sys.stderr, flush=True)
    if result.channel == SANDBOX_CHANNEL:
        print("cozegate: no Coze account configured; created channel 'sandbox' on the "
              "built-in emulator, a default price and a sandbox balance of "
              f"{SANDBOX_BALANCE} for admin", file=sys.stderr, flush=True)
    elif result.channel:
        print(f"cozegate: created channel {result.channel!r} from the Coze settings",
              file=sys.stderr, flush=True)
