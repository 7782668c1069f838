"""Prices per model name / workflow id, and resolving the price of a call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from cozegate.billing.errors import PriceNotConfigured, PriceNotFound
from cozegate.billing.repository import PriceRepository
from cozegate.billing.schemas import PriceSet, PriceSnapshot
from cozegate.kit.money import parse_amount, parse_price_per_1k
from cozegate.models import Price
from cozegate.models.price import DEFAULT_PRICE_TARGET


class PriceService:
    """Never commits: the caller owns the transaction."""

    async def set_price(self, session: AsyncSession, data: PriceSet) -> Price:
        """Create or replace the price of ``data.target``."""
        repo = PriceRepository(session)
        price = await repo.get(data.target)
        if price is None:
            price = Price(target=data.target)
        price.kind = data.kind
        price.input_price = parse_price_per_1k(data.input_price_per_1k or 0)
        price.output_price = parse_price_per_1k(data.output_price_per_1k or 0)
        price.fixed_price = parse_amount(data.fixed_price or 0)
        price.enabled = data.enabled
        return await repo.add(price)

    async def get_price(self, session: AsyncSession, target: str) -> Price:
        price = await PriceRepository(session).get(target)
        if price is None:
            raise PriceNotFound(f"no price for {target!r}")
        return price

    async def list_prices(self, session: AsyncSession) -> Sequence[Price]:
        return await PriceRepository(session).list()

    async def delete_price(self, session: AsyncSession, target: str) -> None:
        repo = PriceRepository(session)
        await repo.delete(await self.get_price(session, target))

    async def resolve(self, session: AsyncSession, *targets: str | None) -> PriceSnapshot:
        """The first enabled price among ``targets`` (e.g. workflow id, then model name),
        else the default price ``*``, else PriceNotConfigured."""
        candidates = [*(target for target in targets if target), DEFAULT_PRICE_TARGET]
        found = {
            price.target: PriceSnapshot.of(price)
            for price in await PriceRepository(session).find_enabled(candidates)
        }
        return pick_price(found, *targets)

    async def enabled_prices(self, session: AsyncSession) -> dict[str, PriceSnapshot]:
        """Every enabled price by target (what a price cache holds)."""
        return {
            price.target: PriceSnapshot.of(price)
            for price in await PriceRepository(session).list_enabled()
        }


def pick_price(prices: Mapping[str, PriceSnapshot], *targets: str | None) -> PriceSnapshot:
    """The rule of :meth:`PriceService.resolve` over prices already loaded."""
    wanted = [target for target in targets if target]
    for target in (*wanted, DEFAULT_PRICE_TARGET):
        price = prices.get(target)
        if price is not None:
            return price
    raise PriceNotConfigured(
        f"no price is configured for {' / '.join(wanted) or 'this call'}",
        details={"targets": wanted},
    )
