"""Initial state of the sandbox: assets, instruments, fee tiers, clients, API keys, balances, house liquidity.

:func:`default_seed` builds the standard world; :func:`load_seed` reads the same structure from a JSON file;
:func:`seed_to_dict` / :func:`seed_from_dict` convert between :class:`Seed` and that structure (the engine
stores the resolved seed, with concrete credentials, in its database so a restart gets the same keys).

JSON structure (every decimal is a string; references may use the id *or* the name/mnemonic/symbol)::

    {
      "assets": [{"id": "100000000000000001", "name": "USD"}, ...],
      "instruments": [{
          "id": "200000000000000001", "symbol": "BTC-PYUSD",
          "base_asset": "BTC", "quote_asset": "PYUSD",           # asset id or name
          "reference_price": "75000.50", "price_increment": "0.5", "qty_increment": "0.0001",
          "price_bands_percent": "0.025", "price_limit_percent": "0.015", "price_limit_window_secs": 3600
      }, ...],
      "fee_tiers": {"1": {"maker": "0.0010", "taker": "0.0020"}, ...},   # tier number -> rates
      "clients": [{
          "id": "300000000000000001", "mnemonic": "ALICE",
          "organization_id": "<uuid4>",                           # optional, derived from the mnemonic
          "type": "INSTITUTION",                                   # optional
          "maker_fee_tier": 1, "taker_fee_tier": 2,
          "self_trade_prevention": "NONE",                         # optional
          "balances": {"PYUSD": "1000000", "BTC": "10"}           # optional, asset id or name -> amount
      }, ...],
      "api_keys": [{"key_id": "<uuid4>", "secret": "...", "clients": ["ALICE"]}],  # key_id/secret optional
      "jwt_keys": [{"client": "ALICE", "key_id": "<uuid4>",                 # optional; key_id/public_key
                    "public_key": {"kty": "EC", "crv": "P-256", "x": "...", "y": "..."}}],  # optional too
      "fee_client": "FEES",                                        # client id or mnemonic receiving fees
      "market_maker": {                                            # optional
          "client": "HOUSE",
          "instruments": [{"instrument": "BTC-PYUSD", "levels": 5, "step_ticks": 4, "qty": "0.5"}]
      }
    }

``jwt_keys`` are Auth API keys (ES256, P-256) for bearer tokens, each acting for one client; without a
``public_key`` the key pair is derived from the client's mnemonic (or random with ``fresh_credentials``) and
the sandbox keeps the private half to write a key file (``truex-sandbox --jwt-key-file``). A seed without
``jwt_keys`` (any older seed file) simply has none.

Missing ``key_id``/``secret`` are derived deterministically from the key's first client mnemonic (so tests can
rely on them), or drawn at random with ``fresh_credentials=True``. The house market maker keeps ``levels``
orders per side at ``reference_price ± k·step_ticks·price_increment`` (k = 1..levels), each ``qty`` large.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .jwt_keys import JwtKeyRecord, make_jwt_key
from .models import (
    CLIENT_STP_VALUES,
    ZERO,
    ApiKey,
    Asset,
    Client,
    FeeTier,
    Instrument,
    ceil_to,
    floor_to,
    fmt,
    parse_decimal,
)

__all__ = [
    "MarketMaking",
    "Seed",
    "default_seed",
    "derived_secret",
    "derived_uuid4",
    "load_seed",
    "seed_from_dict",
    "seed_to_dict",
]


@dataclass(slots=True, frozen=True)
class MarketMaking:
    """House liquidity for one instrument."""

    instrument_id: str
    levels: int
    step_ticks: int
    qty: Decimal

    def prices(self, instrument: Instrument) -> tuple[list[Decimal], list[Decimal]]:
        """(bid prices, ask prices) on the grid, best first, clipped to the price band."""
        inc = instrument.price_increment
        ref = instrument.reference_price
        step = inc * self.step_ticks
        bids = [floor_to(ref - step * k, inc) for k in range(1, self.levels + 1)]
        asks = [ceil_to(ref + step * k, inc) for k in range(1, self.levels + 1)]
        bids = [p for p in bids if instrument.band_low <= p <= instrument.band_high and p > 0]
        asks = [p for p in asks if instrument.band_low <= p <= instrument.band_high]
        return bids, asks


@dataclass(slots=True)
class Seed:
    assets: list[Asset]
    instruments: list[Instrument]
    fee_tiers: dict[int, FeeTier]
    clients: list[Client]
    #: client id -> asset id -> initial balance
    balances: dict[str, dict[str, Decimal]]
    api_keys: list[ApiKey]
    fee_client_id: str
    market_maker_client_id: str | None = None
    market_making: list[MarketMaking] = field(default_factory=list)
    jwt_keys: list[JwtKeyRecord] = field(default_factory=list)


def derived_uuid4(text: str) -> str:
    """A UUIDv4-shaped string derived from ``text`` (deterministic)."""
    raw = bytearray(hashlib.sha256(text.encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


def derived_secret(text: str) -> str:
    """A random-looking 43-character secret derived from ``text`` (deterministic)."""
    digest = hashlib.sha256(b"truex-sandbox/secret/" + text.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


_ASSETS = [
    ("100000000000000001", "USD"),
    ("100000000000000002", "PYUSD"),
    ("100000000000000003", "BTC"),
    ("100000000000000004", "ETH"),
]

_DEFAULT: dict[str, Any] = {
    "assets": [{"id": i, "name": n} for i, n in _ASSETS],
    "instruments": [
        {
            "id": "200000000000000001",
            "symbol": "BTC-PYUSD",
            "base_asset": "BTC",
            "quote_asset": "PYUSD",
            "reference_price": "75000.50",
            "price_increment": "0.5",
            "qty_increment": "0.0001",
            "price_bands_percent": "0.025",
            "price_limit_percent": "0.015",
            "price_limit_window_secs": 3600,
        },
        {
            "id": "200000000000000002",
            "symbol": "ETH-PYUSD",
            "base_asset": "ETH",
            "quote_asset": "PYUSD",
            "reference_price": "3000.00",
            "price_increment": "0.01",
            "qty_increment": "0.001",
            "price_bands_percent": "0.025",
            "price_limit_percent": "0.015",
            "price_limit_window_secs": 3600,
        },
    ],
    "fee_tiers": {
        "0": {"maker": "0", "taker": "0"},
        "1": {"maker": "0.0010", "taker": "0.0020"},
        "2": {"maker": "0.0008", "taker": "0.0015"},
        "3": {"maker": "0.0005", "taker": "0.0010"},
        "4": {"maker": "0.0002", "taker": "0.0006"},
    },
    "clients": [
        {
            "id": "300000000000000001",
            "mnemonic": "ALICE",
            "maker_fee_tier": 1,
            "taker_fee_tier": 2,
            "balances": {"USD": "1000000", "PYUSD": "1000000", "BTC": "10", "ETH": "100"},
        },
        {
            "id": "300000000000000002",
            "mnemonic": "BOB",
            "maker_fee_tier": 2,
            "taker_fee_tier": 2,
            "balances": {"USD": "1000000", "PYUSD": "1000000", "BTC": "10", "ETH": "100"},
        },
        {
            "id": "300000000000000003",
            "mnemonic": "HOUSE",
            "maker_fee_tier": 0,
            "taker_fee_tier": 0,
            "balances": {"USD": "100000000", "PYUSD": "100000000", "BTC": "1000", "ETH": "20000"},
        },
        {"id": "300000000000000004", "mnemonic": "FEES", "maker_fee_tier": 0, "taker_fee_tier": 0},
    ],
    "api_keys": [{"clients": ["ALICE"]}, {"clients": ["BOB"]}, {"clients": ["HOUSE"]}],
    "jwt_keys": [{"client": "ALICE"}, {"client": "BOB"}],
    "fee_client": "FEES",
    "market_maker": {
        "client": "HOUSE",
        "instruments": [
            {"instrument": "BTC-PYUSD", "levels": 5, "step_ticks": 4, "qty": "0.5"},
            {"instrument": "ETH-PYUSD", "levels": 5, "step_ticks": 5, "qty": "5"},
        ],
    },
}


def default_seed(*, fresh_credentials: bool = False, market_maker: bool = True) -> Seed:
    """The standard world (see the module docstring). ``market_maker=False`` starts with an empty book."""
    data = json.loads(json.dumps(_DEFAULT))
    if not market_maker:
        del data["market_maker"]
    return seed_from_dict(data, fresh_credentials=fresh_credentials)


def load_seed(path: str | Path, *, fresh_credentials: bool = False) -> Seed:
    """Read a seed from a JSON file with the structure described in the module docstring."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return seed_from_dict(data, fresh_credentials=fresh_credentials)


