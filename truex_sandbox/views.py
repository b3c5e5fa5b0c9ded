"""Domain objects rendered as the wire's JSON: decimals as plain strings, timestamps as integer strings.

Every dict is new (the caller may keep or change it) and its keys are in the wire's order. The engine's
answers are these views; :func:`wire_order` adds the order's second spelling of the executed quantity.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from .book import Level, OrderBook
from .models import (
    BUY,
    SELL,
    ZERO,
    Asset,
    Balance,
    Client,
    Fill,
    Instrument,
    Order,
    Transfer,
    fmt,
    vwap,
)

__all__ = [
    "asset_view",
    "balance_row_view",
    "client_view",
    "ebbo_view",
    "fill_view",
    "instrument_view",
    "market_trade_view",
    "order_view",
    "transfer_view",
    "wire_order",
]


def order_view(order: Order) -> dict[str, Any]:
    """An order as the engine answers it (``exeuted_qty``: the docs' spelling; see :func:`wire_order`)."""
    executed = order.executed
    # order_info holds strings and lists of strings (the flags): copying each list makes a deep copy.
    info = {key: list(value) if isinstance(value, list) else value for key, value in order.order_info.items()}
    view: dict[str, Any] = {"id": order.id, "status": order.status, "order_info": info}
    if order.modify_info is not None:
        view["modify_info"] = dict(order.modify_info)
    view.update(
        external_id=order.external_id,
        ref_external_id=order.ref_external_id,
        pending_qty="0",
        leaves_qty=fmt(order.leaves),
        exeuted_qty=fmt(executed),
        executed_vwap=fmt(vwap(order.executed_notional, executed)),
        timestamp=str(order.timestamp),
        update_timestamp=str(order.update_timestamp),
    )
    if order.text:
        view["text"] = order.text
    return view


def wire_order(view: dict[str, Any]) -> dict[str, Any]:
    """An order view as the wire has it: ``exeuted_qty`` (the docs' spelling) followed by ``executed_qty`` with
    the same value (DECISIONS §8: True Markets' own market maker reads that one). A new dict, in wire key order.
    """
    wire: dict[str, Any] = {}
    for key, value in view.items():
        wire[key] = value
        if key == "exeuted_qty":
            wire["executed_qty"] = value
    return wire


def fill_view(fill: Fill) -> dict[str, Any]:
    return {
        "client_id": fill.client_id,
        "instrument_id": fill.instrument_id,
        "order_id": fill.order_id,
        "trade_price": fmt(fill.price),
        "trade_qty": fmt(fill.qty),
        "trade_fee_rate": fmt(fill.fee_rate),
        "liq_flag": fill.liq_flag,
        "match_id": fill.match_id,
        "timestamp": str(fill.timestamp),
    }


def market_trade_view(trade: Fill) -> dict[str, Any]:
    """A public trade (the engine records a trade as its taker fill)."""
    return {
        "instrument_id": trade.instrument_id,
        "match_id": trade.match_id,
        "trade_price": fmt(trade.price),
        "trade_qty": fmt(trade.qty),
        "timestamp": str(trade.timestamp),
    }


def transfer_view(transfer: Transfer) -> dict[str, Any]:
    return {
        "id": transfer.id,
        "status": transfer.status,
        "request": copy.deepcopy(transfer.request),
        "timestamp": str(transfer.timestamp),
        "update_timestamp": str(transfer.update_timestamp),
    }


def client_view(client: Client) -> dict[str, Any]:
    return {
        "id": client.id,
        "status": client.status,
        "info": {
            "organization_id": client.organization_id,
            "mnemonic": client.mnemonic,
            "type": client.type,
            "maker_fee_tier": client.maker_fee_tier,
            "taker_fee_tier": client.taker_fee_tier,
            "self_trade_prevention": client.self_trade_prevention,
        },
    }


def asset_view(asset: Asset) -> dict[str, Any]:
    return {"id": asset.id, "status": asset.status, "fields": {"name": asset.name}}


def instrument_view(instrument: Instrument, recent_trades: list[Fill]) -> dict[str, Any]:
    """An instrument with the 24 h statistics of ``recent_trades``."""
    notional = sum((trade.price * trade.qty for trade in recent_trades), ZERO)
    quantity = sum((trade.qty for trade in recent_trades), ZERO)
    return {
        "id": instrument.id,
        "status": instrument.status,
        "info": {
            "symbol": instrument.symbol,
            "reference_price": fmt(instrument.reference_price),
            "base_asset_id": instrument.base_asset_id,
            "quote_asset_id": instrument.quote_asset_id,
            "price_limit_window_secs": str(instrument.price_limit_window_secs),
            "price_limit_percent": fmt(instrument.price_limit_percent),
            "price_bands_percent": fmt(instrument.price_bands_percent),
            "price_increment": fmt(instrument.price_increment),
            "qty_increment": fmt(instrument.qty_increment),
        },
        "stats": {"last_24hr_notional": fmt(notional), "last_24hr_quantity": fmt(quantity)},
    }


def _best_view(book: OrderBook[Order], side: str) -> dict[str, str]:
    level: Level[Order] | None = book.best(side)
    if level is None:
        return {"price": "0", "qty": "0", "order_count": "0", "last_update": str(book.side_update[side])}
    return {
        "price": fmt(level.price),
        "qty": fmt(level.qty),
        "order_count": str(level.count),
        "last_update": str(level.last_update),
    }


def ebbo_view(instrument: Instrument, book: OrderBook[Order], last: Fill | None) -> dict[str, Any]:
    """Best bid and offer of ``book`` and the instrument's ``last`` trade."""
    if last is None:
        last_trade = {"price": "0", "qty": "0", "timestamp": "0"}
    else:
        last_trade = {"price": fmt(last.price), "qty": fmt(last.qty), "timestamp": str(last.timestamp)}
    last_update = max(book.side_update[BUY], book.side_update[SELL], last.timestamp if last else 0)
    return {
        "id": instrument.id,
        "symbol": instrument.symbol,
        "info": {
            "last_trade": last_trade,
            "best_bid": _best_view(book, BUY),
            "best_ask": _best_view(book, SELL),
            "last_update": str(last_update),
        },
    }


def balance_row_view(asset_id: str, row: Balance) -> dict[str, Any]:
    return {
        "asset_id": asset_id,
        "balance": fmt(row.balance),
        "unsettled": "0",
        "order_hold": fmt(row.order_hold),
        "transfer_hold": fmt(row.transfer_hold),
        "state": "ACTIVE",
    }


def balance_view(client_id: str, rows: list[dict[str, Any]], fees_hold: Decimal) -> dict[str, Any]:
    return {
        "id": client_id,
        "status": "INVALID",
        "unsettled_fees": "0",
        "fees_hold": fmt(fees_hold),
        "balances": rows,
    }
