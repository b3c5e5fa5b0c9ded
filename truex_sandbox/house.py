"""The house market maker: a participant above the engine that keeps a grid of post-only orders resting.

The seed's ``market_making`` gives, per instrument, a number of levels on each side of the reference price,
their spacing and their quantity. The house holds one order at each level. When one of its orders closes
(filled or canceled), the level is replaced at the next engine call's lifecycle step — not at once, so a
trader sees the level empty in the answer to the order that took it. A level that would cross the book is
skipped and retried at the next step; a level the house cannot afford is skipped until another of its orders
closes. With ``replenish=False`` the grid is placed once, at start.

The engine calls :meth:`House.on_tick` in its lifecycle step and tells the house about its closed orders
(:meth:`House.on_order_closed`); the house reads and places through the narrow :class:`Market` interface.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from .models import BUY, SELL, Instrument
from .seed import MarketMaking

__all__ = ["GridLevel", "House", "Market"]


class Market(Protocol):
    """What the house may ask of the exchange."""

    def has_resting(self, client_id: str, instrument_id: str, side: str, price: Decimal) -> bool:
        """Whether ``client_id`` has an order resting at this level."""
        ...

    def best_price(self, instrument_id: str, side: str) -> Decimal | None: ...

    def can_afford(self, client_id: str, instrument_id: str, side: str, price: Decimal, qty: Decimal) -> bool:
        """Whether the client's available balance covers the hold of such an order."""
        ...

    def place_post_only(
        self, client_id: str, instrument_id: str, side: str, price: Decimal, qty: Decimal, now: int
    ) -> bool:
        """Rest a GTC ALO LIMIT order (without an idempotency record); False when the balance does not cover it."""
        ...


@dataclass(frozen=True, slots=True)
class GridLevel:
    instrument_id: str
    side: str
    price: Decimal
    qty: Decimal

    def crosses(self, market: Market) -> bool:
        """Whether an order here would take liquidity (post-only orders never do)."""
        best = market.best_price(self.instrument_id, SELL if self.side == BUY else BUY)
        return best is not None and (self.price >= best if self.side == BUY else self.price <= best)


class House:
    def __init__(
        self,
        client_id: str,
        making: Iterable[MarketMaking],
        instruments: dict[str, Instrument],
        replenish: bool,
    ) -> None:
        self.client_id = client_id
        self.replenish = replenish
        making = list(making)
        self._making = {each.instrument_id: each for each in making}
        #: Every level of the grid: per instrument its bids then its asks, best first.
        self.grid: list[GridLevel] = []
        for each in making:
            bids, asks = each.prices(instruments[each.instrument_id])
            self.grid += [GridLevel(each.instrument_id, BUY, price, each.qty) for price in bids]
            self.grid += [GridLevel(each.instrument_id, SELL, price, each.qty) for price in asks]
        #: Whether the next lifecycle step looks at the grid.
        self.due = bool(self.grid)

    def regrid(self, instrument: Instrument) -> None:
        """Quote ``instrument`` around its (new) reference price from the next step on."""
        making = self._making.get(instrument.id)
        if making is None:
            return
        bids, asks = making.prices(instrument)
        kept = [level for level in self.grid if level.instrument_id != instrument.id]
        self.grid = kept + [GridLevel(instrument.id, BUY, p, making.qty) for p in bids]
        self.grid += [GridLevel(instrument.id, SELL, p, making.qty) for p in asks]
        self.due = True

    def _missing(self, market: Market, level: GridLevel) -> bool:
        return not market.has_resting(self.client_id, level.instrument_id, level.side, level.price)

    def would_place(self, market: Market) -> bool:
        """Whether :meth:`on_tick` would place an order now (the engine journals the step only then)."""
        return self.due and any(
            self._missing(market, level)
            and not level.crosses(market)
            and market.can_afford(self.client_id, level.instrument_id, level.side, level.price, level.qty)
            for level in self.grid
        )

    def on_tick(self, market: Market, now: int) -> bool:
        """Place the missing levels, in grid order; whether any order was placed."""
        if not self.due:
            return False
        placed = retry = False
        for level in self.grid:
            if not self._missing(market, level):
                continue
            if level.crosses(market):
                retry = True
            elif market.place_post_only(
                self.client_id, level.instrument_id, level.side, level.price, level.qty, now
            ):
                placed = True
        self.due = retry and self.replenish
        return placed

    def on_order_closed(self, client_id: str) -> None:
        """One of the exchange's orders closed: when it was the house's, its level is replaced at the next step."""
        if client_id == self.client_id and self.replenish:
            self.due = True