def _dec(value: Any, where: str, *, positive: bool = False) -> Decimal:
    if not isinstance(value, str):
        raise ValueError(f"seed: {where} must be a decimal string")
    number = parse_decimal(value)
    if number is None or number < 0 or (positive and number == 0):
        raise ValueError(
            f"seed: {where} must be a {'positive' if positive else 'non-negative'} decimal string"
        )
    return number


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"seed: {where} must be an integer")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"seed: {where} must be an integer") from None


def _id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.isdigit() or value.startswith("0"):
        raise ValueError(f"seed: {where} must be a numeric id string")
    return value


def seed_from_dict(data: dict[str, Any], *, fresh_credentials: bool = False) -> Seed:
    """Build and validate a :class:`Seed` from the JSON structure; raises ValueError naming the field."""
    try:
        return _seed_from_dict(data, fresh_credentials)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"seed: malformed structure ({type(exc).__name__}: {exc})") from exc


def _seed_from_dict(data: dict[str, Any], fresh_credentials: bool) -> Seed:
    reader = _SeedReader(data["assets"])
    instruments = [reader.instrument(i, raw) for i, raw in enumerate(data["instruments"])]
    tiers: dict[int, FeeTier] = {}
    for key, rates in data["fee_tiers"].items():
        tier = _fee_tier(key, rates)
        tiers[_int(key, "fee_tiers key")] = tier
    clients = [reader.client(i, raw, tiers) for i, raw in enumerate(data["clients"])]
    if len({c.id for c in clients}) != len(clients):
        raise ValueError("seed: client ids must be unique")
    reader.clients = {c.id: c for c in clients} | {c.mnemonic: c for c in clients}
    keys = [reader.api_key(i, raw, fresh_credentials) for i, raw in enumerate(data.get("api_keys", []))]
    if len({k.key_id for k in keys}) != len(keys):
        raise ValueError("seed: api key ids must be unique")
    jwt_keys = _jwt_keys(data.get("jwt_keys") or [], reader.client_ref, fresh_credentials)
    fee_client = reader.client_ref(data["fee_client"], "fee_client")
    mm_client, making = _market_maker(data.get("market_maker"), reader, instruments)
    return Seed(
        assets=reader.assets,
        instruments=instruments,
        fee_tiers=tiers,
        clients=clients,
        balances=reader.balances,
        api_keys=keys,
        fee_client_id=fee_client.id,
        market_maker_client_id=mm_client,
        market_making=making,
        jwt_keys=jwt_keys,
    )


