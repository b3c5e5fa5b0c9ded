"""Hand-written helpers over the generated API: instruments and assets by symbol and name, increments, an
order's current terms.

::

    from truex_ext.helpers import named_balances, round_price, round_qty

    btc = client.instruments.get("BTC-PYUSD")           # UnknownSymbolError (a LookupError) on a typo
    qty = round_qty(btc, Decimal("0.123456"))            # 0.1234: down, toward zero, to qty_increment
    price = round_price(btc, Decimal("74000.26"))        # 74000.5: the nearest price_increment, ties to even
    client.instruments.id_of("BTC-PYUSD")                # the id an order's instrument_id takes
    client.assets.get("BTC").id
    for row in named_balances(client): print(row.client_id, row.asset, row.balance.balance)

The ``get`` / ``id_of`` / ``name_of`` methods come from the mixins below, which the generated resource
classes inherit (``scripts/resources_codegen.py``, ``MIXINS``). Each resource remembers the list it read
(one ``GET`` per client); ``refresh=True`` reads it again.

**Rounding.** ``Decimal`` only (a ``float`` is a ``TypeError``: it cannot hold most prices exactly).
``round_qty`` rounds **down, toward zero** to a multiple of ``qty_increment`` - never more than asked, so
never more than the balance allows. ``round_price`` rounds to the **nearest** multiple of
``price_increment``, a tie to the even multiple (banker's rounding); pass ``rounding=decimal.ROUND_DOWN``
(or ``ROUND_UP``, ...) to choose, e.g. to stay on the passive side of the book. An instrument without the
increment raises ``ValueError`` naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any, cast

import attrs

from .errors import UnknownSymbolError

if TYPE_CHECKING:
    from truex_client.models import Asset, Balance, Instrument, InstrumentInfo, Order

__all__ = [
    "AssetsMixin",
    "AsyncAssetsMixin",
    "AsyncInstrumentsMixin",
    "InstrumentsMixin",
    "NamedBalance",
    "anamed_balances",
    "named_balances",
    "order_price",
    "order_qty",
    "round_price",
    "round_qty",
]


# --- increments --------------------------------------------------------------------------------------


def _increment(instrument: Instrument | InstrumentInfo, field: str) -> Decimal:
    info = getattr(instrument, "info", instrument)
    step = getattr(info, field, None)
    if not isinstance(step, Decimal) or step <= 0:
        symbol = getattr(info, "symbol", "?")
        raise ValueError(f"instrument {symbol} has no {field}: nothing to round to")
    return step


def _round(value: Decimal, step: Decimal, rounding: str, name: str) -> Decimal:
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, not {type(value).__name__} (use Decimal('...'))")
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite Decimal, not {value}")
    steps = (value / step).to_integral_value(rounding=rounding)
    return (steps * step).quantize(step) if steps else Decimal(0).quantize(step)


def round_qty(instrument: Instrument | InstrumentInfo, qty: Decimal) -> Decimal:
    """``qty`` rounded **down, toward zero**, to a multiple of the instrument's ``qty_increment``.

    >>> from truex_ext.types import InstrumentInfo
    >>> btc = InstrumentInfo(symbol="BTC-PYUSD", reference_price=Decimal(75000), base_asset_id="1",
    ...                      quote_asset_id="2", qty_increment=Decimal("0.0001"), price_increment=Decimal("0.5"))
    >>> round_qty(btc, Decimal("0.123456")), round_qty(btc, Decimal("0.00009")), round_qty(btc, Decimal("-0.00015"))
    (Decimal('0.1234'), Decimal('0.0000'), Decimal('-0.0001'))
    """
    return _round(qty, _increment(instrument, "qty_increment"), ROUND_DOWN, "qty")


def round_price(
    instrument: Instrument | InstrumentInfo, price: Decimal, *, rounding: str = ROUND_HALF_EVEN
) -> Decimal:
    """``price`` rounded to the nearest multiple of the instrument's ``price_increment``, ties to even.

    >>> from truex_ext.types import InstrumentInfo
    >>> btc = InstrumentInfo(symbol="BTC-PYUSD", reference_price=Decimal(75000), base_asset_id="1",
    ...                      quote_asset_id="2", qty_increment=Decimal("0.0001"), price_increment=Decimal("0.5"))
    >>> round_price(btc, Decimal("74000.26")), round_price(btc, Decimal("74000.25")), round_price(btc, Decimal("74000.75"))
    (Decimal('74000.5'), Decimal('74000.0'), Decimal('74001.0'))
    """
    return _round(price, _increment(instrument, "price_increment"), rounding, "price")


# --- an order's current terms ---------------------------------------------------------------------------


def order_qty(order: Order) -> Decimal | None:
    """The order's current total quantity: ``modify_info.new_qty`` after a modify, else ``order_info.qty``.

    The exchange keeps an order's first terms in ``order_info``; a modify puts the new ones in
    ``modify_info``. None when the answer carries neither.
    """
    new = getattr(getattr(order, "modify_info", None), "new_qty", None)
    if isinstance(new, Decimal):
        return new
    qty = getattr(getattr(order, "order_info", None), "qty", None)
    return qty if isinstance(qty, Decimal) else None


def order_price(order: Order) -> Decimal | None:
    """The order's current limit price: ``modify_info.new_price`` after a modify, else ``order_info.price``."""
    new = getattr(getattr(order, "modify_info", None), "new_price", None)
    if isinstance(new, Decimal):
        return new
    price = getattr(getattr(order, "order_info", None), "price", None)
    return price if isinstance(price, Decimal) else None


# --- lookups by symbol and name (mixins of the generated resources) ------------------------------------


def _pick(kind: str, name: str, table: dict[str, Any]) -> Any:
    found = table.get(name)
    if found is None:
        raise UnknownSymbolError(kind, name, list(table))
    return found


def _instruments(items: Iterable[Instrument]) -> dict[str, Instrument]:
    return {i.info.symbol: i for i in items}


def _assets(items: Iterable[Asset]) -> dict[str, Asset]:
    return {a.fields.name: a for a in items}


class InstrumentsMixin:
    """``client.instruments.get(symbol)`` and ``.id_of(symbol)``."""

    _by_symbol: dict[str, Instrument] | None = None

    def get(self, symbol: str, *, refresh: bool = False) -> Instrument:
        """The instrument with this symbol (``"BTC-PYUSD"``); :class:`UnknownSymbolError` lists the others."""
        if self._by_symbol is None or refresh or symbol not in self._by_symbol:
            self._by_symbol = _instruments(cast(Any, self).list(size=100))
        return cast("Instrument", _pick("instrument", symbol, self._by_symbol))

    def id_of(self, symbol: str) -> str:
        """The id of the instrument with this symbol: what ``NewOrderInfo(instrument_id=...)`` takes."""
        return self.get(symbol).id


class AsyncInstrumentsMixin:
    """``await aclient.instruments.get(symbol)`` and ``.id_of(symbol)``."""

    _by_symbol: dict[str, Instrument] | None = None

    async def get(self, symbol: str, *, refresh: bool = False) -> Instrument:
        """The instrument with this symbol; :class:`UnknownSymbolError` lists the others."""
        if self._by_symbol is None or refresh or symbol not in self._by_symbol:
            self._by_symbol = _instruments([i async for i in cast(Any, self).list(size=100)])
        return cast("Instrument", _pick("instrument", symbol, self._by_symbol))

    async def id_of(self, symbol: str) -> str:
        return (await self.get(symbol)).id


class AssetsMixin:
    """``client.assets.get(name)`` and ``.id_of(name)`` (``"BTC"``, ``"PYUSD"``)."""

    _by_name: dict[str, Asset] | None = None

    def get(self, name: str, *, refresh: bool = False) -> Asset:
        """The asset with this name; :class:`UnknownSymbolError` lists the others."""
        if self._by_name is None or refresh or name not in self._by_name:
            self._by_name = _assets(cast(Any, self).list(size=100))
        return cast("Asset", _pick("asset", name, self._by_name))

    def id_of(self, name: str) -> str:
        return self.get(name).id

    def name_of(self, asset_id: str) -> str:
        """The name of the asset with this id (``"BTC"``)."""
        names = {a.id: n for n, a in (self._by_name or {}).items()}
        if asset_id not in names:
            self._by_name = _assets(cast(Any, self).list(size=100))
            names = {a.id: n for n, a in self._by_name.items()}
        return cast(str, _pick("asset id", asset_id, names))


class AsyncAssetsMixin:
    """``await aclient.assets.get(name)``, ``.id_of(name)``, ``.name_of(asset_id)``."""

    _by_name: dict[str, Asset] | None = None

    async def get(self, name: str, *, refresh: bool = False) -> Asset:
        if self._by_name is None or refresh or name not in self._by_name:
            self._by_name = _assets([a async for a in cast(Any, self).list(size=100)])
        return cast("Asset", _pick("asset", name, self._by_name))

    async def id_of(self, name: str) -> str:
        return (await self.get(name)).id

    async def name_of(self, asset_id: str) -> str:
        names = {a.id: n for n, a in (self._by_name or {}).items()}
        if asset_id not in names:
            self._by_name = _assets([a async for a in cast(Any, self).list(size=100)])
            names = {a.id: n for n, a in self._by_name.items()}
        return cast(str, _pick("asset id", asset_id, names))


@attrs.frozen
class NamedBalance:
    """One balance of one client, with its asset's name: ``row.asset`` is ``"BTC"``, ``row.balance`` the API's."""

    client_id: str
    asset_id: str
    asset: str
    balance: Balance

    def to_dict(self) -> dict[str, Any]:
        """The balance's JSON with ``client_id`` and the asset's name (``asset``) beside it."""
        return {"client_id": self.client_id, "asset": self.asset, **self.balance.to_dict()}


def _named(entities: Iterable[Any], names: dict[str, str]) -> list[NamedBalance]:
    return [
        NamedBalance(str(e.id), b.asset_id, names.get(b.asset_id, b.asset_id), b)
        for e in entities
        for b in e.balances
    ]


def named_balances(client: Any) -> list[NamedBalance]:
    """Every balance of the key's clients with its asset's name (a :class:`~truex_ext.Truex`)."""
    names = {a.id: a.fields.name for a in client.assets.list(size=100)}
    return _named(client.balances.list(size=100), names)


async def anamed_balances(client: Any) -> list[NamedBalance]:
    """:func:`named_balances` for an :class:`~truex_ext.AsyncTruex`."""
    names = {a.id: a.fields.name async for a in client.assets.list(size=100)}
    return _named([e async for e in client.balances.list(size=100)], names)