def _fee_tier(key: Any, rates: Any) -> FeeTier:
    maker = _dec(rates["maker"], f"fee_tiers[{key}].maker")
    taker = _dec(rates["taker"], f"fee_tiers[{key}].taker")
    if maker >= 1 or taker >= 1:
        raise ValueError(f"seed: fee_tiers[{key}] rates must be < 1")
    return FeeTier(maker=maker, taker=taker)


def _market_maker(
    mm: Any, reader: _SeedReader, instruments: list[Instrument]
) -> tuple[str | None, list[MarketMaking]]:
    """The house market maker's client id and grid (None and [] without one)."""
    if not mm:
        return None, []
    client_id = reader.client_ref(mm["client"], "market_maker.client").id
    by_instrument = {x.id: x for x in instruments} | {x.symbol: x for x in instruments}
    return client_id, [_making(i, raw, by_instrument) for i, raw in enumerate(mm.get("instruments", []))]


def _making(i: int, raw: Any, by_instrument: dict[str, Instrument]) -> MarketMaking:
    ref = raw["instrument"]
    if ref not in by_instrument:
        raise ValueError(f"seed: market_maker.instruments[{i}].instrument {ref!r} is unknown")
    return MarketMaking(
        instrument_id=by_instrument[ref].id,
        levels=_int(raw.get("levels", 5), "market_maker.levels"),
        step_ticks=max(1, _int(raw.get("step_ticks", 1), "market_maker.step_ticks")),
        qty=_dec(raw["qty"], f"market_maker.instruments[{i}].qty", positive=True),
    )


class _SeedReader:
    """Reads the seed's entries that refer to each other (by id, name, symbol or mnemonic)."""

    def __init__(self, raw_assets: Any) -> None:
        self.assets = [Asset(id=_id(a["id"], "assets[].id"), name=str(a["name"])) for a in raw_assets]
        self.by_asset = {a.id: a.id for a in self.assets} | {a.name: a.id for a in self.assets}
        self.balances: dict[str, dict[str, Decimal]] = {}
        self.clients: dict[str, Client] = {}

    def asset_ref(self, ref: Any, where: str) -> str:
        if ref not in self.by_asset:
            raise ValueError(f"seed: {where} {ref!r} is not a known asset id or name")
        return self.by_asset[ref]

    def client_ref(self, ref: Any, where: str) -> Client:
        if ref not in self.clients:
            raise ValueError(f"seed: {where} {ref!r} is not a known client id or mnemonic")
        return self.clients[ref]

    def instrument(self, i: int, raw: Any) -> Instrument:
        where = f"instruments[{i}]"
        return Instrument(
            id=_id(raw["id"], f"{where}.id"),
            symbol=str(raw["symbol"]),
            base_asset_id=self.asset_ref(
                raw.get("base_asset", raw.get("base_asset_id")), f"{where}.base_asset"
            ),
            quote_asset_id=self.asset_ref(
                raw.get("quote_asset", raw.get("quote_asset_id")), f"{where}.quote_asset"
            ),
            reference_price=_dec(raw["reference_price"], f"{where}.reference_price", positive=True),
            price_increment=_dec(raw["price_increment"], f"{where}.price_increment", positive=True),
            qty_increment=_dec(raw["qty_increment"], f"{where}.qty_increment", positive=True),
            price_bands_percent=_dec(raw["price_bands_percent"], f"{where}.price_bands_percent"),
            price_limit_percent=_dec(raw.get("price_limit_percent", "0"), f"{where}.price_limit_percent"),
            price_limit_window_secs=_int(
                raw.get("price_limit_window_secs", 0), f"{where}.price_limit_window_secs"
            ),
        )

    def client(self, i: int, raw: Any, tiers: dict[int, FeeTier]) -> Client:
        """A client, with its seeded balances added to :attr:`balances`."""
        where = f"clients[{i}]"
        mnemonic = str(raw["mnemonic"])
        stp = raw.get("self_trade_prevention", "NONE")
        if stp not in CLIENT_STP_VALUES:
            raise ValueError(
                f"seed: {where}.self_trade_prevention must be one of {sorted(CLIENT_STP_VALUES)}"
            )
        client = Client(
            id=_id(raw["id"], f"{where}.id"),
            mnemonic=mnemonic,
            organization_id=str(raw.get("organization_id") or derived_uuid4("truex-sandbox/org/" + mnemonic)),
            maker_fee_tier=_int(raw["maker_fee_tier"], f"{where}.maker_fee_tier"),
            taker_fee_tier=_int(raw["taker_fee_tier"], f"{where}.taker_fee_tier"),
            self_trade_prevention=stp,
            type=str(raw.get("type", "INSTITUTION")),
        )
        for tier in (client.maker_fee_tier, client.taker_fee_tier):
            if tier not in tiers:
                raise ValueError(f"seed: {where} uses fee tier {tier}, which fee_tiers does not define")
        rows = self.balances.setdefault(client.id, {})
        for ref, amount in (raw.get("balances") or {}).items():
            asset_id = self.asset_ref(ref, f"{where}.balances key")
            rows[asset_id] = rows.get(asset_id, ZERO) + _dec(amount, f"{where}.balances[{ref}]")
        return client

    def api_key(self, i: int, raw: Any, fresh_credentials: bool) -> ApiKey:
        bound = [self.client_ref(ref, f"api_keys[{i}].clients") for ref in raw["clients"]]
        if not bound:
            raise ValueError(f"seed: api_keys[{i}].clients must not be empty")
        label = "+".join(c.mnemonic for c in bound)
        if fresh_credentials:
            key_id, secret = str(uuid.uuid4()), secrets.token_urlsafe(32)
        else:
            key_id = str(raw.get("key_id") or derived_uuid4("truex-sandbox/key/" + label))
            secret = str(raw.get("secret") or derived_secret(label))
        return ApiKey(key_id=key_id, secret=secret, client_ids=frozenset(c.id for c in bound), label=label)


def _jwt_keys(entries: list[Any], client_ref: Any, fresh: bool) -> list[JwtKeyRecord]:
    keys: list[JwtKeyRecord] = []
    for i, raw in enumerate(entries):
        client = client_ref(raw["client"], f"jwt_keys[{i}].client")
        taken = sum(k.client_id == client.id for k in keys)  # a second key of one client gets its own label
        label = client.mnemonic if not taken else f"{client.mnemonic}/{taken}"
        keys.append(make_jwt_key(raw, client.id, label, fresh=fresh))
    if len({k.key_id for k in keys}) != len(keys):
        raise ValueError("seed: jwt key ids must be unique")
    return keys


def seed_to_dict(seed: Seed) -> dict[str, Any]:
    """The JSON structure of ``seed`` with every reference as an id and concrete credentials."""
    data: dict[str, Any] = {
        "assets": [{"id": a.id, "name": a.name} for a in seed.assets],
        "instruments": [
            {
                "id": x.id,
                "symbol": x.symbol,
                "base_asset": x.base_asset_id,
                "quote_asset": x.quote_asset_id,
                "reference_price": str(x.reference_price),
                "price_increment": str(x.price_increment),
                "qty_increment": str(x.qty_increment),
                "price_bands_percent": str(x.price_bands_percent),
                "price_limit_percent": str(x.price_limit_percent),
                "price_limit_window_secs": x.price_limit_window_secs,
            }
            for x in seed.instruments
        ],
        "fee_tiers": {
            str(t): {"maker": str(r.maker), "taker": str(r.taker)} for t, r in seed.fee_tiers.items()
        },
        "clients": [
            {
                "id": c.id,
                "mnemonic": c.mnemonic,
                "organization_id": c.organization_id,
                "type": c.type,
                "maker_fee_tier": c.maker_fee_tier,
                "taker_fee_tier": c.taker_fee_tier,
                "self_trade_prevention": c.self_trade_prevention,
                "balances": {a: fmt(v) for a, v in seed.balances.get(c.id, {}).items()},
            }
            for c in seed.clients
        ],
        "api_keys": [
            {"key_id": k.key_id, "secret": k.secret, "clients": sorted(k.client_ids)} for k in seed.api_keys
        ],
        "fee_client": seed.fee_client_id,
    }
    if seed.jwt_keys:
        data["jwt_keys"] = [k.to_dict() for k in seed.jwt_keys]
    if seed.market_maker_client_id is not None:
        data["market_maker"] = {
            "client": seed.market_maker_client_id,
            "instruments": [
                {
                    "instrument": m.instrument_id,
                    "levels": m.levels,
                    "step_ticks": m.step_ticks,
                    "qty": str(m.qty),
                }
                for m in seed.market_making
            ],
        }
    return data
