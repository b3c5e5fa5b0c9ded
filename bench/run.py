"""``make bench``: what the SDK and the sandbox cost, side by side with their floors, in one run.

Every figure is a ratio inside one run against a floor measured in the same run (these machines are noisy):
contenders are interleaved round by round, each round yields one ratio, and the table shows the median
and the best (min for costs, max for speeds) of those ratios. A figure that misses its target is printed
as a MISS; the benchmark reports, it never fails the build (it exits non-zero only when it crashes).

    .venv/bin/python bench/run.py            # everything (about 5 minutes on 2 cores)
    .venv/bin/python bench/run.py --quick    # smaller counts, a smoke run (about 1 minute)
    .venv/bin/python bench/run.py --only sync,engine

Writes ``bench/results.json`` (every figure and the machine) and ``bench/results.png`` (the chart).
See the README's "Benchmarks" section for how to read them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import hashlib
import hmac
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

QUICK = "--quick" in sys.argv
VERSION = "v2026_01_23"
LIST_PATH = "/v1/cefi/orders/list"
ORDERS_PATH = "/v1/cefi/orders"
BTC = "200000000000000001"


def _scale(full: int, quick: int) -> int:
    return quick if QUICK else full


# --------------------------------------------------------------------------------------------- helpers
def _keys() -> dict[str, tuple[str, str, str]]:
    """label -> (key id, secret, client id) of the default seed (the sandbox's keys are derived from it)."""
    from truex_sandbox.seed import default_seed

    return {k.label: (k.key_id, k.secret, min(k.client_ids)) for k in default_seed().api_keys}


def hand_signed(key: tuple[str, str, str], method: str, path: str, body: bytes = b"") -> dict[str, str]:
    """The four auth headers (and the version), signed here with hmac: no SDK code involved."""
    key_id, secret, client_id = key
    stamp = str(int(time.time()))
    digest = hmac.new(
        secret.encode(), stamp.encode() + method.encode() + path.encode() + body, hashlib.sha256
    )
    return {
        "x-truex-version": VERSION,
        "x-truex-auth-token": key_id,
        "x-truex-auth-userid": client_id,
        "x-truex-auth-timestamp": stamp,
        "x-truex-auth-signature": base64.b64encode(digest.digest()).decode(),
    }


class Server:
    """``bench/serve.py MODE ...`` in a child process; ``base_url`` once it listens."""

    def __init__(self, *args: str, scheme: str = "http") -> None:
        self.args = args
        self.scheme = scheme
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = ""

    def __enter__(self) -> Server:
        self.proc = subprocess.Popen(
            [sys.executable, str(BENCH / "serve.py"), *self.args],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"bench server {self.args[0]} did not start: {line!r}")
        self.base_url = f"{self.scheme}://127.0.0.1:{int(line.split()[1])}"
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def interleaved(contenders: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Run each contender once per round, in an order that rotates every round; their results per round."""
    names = list(contenders)
    out: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            out[name].append(contenders[name]())
    return out


def per_call_us(fn: Callable[[], object], n: int) -> Callable[[], float]:
    def run() -> float:
        gc_was = gc.isenabled()
        gc.disable()
        try:
            start = time.perf_counter()
            for _ in range(n):
                fn()
            return (time.perf_counter() - start) / n * 1e6
        finally:
            if gc_was:
                gc.enable()

    return run


def summary(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def ratios(a: list[float], b: list[float]) -> list[float]:
    return [x / y for x, y in zip(a, b, strict=True)]


class Results:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.details: dict[str, Any] = {}

    def add(
        self,
        key: str,
        label: str,
        value: float,
        *,
        target: float | None,
        better: str,
        unit: str = "x",
        best: float | None = None,
        note: str = "",
    ) -> None:
        hit = None
        if target is not None:
            hit = value >= target if better == "higher" else value <= target
        self.rows.append(
            {
                "key": key,
                "label": label,
                "value": value,
                "best": best,
                "unit": unit,
                "target": target,
                "better": better,
                "hit": hit,
                "note": note,
            }
        )


# ---------------------------------------------------------------------------- 1. sync per-call overhead
def _seed_orders(client: Any, count: int = 10) -> None:
    from truex_client.models import NewOrderInfo, OrderType, Side

    for i in range(count):
        client.orders.create(
            info=NewOrderInfo(
                client_id=client.client_id,
                instrument_id=BTC,
                qty=Decimal("0.001"),
                price=Decimal(74000 + i),
                side=Side.BUY,
                type_=OrderType.LIMIT,
            )
        )


def bench_sync(res: Results) -> None:
    from truex_ext import Truex

    alice = _keys()["ALICE"]
    with Server("sandbox") as server:
        client = Truex(api_key=alice[0], api_secret=alice[1], client_id=alice[2], base_url=server.base_url)
        _seed_orders(client)
        raw = httpx.Client(base_url=server.base_url)

        def sdk() -> None:
            items = list(client.orders.list())
            assert len(items) == 10, len(items)

        def raw_call() -> None:
            response = raw.get(LIST_PATH, params={"size": "10"}, headers=hand_signed(alice, "GET", LIST_PATH))
            assert len(response.json()["data"]) == 10

        peers = _sync_peers(server.base_url, alice)
        n = _scale(200, 40)
        contenders = {"sdk": sdk, "raw": raw_call, **peers}
        for fn in contenders.values():
            per_call_us(fn, 30)()
        times = interleaved({k: per_call_us(fn, n) for k, fn in contenders.items()}, _scale(15, 5))
        client.close()
        raw.close()
    r = ratios(times["sdk"], times["raw"])
    res.details["sync"] = {
        "sdk_us": summary(times["sdk"]),
        "raw_us": summary(times["raw"]),
        "ratio": summary(r),
        **{f"{k}_us": summary(times[k]) for k in peers},
    }
    for key, label, target in (
        (
            "requests",
            "1. the same call vs a hand-signed requests.Session (what TrueX users write today)",
            0.9,
        ),
        ("stdlib", "1. the same call vs the stdlib floor (http.client keep-alive + json)", 1.5),
    ):
        rp = ratios(times["sdk"], times[key])
        res.add(
            f"sync_vs_{key}",
            label,
            statistics.median(rp),
            best=min(rp),
            target=target,
            better="lower",
            note=f"{statistics.median(times['sdk']):.0f} vs {statistics.median(times[key]):.0f} µs/call",
        )
    res.add(
        "sync_ratio",
        "1. sync list call (10 orders) vs raw httpx, uvicorn",
        statistics.median(r),
        best=min(r),
        target=1.00,  # issue 13: an SDK that owns its request beats hand-written httpx
        better="lower",
        note=f"{statistics.median(times['sdk']):.0f} vs {statistics.median(times['raw']):.0f} µs/call",
    )


def _sync_peers(base_url: str, key: tuple[str, str, str]) -> dict[str, Callable[[], None]]:
    """The list call as TrueX users write it by hand: a ``requests.Session`` (as True Markets' own tools do)
    and the stdlib floor, ``http.client`` on one kept-alive connection; both hand-signed, both parse the JSON."""
    import http.client

    import requests

    session = requests.Session()
    host = base_url.split("://", 1)[1]
    conn = http.client.HTTPConnection(host)
    query = f"{LIST_PATH}?size=10"

    def with_requests() -> None:
        response = session.get(
            base_url + LIST_PATH, params={"size": "10"}, headers=hand_signed(key, "GET", LIST_PATH)
        )
        assert len(response.json()["data"]) == 10

    def with_stdlib() -> None:
        conn.request("GET", query, headers=hand_signed(key, "GET", LIST_PATH))
        assert len(json.loads(conn.getresponse().read())["data"]) == 10

    return {"requests": with_requests, "stdlib": with_stdlib}


# ------------------------------------------------------------------------- 1b. JWT bearer vs HMAC
def bench_jwt(res: Results) -> None:
    """The same list call signed with HMAC and sent with a JWT bearer token (minted once, then reused)."""
    from truex_ext import JwtKey, Truex
    from truex_sandbox.jwt_keys import key_file
    from truex_sandbox.seed import default_seed

    alice = _keys()["ALICE"]
    record = next(k for k in default_seed().jwt_keys if k.client_id == alice[2])
    with Server("sandbox") as server:
        hmac = Truex(api_key=alice[0], api_secret=alice[1], client_id=alice[2], base_url=server.base_url)
        jwt = Truex(jwt_key=JwtKey.from_mapping(key_file(record)), base_url=server.base_url, environ={})
        _seed_orders(hmac)

        def call(client: Truex) -> Callable[[], None]:
            def run() -> None:
                assert len(list(client.orders.list())) == 10

            return run

        n = _scale(200, 40)
        for client in (hmac, jwt):
            per_call_us(call(client), 30)()  # warm: connections, and the JWT client's first mint
        times = interleaved(
            {"jwt": per_call_us(call(jwt), n), "hmac": per_call_us(call(hmac), n)}, _scale(15, 5)
        )
        hmac.close()
        jwt.close()
    r = ratios(times["jwt"], times["hmac"])
    res.details["jwt"] = {
        "jwt_us": summary(times["jwt"]),
        "hmac_us": summary(times["hmac"]),
        "ratio": summary(r),
    }
    res.add(
        "jwt_ratio",
        "1b. sync list call with JWT bearer vs with HMAC, uvicorn",
        statistics.median(r),
        best=min(r),
        target=None,
        better="lower",
        note=f"{statistics.median(times['jwt']):.0f} vs {statistics.median(times['hmac']):.0f} µs/call",
    )


# ------------------------------------------------------------------------------ 2. async throughput
async def _throughput(call: Callable[[], Any], seconds: float, in_flight: int) -> tuple[float, float]:
    """(calls/s, client CPU µs per call) over ``seconds`` with ``in_flight`` calls always in flight."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call()
            done += 1

    cpu = time.process_time()
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    elapsed = time.perf_counter() - start
    return done / elapsed, (time.process_time() - cpu) / max(done, 1) * 1e6


def bench_async(res: Results, list_body: bytes) -> None:

    alice = _keys()["ALICE"]
    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError:  # pragma: no cover - the bench extra installs it
        AiohttpTransport = None
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        f.write(list_body)
    try:
        with Server("canned", f.name) as server:
            result = asyncio.run(_async_rounds(server.base_url, alice, AiohttpTransport))
    finally:
        os.unlink(f.name)
    speeds = {name: [s for s, _ in runs] for name, runs in result.items()}
    cpu = {name: [c for _, c in runs] for name, runs in result.items()}
    res.details["async"] = {
        "in_flight": 32,
        "calls_per_s": {n: summary(v) for n, v in speeds.items()},
        "client_cpu_us_per_call": {n: summary(v) for n, v in cpu.items()},
    }
    r = ratios(speeds["sdk"], speeds["raw"])
    res.details["async"]["sdk_over_raw"] = summary(r)
    res.add(
        "async_ratio",
        "2. async throughput, 32 in flight, vs raw httpx",
        statistics.median(r),
        best=max(r),
        target=0.9,
        better="higher",
        note=f"{statistics.median(speeds['sdk']):.0f} vs {statistics.median(speeds['raw']):.0f} calls/s",
    )
    if "sdk_aiohttp" in speeds:
        ra = ratios(speeds["sdk_aiohttp"], speeds["sdk"])
        res.details["async"]["aiohttp_over_default"] = summary(ra)
        res.details["async"]["raw_aiohttp_over_raw"] = summary(ratios(speeds["raw_aiohttp"], speeds["raw"]))
        res.add(
            "aiohttp_ratio",
            "2. SDK on httpx-aiohttp vs SDK on httpx (32 in flight)",
            statistics.median(ra),
            best=max(ra),
            target=1.5,
            better="higher",
            note="ship the extra if hit",
        )


async def _async_rounds(base_url: str, alice: tuple[str, str, str], aiohttp_transport: Any) -> dict[str, Any]:
    from truex_ext import AsyncTruex

    clients: dict[str, Any] = {
        "raw": httpx.AsyncClient(base_url=base_url),
        "sdk": AsyncTruex(api_key=alice[0], api_secret=alice[1], client_id=alice[2], base_url=base_url),
    }
    if aiohttp_transport is not None:
        clients["raw_aiohttp"] = httpx.AsyncClient(base_url=base_url, transport=aiohttp_transport())
        from truex_ext import aiohttp_transport as sdk_aiohttp  # httpx-aiohttp with the SDK's limits

        clients["sdk_aiohttp"] = AsyncTruex(
            api_key=alice[0],
            api_secret=alice[1],
            client_id=alice[2],
            base_url=base_url,
            transport=sdk_aiohttp(),
        )

    def call_of(name: str) -> Callable[[], Any]:
        client = clients[name]
        if name.startswith("sdk"):

            async def sdk() -> None:
                page = await client.orders.list()
                assert len(page.items) == 10

            return sdk

        async def raw() -> None:
            response = await client.get(
                LIST_PATH, params={"size": "10"}, headers=hand_signed(alice, "GET", LIST_PATH)
            )
            assert len(response.json()["data"]) == 10

        return raw

    calls = {name: call_of(name) for name in clients}
    seconds = 2.5 if not QUICK else 1.0
    for name in clients:  # warm: open the 32 connections
        await _throughput(calls[name], 0.5, 32)
    out: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
    names = list(clients)
    for r in range(_scale(5, 2)):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            out[name].append(await _throughput(calls[name], seconds, 32))
    for name, client in clients.items():
        await (client.aclose() if name.startswith("raw") else client.close())
    return out


# ------------------------------------------------------------------------------ 2b. a call after idle
def _tls_files(directory: Path) -> tuple[str, str] | None:
    if shutil.which("openssl") is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    proc = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        capture_output=True,
    )  # fmt: skip
    return (str(cert), str(key)) if proc.returncode == 0 else None


def _pool_ids(transport: Any) -> set[int]:
    pool = getattr(transport, "_pool", None)
    return {id(c) for c in getattr(pool, "connections", [])}


def bench_idle(res: Results) -> None:
    from truex_ext import Truex

    alice = _keys()["ALICE"]
    idle_s = 10.0
    repeats = _scale(3, 1)
    with tempfile.TemporaryDirectory() as tmp:
        tls = _tls_files(Path(tmp))
        args = ("sandbox", "--tls", *tls) if tls else ("sandbox",)
        old_cert = os.environ.get("SSL_CERT_FILE")
        if tls:
            os.environ["SSL_CERT_FILE"] = tls[0]  # httpx trusts the self-signed certificate through it
        try:
            with Server(*args, scheme="https" if tls else "http") as server:
                sdk = Truex(
                    api_key=alice[0], api_secret=alice[1], client_id=alice[2], base_url=server.base_url
                )
                raw = httpx.Client(base_url=server.base_url)  # httpx's defaults: keep-alive 5 s

                def sdk_call() -> None:
                    sdk.service.health()

                def raw_call() -> None:
                    raw.get("/v1/cefi/health", headers={"x-truex-version": VERSION}).json()

                sdk_transport = lambda: sdk._shared.transport._sync  # noqa: E731
                raw_transport = lambda: raw._transport  # noqa: E731
                contenders = {
                    "sdk": (sdk_call, sdk_transport),
                    "raw_httpx_default": (raw_call, raw_transport),
                }
                warm: dict[str, list[float]] = {n: [] for n in contenders}
                idle: dict[str, list[float]] = {n: [] for n in contenders}
                reconnected: dict[str, list[bool]] = {n: [] for n in contenders}
                for name, (fn, _) in contenders.items():
                    for _ in range(20):
                        fn()
                    warm[name] = [per_call_us(fn, 1)() for _ in range(20)]
                for r in range(repeats):
                    time.sleep(idle_s)
                    order = list(contenders) if r % 2 == 0 else list(reversed(contenders))
                    for name in order:
                        fn, transport = contenders[name]
                        before = _pool_ids(transport())
                        idle[name].append(per_call_us(fn, 1)())
                        reconnected[name].append(not (before & _pool_ids(transport())))
                sdk.close()
                raw.close()
        finally:
            if tls:
                if old_cert is None:
                    os.environ.pop("SSL_CERT_FILE", None)
                else:
                    os.environ["SSL_CERT_FILE"] = old_cert
    res.details["idle"] = {
        "idle_s": idle_s,
        "tls": bool(tls),
        "warm_us": {n: summary(v) for n, v in warm.items()},
        "after_idle_us": {n: summary(v) for n, v in idle.items()},
        "reconnected": reconnected,
    }
    sdk_idle = statistics.median(idle["sdk"])
    raw_idle = statistics.median(idle["raw_httpx_default"])
    res.add(
        "idle_sdk_vs_httpx_default",
        f"2b. call after {idle_s:g} s idle ({'TLS' if tls else 'TCP'}): SDK vs httpx defaults",
        sdk_idle / raw_idle,
        target=None,
        better="lower",
        note=f"{sdk_idle:.0f} vs {raw_idle:.0f} µs (warm {statistics.median(warm['sdk']):.0f}); reconnects: "
        f"SDK {sum(reconnected['sdk'])}/{repeats}, httpx {sum(reconnected['raw_httpx_default'])}/{repeats}",
    )


# --------------------------------------------------------------------------- 3. client-only cost (mock)
def _order_json(i: int) -> dict[str, Any]:
    return {
        "id": str(800000000000000100 + i),
        "status": "ACTIVE",
        "order_info": {
            "client_id": "300000000000000001",
            "instrument_id": BTC,
            "qty": "0.001",
            "price": str(74000 + i),
            "side": "BUY",
            "type": "LIMIT",
            "tif": "GTC",
            "msg_id": str(800000000000000100 + i),
            "parent_id": "0",
        },
        "external_id": f"ext{i}",
        "ref_external_id": f"ext{i}",
        "pending_qty": "0",
        "leaves_qty": "0.001",
        "exeuted_qty": "0",
        "executed_vwap": "0",
        "timestamp": "1800000000000000000",
        "update_timestamp": "1800000000000000000",
    }


def list_page(n: int, cursor: str | None = None) -> bytes:
    body = {"data": [_order_json(i) for i in range(n)], "pagination": {"size": n, "next_cursor": cursor}}
    return json.dumps(body, separators=(",", ":")).encode()


def _mock(body: bytes) -> httpx.MockTransport:
    headers = [("content-type", "application/json"), ("x-truex-version", VERSION), ("x-request-id", "m")]
    return httpx.MockTransport(lambda request: httpx.Response(200, headers=headers, content=body))


def _count_decimals(value: Any) -> int:
    if isinstance(value, Decimal):
        return 1
    if isinstance(value, list):
        return sum(_count_decimals(v) for v in value)
    if hasattr(value, "__attrs_attrs__"):
        return sum(_count_decimals(getattr(value, a.name)) for a in value.__attrs_attrs__)
    return 0


def bench_client_only(res: Results) -> None:
    from truex_client import Client
    from truex_client.api.orders import list_orders
    from truex_client.models import OrderList
    from truex_ext import Truex
    from truex_ext._base_client import SyncAPI
    from truex_ext.auth import Credentials, HmacAuth
    from truex_ext.resources import OPERATIONS

    alice = _keys()["ALICE"]
    base = "http://bench.invalid"
    figures: dict[str, Any] = {}
    for size in (10, 100):
        body = list_page(size)
        raw = httpx.Client(base_url=base, transport=_mock(body))
        gen = Client(base_url=base, httpx_args={"transport": _mock(body)})
        sdk = Truex(
            api_key=alice[0], api_secret=alice[1], client_id=alice[2], base_url=base, transport=_mock(body)
        )

        def raw_call(raw: httpx.Client = raw) -> None:
            raw.get(LIST_PATH, params={"size": "10"}, headers={"x-truex-version": VERSION}).json()

        def gen_call(gen: Client = gen) -> None:
            list_orders.sync_detailed(client=gen, size=10)

        def sdk_call(sdk: Truex = sdk) -> None:
            list(sdk.orders.list())

        parsed = json.loads(body)

        def from_dict(parsed: Any = parsed) -> None:
            OrderList.from_dict(parsed)

        n = _scale(1000, 300) if size == 10 else _scale(150, 40)
        for fn in (raw_call, gen_call, sdk_call, from_dict):
            per_call_us(fn, n // 4)()
        # All in the same rounds, so that the differences (what each layer adds) are taken within a round.
        times = interleaved(
            {
                "raw": per_call_us(raw_call, n),
                "generated": per_call_us(gen_call, n),
                "sdk": per_call_us(sdk_call, n),
                "from_dict": per_call_us(from_dict, n),
            },
            _scale(7, 3),
        )
        added = [s - r for s, r in zip(times["sdk"], times["raw"], strict=True)]
        gen_added = [g - r for g, r in zip(times["generated"], times["raw"], strict=True)]
        glue = [g - f for g, f in zip(gen_added, times["from_dict"], strict=True)]
        over_gen = [s - g for s, g in zip(times["sdk"], times["generated"], strict=True)]
        split = {
            "json": interleaved({"json": per_call_us(lambda body=body: json.loads(body), n)}, 3)["json"],
            "from_dict": times["from_dict"],
        }
        decimals = _count_decimals(OrderList.from_dict(parsed))
        strings = ["0.001"] * decimals
        decimal_us = per_call_us(lambda strings=strings: [Decimal(s) for s in strings], n)()
        figures[size] = {
            "raw_us": summary(times["raw"]),
            "generated_us": summary(times["generated"]),
            "sdk_us": summary(times["sdk"]),
            "sdk_added_us": summary(added),
            "generated_added_us": summary(gen_added),
            "generated_glue_us": summary(glue),
            "sdk_over_generated_us": summary(over_gen),
            "json_loads_us": summary(split["json"]),
            "from_dict_us": summary(split["from_dict"]),
            "decimal_fields": decimals,
            "decimal_us": decimal_us,
        }
        raw.close()
        gen.get_httpx_client().close()
        sdk.close()

    # The split of the SDK's own work on one call (10 orders), each part timed alone.
    creds = Credentials(api_key=alice[0], secret=alice[1], client_id=alice[2])
    auth = HmacAuth(creds)
    request = httpx.Request(
        "GET", base + LIST_PATH, params={"size": "10"}, headers={"x-truex-version": VERSION}
    )

    def sign_once() -> None:
        flow = auth.auth_flow(request)
        next(flow)

    content = list_page(10)
    response = httpx.Response(
        200,
        headers={"x-truex-version": VERSION, "date": "Fri, 04 Dec 2026 00:00:00 GMT"},
        content=content,
        request=request,
    )
    op = OPERATIONS["list_orders"]
    loop = SyncAPI(sdk._config, lambda base: httpx.Client())

    def normalise_once() -> None:  # the status step: the clock skew, the status check
        loop.raise_for_status(op, request, response, content)

    n = _scale(3000, 500)
    parts = interleaved({"sign": per_call_us(sign_once, n), "normalise": per_call_us(normalise_once, n)}, 5)
    ten = figures[10]
    parse_us = ten["from_dict_us"]["median"]
    sign_us, normalise_us = statistics.median(parts["sign"]), statistics.median(parts["normalise"])
    over_generated = ten["sdk_over_generated_us"]["median"]
    figures["split_10_us"] = {
        "generated: from_dict (incl. Decimal)": parse_us,
        "generated: of which Decimal()": ten["decimal_us"],
        "generated: request building and response glue": ten["generated_glue_us"]["median"],
        "SDK over generated": over_generated,
        "SDK: sign": sign_us,
        "SDK: status step (clock skew, status check)": normalise_us,
        "SDK: call loop (validation, build, paginator, deprecation/log checks)": over_generated
        - sign_us
        - normalise_us,
    }
    res.details["client_only"] = {str(k): v for k, v in figures.items()}
    added10 = ten["sdk_added_us"]
    res.add(
        "client_added_us",
        "3. client cost over raw httpx + json() (10 orders, mock)",
        added10["median"],
        best=added10["min"],
        unit="µs",
        target=80,
        better="lower",
        note=f"generated alone adds {ten['generated_added_us']['median']:.0f} µs",
    )
    hundred = figures[100]
    res.add(
        "client_added_100_us",
        "3. client cost over raw, 100-order page (from_dict alone: "
        f"{hundred['from_dict_us']['median']:.0f} µs)",
        hundred["sdk_added_us"]["median"],
        best=hundred["sdk_added_us"]["min"],
        unit="µs",
        target=None,
        better="lower",
        note=f"{hundred['decimal_fields']} Decimals = {hundred['decimal_us']:.0f} µs",
    )


# --------------------------------------------------------------------------------- 4. auto-pagination
class _Pages:
    """A mock exchange holding ``pages`` pages of 100 orders, served with cursors c1, c2, ..."""

    def __init__(self, pages: int) -> None:
        self.pages = pages
        self.template = list_page(100, "CURSOR")

    def __call__(self, request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        number = int(cursor[1:]) if cursor else 0
        following = f"c{number + 1}" if number + 1 < self.pages else None
        body = self.template.replace(b'"CURSOR"', b"null" if following is None else f'"{following}"'.encode())
        return httpx.Response(
            200, headers={"content-type": "application/json", "x-truex-version": VERSION}, content=body
        )


def bench_pagination(res: Results) -> None:
    from truex_ext import Truex

    alice = _keys()["ALICE"]
    pages = _scale(1000, 100)

    def iterate() -> int:
        client = Truex(
            api_key=alice[0],
            api_secret=alice[1],
            client_id=alice[2],
            base_url="http://bench.invalid",
            transport=httpx.MockTransport(_Pages(pages)),
        )
        count = 0
        for _ in client.orders.list(size=100):
            count += 1
        client.close()
        return count

    iterate_small = pages  # warm-up
    del iterate_small
    start = time.perf_counter()
    count = iterate()
    elapsed = time.perf_counter() - start
    assert count == pages * 100, count
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    iterate()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    res.details["pagination"] = {
        "items": count,
        "seconds": elapsed,
        "items_per_s": count / elapsed,
        "peak_bytes": peak,
    }
    res.add(
        "pagination_mb",
        f"4. auto-pagination of {count:,} orders: peak memory growth",
        peak / 1e6,
        unit="MB",
        target=20,
        better="lower",
        note=f"{count / elapsed:,.0f} items/s",
    )


# ------------------------------------------------------------------------------------- 5. import time
IMPORT_VENV = BENCH / ".venv-import"


def _import_venv() -> Path:
    """A venv with only the runtime dependencies and the package (non-editable): no click/rich for httpx."""
    python = IMPORT_VENV / "bin" / "python"
    quiet = ["--quiet", "--disable-pip-version-check"]
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(IMPORT_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", *quiet, str(ROOT)], check=True, cwd=ROOT)
    else:  # the package as it is now (dependencies already there)
        subprocess.run(
            [str(python), "-m", "pip", "install", *quiet, "--no-deps", "--force-reinstall", str(ROOT)],
            check=True,
            cwd=ROOT,
        )
    return python


def _timed_import(python: Path, statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    # Outside the checkout: `python -c` puts the working directory first on sys.path, and from the repo
    # root it would import truex_ext from the source tree (uncompiled when bytecode writing is off)
    # instead of the installed package this measures.
    out = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, check=True, cwd=tempfile.gettempdir()
    )
    return float(out.stdout.strip()) * 1000


def _timed_process(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=True, cwd=tempfile.gettempdir())
    return (time.perf_counter() - start) * 1000


def bench_import(res: Results) -> None:
    python = _import_venv()
    truex = str(IMPORT_VENV / "bin" / "truex")
    statements = {
        "import httpx": "import httpx",
        "import truex_ext": "import truex_ext",
        "from truex_ext import Truex": "from truex_ext import Truex",
        "from truex_ext import Truex; Truex()": "from truex_ext import Truex; Truex()",
    }
    contenders: dict[str, Callable[[], float]] = {
        name: (lambda s=s: _timed_import(python, s)) for name, s in statements.items()
    }
    contenders["process: python -c 'import httpx'"] = lambda: _timed_process(
        [str(python), "-c", "import httpx"]
    )
    contenders["process: truex --help"] = lambda: _timed_process([truex, "--help"])
    for fn in contenders.values():
        fn()
    times = interleaved(contenders, _scale(9, 3))
    medians = {n: statistics.median(v) for n, v in times.items()}
    httpx_ms = medians["import httpx"]
    res.details["import"] = {
        "venv": "only httpx, attrs, python-dateutil and the package",
        "ms": {n: summary(v) for n, v in times.items()},
    }
    for name in ("import truex_ext", "from truex_ext import Truex"):
        res.add(
            "import_" + name.replace(" ", "_"),
            f"5. `{name}` vs `import httpx`",
            medians[name] / httpx_ms,
            target=1.5,
            better="lower",
            note=f"{medians[name]:.0f} vs {httpx_ms:.0f} ms",
        )
    cli = medians["process: truex --help"] / medians["process: python -c 'import httpx'"]
    res.add(
        "import_cli_help",
        "5. `truex --help` vs `python -c 'import httpx'` (processes)",
        cli,
        target=1.5,
        better="lower",
        note=f"{medians['process: truex --help']:.0f} vs {medians[chr(112) + 'rocess: python -c ' + chr(39) + 'import httpx' + chr(39)]:.0f} ms",
    )


# -------------------------------------------------------------------------------------- 6. sandbox
def bench_engine(res: Results) -> None:
    import engine_load

    n = _scale(20_000, 4_000)
    ops = engine_load.make_ops(n)
    runs, book_speeds = [], []
    for _ in range(_scale(5, 2)):  # interleaved with the bare book on the same operations
        runs.append(engine_load.run(ops=ops))
        book_speeds.append(engine_load.run_book(ops=ops)["ops_per_s"])
    speeds = [r["ops_per_s"] for r in runs]
    last = runs[-1]
    res.details["engine"] = {
        "ops": n,
        "ops_per_s": summary(speeds),
        "creates": last["creates"],
        "cancels": last["cancels"],
        "closed_at_create": last["closed_at_create"],
        "invariants_ok": all(r["invariants_ok"] for r in runs),
        "bare_book_ops_per_s": summary(book_speeds),
    }
    res.add(
        "engine_ops",
        "6. engine in-process: creates + cancels per second",
        statistics.median(speeds),
        best=max(speeds),
        unit="/s",
        target=None,  # for information: the target is on what users feel, the signed POST /orders over HTTP
        better="higher",
        note=f"invariants {'hold' if res.details['engine']['invariants_ok'] else 'BROKEN'}; "
        f"the bare book does {statistics.median(book_speeds):,.0f}/s on the same operations",
    )


class _NaiveBook:
    """The textbook book: a dict per side, sorted on every read (what truex_ext.stream.OrderBook is measured against)."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}

    def set_bid(self, price: Decimal, qty: Decimal) -> None:
        if qty:
            self.bids[price] = qty
        else:
            self.bids.pop(price, None)

    def set_ask(self, price: Decimal, qty: Decimal) -> None:
        if qty:
            self.asks[price] = qty
        else:
            self.asks.pop(price, None)

    def bbo(self) -> tuple[Decimal | None, Decimal | None]:
        bids, asks = sorted(self.bids), sorted(self.asks)
        return (bids[-1] if bids else None, asks[0] if asks else None)


def _level_updates(n: int, levels: int = 50) -> list[tuple[bool, Decimal, Decimal]]:
    """``n`` DEPTH level updates around a mid of 1000 on a 0.5 grid: a quarter delete, the rest upsert."""
    import random

    rng = random.Random(7)
    prices = [Decimal(1000) - Decimal(i) / 2 for i in range(1, levels + 1)]
    asks = [Decimal(1000) + Decimal(i) / 2 for i in range(1, levels + 1)]
    qtys = [Decimal(0), Decimal("0.5"), Decimal(1), Decimal("2.25")]
    out = []
    for _ in range(n):
        is_bid = rng.random() < 0.5
        side = prices if is_bid else asks
        out.append((is_bid, side[min(int(rng.expovariate(0.15)), levels - 1)], rng.choice(qtys)))
    return out


def bench_stream_book(res: Results) -> None:
    from truex_ext.stream import OrderBook

    updates = _level_updates(_scale(300_000, 50_000))

    def run(make: Callable[[], Any]) -> Callable[[], float]:
        def go() -> float:
            book = make()
            set_bid, set_ask, bbo = book.set_bid, book.set_ask, book.bbo
            gc_was = gc.isenabled()
            gc.disable()
            try:
                start = time.perf_counter()
                for is_bid, price, qty in updates:
                    if is_bid:
                        set_bid(price, qty)
                    else:
                        set_ask(price, qty)
                    bbo()
                return len(updates) / (time.perf_counter() - start)
            finally:
                if gc_was:
                    gc.enable()

        return go

    speeds = interleaved(
        {"book": run(lambda: OrderBook("BTC-PYUSD")), "naive": run(_NaiveBook)}, _scale(5, 2)
    )
    speedup = ratios(speeds["book"], speeds["naive"])
    res.details["stream_book"] = {
        "updates": len(updates),
        "book_updates_per_s": summary(speeds["book"]),
        "naive_updates_per_s": summary(speeds["naive"]),
        "speedup": summary(speedup),
    }
    res.add(
        "stream_book_updates",
        "7. OrderBook: DEPTH level updates/s, best bid/ask read after each",
        statistics.median(speeds["book"]),
        best=max(speeds["book"]),
        unit="/s",
        target=1_000_000,
        better="higher",
        note=f"{statistics.median(speedup):.1f}x a dict-sorted-on-read book "
        f"({statistics.median(speeds['naive']):,.0f}/s) in the same run",
    )


# ------------------------------------------------------------------------------- 8. stream over loopback
def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _stream_latency(n: int) -> tuple[list[float], list[float], list[float]]:
    """``n`` REST creates against a served sandbox; per order (return → DROPCOPY parsed, return → DEPTH parsed,
    send → DROPCOPY parsed), in ms, all on ``time.perf_counter`` in this process."""
    from truex_client.models import NewOrderInfo, OrderType, Side
    from truex_ext import Truex
    from truex_ext.auth import Credentials
    from truex_ext.stream import AsyncStream, OrderUpdate
    from truex_ext.stream.messages import DepthData, MarketData
    from truex_sandbox.app import create_app
    from truex_sandbox.engine import Exchange
    from truex_sandbox.server import serve_in_thread

    alice = _keys()["ALICE"]
    with serve_in_thread(create_app(Exchange(), ws_coalesce=0)) as server:
        client = Truex(api_key=alice[0], api_secret=alice[1], client_id=alice[2], base_url=server.base_url)
        creds = Credentials(alice[0], alice[1], alice[2])
        seen_order: dict[str, float] = {}
        seen_price: dict[Decimal, float] = {}
        async with AsyncStream(f"ws://127.0.0.1:{server.port}/api/v1", credentials=creds) as stream:
            feed = stream._feed
            process = feed.process

            def timed(frame: Any) -> Any:
                out = process(frame)
                now = time.perf_counter()
                msg = out[0]
                if isinstance(msg, OrderUpdate) and msg.order_id is not None:
                    seen_order.setdefault(msg.order_id, now)
                elif (
                    isinstance(msg, MarketData) and isinstance(msg.data, DepthData) and msg.update == "UPDATE"
                ):
                    for level in msg.data.bids:
                        seen_price.setdefault(level.price, now)
                return out

            feed.process = timed  # type: ignore[method-assign]
            await stream.subscribe("DROPCOPY", [alice[2]])
            await stream.subscribe("DEPTH", ["BTC-PYUSD"])
            book = stream.book("BTC-PYUSD")
            while not book.is_synced:
                await asyncio.sleep(0.01)

            def create(price: Decimal) -> tuple[str, float, float]:
                sent = time.perf_counter()
                placed = client.orders.create(
                    info=NewOrderInfo(
                        client_id=alice[2],
                        instrument_id=BTC,
                        qty=Decimal("0.001"),
                        price=price,
                        side=Side.BUY,
                        type_=OrderType.LIMIT,
                    )
                )
                return str(placed.id), sent, time.perf_counter()

            report, depth, from_send = [], [], []
            for i in range(n):
                price = Decimal(73200) + Decimal(i) / 2
                order_id, sent, returned = await asyncio.to_thread(create, price)
                deadline = time.perf_counter() + 5
                while (
                    order_id not in seen_order or price not in seen_price
                ) and time.perf_counter() < deadline:
                    await asyncio.sleep(0)
                if order_id in seen_order and price in seen_price:
                    report.append((seen_order[order_id] - returned) * 1e3)
                    depth.append((seen_price[price] - returned) * 1e3)
                    from_send.append((seen_order[order_id] - sent) * 1e3)
        client.close()
    return report, depth, from_send


def bench_stream_latency(res: Results) -> None:
    n = _scale(200, 50)
    report, depth, from_send = asyncio.run(_stream_latency(n))
    res.details["stream_latency"] = {
        "orders": n,
        "matched": len(report),
        "dropcopy_ms": {"p50": _pct(report, 0.5), "p99": _pct(report, 0.99)},
        "depth_ms": {"p50": _pct(depth, 0.5), "p99": _pct(depth, 0.99)},
        "dropcopy_from_send_ms": {"p50": _pct(from_send, 0.5), "p99": _pct(from_send, 0.99)},
        "negative_dropcopy": sum(1 for v in report if v < 0),
    }
    note = (
        f"{len(report)}/{n} orders; from the REST call's return (negative: the frame beat the HTTP answer); "
        f"send → report p50 {_pct(from_send, 0.5):.2f} ms"
    )
    for key, label, values in (
        ("dropcopy", "DROPCOPY report", report),
        ("depth", "DEPTH update", depth),
    ):
        for q in (0.5, 0.99):
            res.add(
                f"stream_latency_{key}_p{round(q * 100)}",
                f"8. loopback: orders.create returns → {label} parsed, p{round(q * 100)}",
                _pct(values, q),
                unit="ms",
                target=None,
                better="lower",
                note=note,
            )


# ----------------------------------------------------------------------- 9. the client path on loopback
def _depth_request() -> str:
    """The SUBSCRIBE_NO_AUTH a plain client sends for DEPTH BTC-PYUSD (the replay server accepts anything)."""
    request = {"type": "SUBSCRIBE_NO_AUTH", "channels": ["DEPTH"], "item_names": ["BTC-PYUSD"]}
    return json.dumps({**request, "timestamp": str(int(time.time()))})


async def _sdk_path(url: str, updates: int) -> float:
    """Frames/s through ``AsyncStream``: receive, decode, seqnum check, Decimal, OrderBook, ``async for``."""
    from truex_ext.stream import AsyncStream
    from truex_ext.stream.messages import MarketData

    last = updates + 2  # SNAPSHOT 1, SNAPSHOT_COMPLETE 2, then the UPDATEs
    async with AsyncStream(url) as stream:
        start = time.perf_counter()
        await stream.subscribe("DEPTH", ["BTC-PYUSD"])
        async for event in stream:
            if isinstance(event, MarketData) and event.seqnum == last:
                break
        elapsed = time.perf_counter() - start
        book = stream.book("BTC-PYUSD")
        assert book.is_synced and book.seqnum == last, book
    return updates / elapsed


async def _plain_path(url: str, updates: int) -> float:
    """The same path written plainly: ``websockets`` + ``json.loads`` + a seqnum check + a dict book."""
    from websockets.asyncio.client import connect

    last = updates + 2
    async with connect(url, max_size=2**24) as ws:
        await ws.recv()  # WELCOME
        start = time.perf_counter()
        await ws.send(_depth_request())
        bids: dict[Decimal, Decimal] = {}
        asks: dict[Decimal, Decimal] = {}
        expected = None
        while True:
            msg = json.loads(await ws.recv(), parse_float=Decimal)
            if msg.get("channel") != "DEPTH":
                continue  # the confirmation
            seqnum = int(msg["seqnum"])
            if expected is not None and seqnum != expected:
                raise RuntimeError(f"seqnum gap: expected {expected}, got {seqnum}")
            expected = seqnum + 1
            if msg["update"] == "SNAPSHOT":
                bids.clear()
                asks.clear()
            data = msg.get("data")
            if data is not None:
                for book, levels in ((bids, data["bids"]), (asks, data["asks"])):
                    for level in levels:
                        price, qty = Decimal(level["price"]), Decimal(level["qty"])
                        if qty:
                            book[price] = qty
                        else:
                            book.pop(price, None)
            if seqnum == last:
                break
        elapsed = time.perf_counter() - start
    assert bids and asks and max(bids) < min(asks)
    return updates / elapsed


def bench_stream_path(res: Results) -> None:
    """Row 9: DEPTH frames/s from a replaying server (another process) through the SDK, and written plainly."""
    updates = _scale(100_000, 20_000)
    with Server("ws-replay", str(updates), scheme="ws") as server:
        url = server.base_url + "/api/v1"

        def run(path: Callable[[str, int], Any]) -> Callable[[], float]:
            return lambda: asyncio.run(path(url, updates))

        warm = _scale(2, 1)
        for fn in (run(_sdk_path), run(_plain_path)):
            for _ in range(warm):
                fn()
        speeds = interleaved({"sdk": run(_sdk_path), "plain": run(_plain_path)}, _scale(5, 2))
    r = ratios(speeds["sdk"], speeds["plain"])
    res.details["stream_path"] = {
        "updates_per_round": updates,
        "sdk_frames_per_s": summary(speeds["sdk"]),
        "plain_frames_per_s": summary(speeds["plain"]),
        "sdk_over_plain": summary(r),
    }
    note = (
        f"plain websockets + json + dict book {statistics.median(speeds['plain']):,.0f}/s; "
        f"SDK/plain {statistics.median(r):.2f}x (best {max(r):.2f}x) in the same run"
    )
    res.add(
        "stream_path_frames",
        "9. loopback: DEPTH frames/s through AsyncStream (receive → book)",
        statistics.median(speeds["sdk"]),
        best=max(speeds["sdk"]),
        unit="/s",
        target=100_000,
        better="higher",
        note=note,
    )
    res.add(
        "stream_path_ratio",
        "9. loopback: AsyncStream vs plain websockets + json + dict book",
        statistics.median(r),
        best=max(r),
        target=None,
        better="higher",
        note=f"{statistics.median(speeds['sdk']):,.0f} vs {statistics.median(speeds['plain']):,.0f} frames/s",
    )


def bench_durable(res: Results) -> None:
    """Creates with a SqliteStore journal (each one fsynced before it is applied) against NullStore."""
    from truex_sandbox.engine import Exchange
    from truex_sandbox.seed import default_seed

    n = _scale(400, 100)
    alice = frozenset({"300000000000000001"})

    def creates(store: Callable[[Path], Any]) -> Callable[[], float]:
        def run() -> float:
            with tempfile.TemporaryDirectory() as tmp:
                ex = Exchange(default_seed(), store=store(Path(tmp) / "bench.db"))
                bodies = [_durable_body(i) for i in range(n)]
                try:
                    start = time.perf_counter()
                    for body in bodies:
                        ex.create_order(alice, body)
                    return (time.perf_counter() - start) / n * 1e6
                finally:
                    ex.close()

        return run

    rounds = interleaved(
        {"sqlite": creates(lambda path: path), "null": creates(lambda path: None)}, _scale(5, 2)
    )
    durable, memory = summary(rounds["sqlite"]), summary(rounds["null"])
    res.details["durable_create"] = {"creates": n, "sqlite_us": durable, "null_us": memory}
    res.add(
        "durable_create",
        "6. durable create (fsync included): µs per create, SqliteStore",
        durable["median"],
        best=durable["min"],
        unit="µs",
        target=None,
        better="lower",
        note=f"in memory (NullStore) {memory['median']:.1f} µs in the same run; WAL, synchronous=FULL, "
        "one commit per create",
    )


def bench_fresh(res: Results) -> None:
    """A new in-process exchange and app, and one signed request through ``httpx.ASGITransport``, as a test does."""
    from truex_sandbox.app import create_app
    from truex_sandbox.engine import Exchange

    path = "/v1/cefi/balances"
    alice = _keys()["ALICE"]

    async def rounds(n: int) -> tuple[list[float], list[float]]:
        totals, creates = [], []
        for _ in range(n):
            start = time.perf_counter()
            app = create_app(Exchange())
            created = time.perf_counter()
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
                answer = await client.get(path, headers=hand_signed(alice, "GET", path))
            answer.raise_for_status()
            totals.append((time.perf_counter() - start) * 1e3)
            creates.append((created - start) * 1e3)
        return totals, creates

    asyncio.run(rounds(2))  # imports and the spec's first load out of the figure
    totals, creates = asyncio.run(rounds(_scale(30, 5)))
    res.details["fresh_sandbox"] = {"ms": summary(totals), "create_app_ms": summary(creates)}
    res.add(
        "fresh_sandbox",
        "6. fresh sandbox: create_app(Exchange()) + one signed request, ms",
        statistics.median(totals),
        best=min(totals),
        unit="ms",
        target=None,
        better="lower",
        note=f"create_app(Exchange()) {statistics.median(creates):.1f} ms of it; httpx.ASGITransport, in-process",
    )


def bench_fresh_plugin(res: Results) -> None:
    """What the pytest plugin's fixtures cost per test: a fresh sandbox (exchange, app, clock, fault plan), an
    SDK client signed in to it and one signed call; in process (no socket) and served by uvicorn."""
    from truex_sandbox.pytest_plugin import TestSandbox
    from truex_sandbox.testing import Sandbox

    def one(served: bool) -> float:
        start = time.perf_counter()
        handle = TestSandbox(Sandbox(), served=served)
        try:
            if served:
                with handle.sandbox.serve():
                    list(handle.client().balances.list())
                    handle.close_clients()  # as the fixture does, before the server stops
            else:
                list(handle.client().balances.list())
        finally:
            handle.close()
        return (time.perf_counter() - start) * 1e3

    for served in (False, True):
        one(served)  # imports and first loads out of the figure
    inproc = [one(False) for _ in range(_scale(30, 5))]
    served = [one(True) for _ in range(_scale(15, 3))]
    res.details["fresh_plugin"] = {"in_process_ms": summary(inproc), "served_ms": summary(served)}
    res.add(
        "fresh_plugin_inprocess",
        "6. plugin fixture, in process: Sandbox() + Truex client + one signed call, ms",
        statistics.median(inproc),
        best=min(inproc),
        unit="ms",
        target=20.0,
        better="lower",
        note="truex_sandbox_inprocess + truex_client; the sync client runs the app on a helper thread's loop",
    )
    res.add(
        "fresh_plugin_served",
        "6. plugin fixture, served: Sandbox() + uvicorn start/stop + Truex client + one signed call, ms",
        statistics.median(served),
        best=min(served),
        unit="ms",
        target=300.0,
        better="lower",
        note="truex_sandbox + truex_client on a free loopback port",
    )


def _durable_body(i: int) -> dict[str, Any]:
    info = {"client_id": "300000000000000001", "instrument_id": BTC, "side": "BUY", "type": "LIMIT"}
    return {"external_id": f"d{i}", "info": {**info, "qty": "0.0001", "price": str(74000 - i % 100)}}


async def _post_order(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    host: str,
    key: tuple[str, str, str],
    external_id: str,
    price: str,
) -> tuple[int, bytes]:
    """One signed POST /orders (a BUY limit of 0.0001 BTC at ``price``) on a kept-alive connection:
    (status, body). Raw HTTP/1.1, so that the load generator costs as little as it can."""
    info = {
        "client_id": key[2],
        "instrument_id": BTC,
        "side": "BUY",
        "type": "LIMIT",
        "qty": "0.0001",
        "price": price,
    }
    body = json.dumps({"external_id": external_id, "info": info}, separators=(",", ":")).encode()
    headers = hand_signed(key, "POST", ORDERS_PATH, body)
    head = f"POST {ORDERS_PATH} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    writer.write(head.encode() + body)
    response_head = await reader.readuntil(b"\r\n\r\n")
    status = int(response_head.split(b" ", 2)[1])
    lower = response_head.lower()
    at = lower.find(b"content-length:")
    length = int(lower[at + 15 :].split(b"\r\n", 1)[0])
    return status, await reader.readexactly(length)


async def _load(
    base_url: str, keys: list[tuple[str, str, str]], seconds: float, connections: int, state: dict[str, int]
) -> tuple[int, int, str]:
    """Signed POST /orders from ``connections`` keep-alive connections for ``seconds``: (ok, other, first error)."""
    host, port = base_url.rsplit("/", 1)[1].split(":")
    ok = other = 0
    first_error = ""
    deadline = time.perf_counter() + seconds

    async def conn(k: int) -> None:
        nonlocal ok, other, first_error
        key = keys[k % len(keys)]
        reader, writer = await asyncio.open_connection(host, int(port))
        while time.perf_counter() < deadline:
            state["n"] += 1
            n = state["n"]
            status, payload = await _post_order(
                reader, writer, host, key, f"lg{n}", str(74000 + (n % 1800) / 2)
            )
            if status == 200:
                ok += 1
            else:
                other += 1
                first_error = first_error or f"{status} {payload[:200]!r}"
        writer.close()

    await asyncio.gather(*(conn(k) for k in range(connections)))
    return ok, other, first_error


def bench_sandbox_http(res: Results) -> None:
    keys = _keys()
    traders = [keys["ALICE"], keys["BOB"]]
    seconds = 3.0 if not QUICK else 1.0
    rounds = _scale(3, 1)
    state = {"n": 0}
    with Server("sandbox") as sandbox:
        # The floor returns the very body the sandbox answers an order with.
        body = json.dumps({"external_id": "floorbody", "info": {"client_id": traders[0][2], "instrument_id": BTC, "side": "BUY", "type": "LIMIT", "qty": "0.0001", "price": "74000"}}, separators=(",", ":")).encode()  # fmt: skip
        answer = httpx.post(sandbox.base_url + ORDERS_PATH, content=body, headers={**hand_signed(traders[0], "POST", ORDERS_PATH, body), "content-type": "application/json"})  # fmt: skip
        answer.raise_for_status()
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            f.write(answer.content)
        try:
            with Server("floor", f.name) as floor:
                asyncio.run(_load(sandbox.base_url, traders, 0.5, 8, state))
                asyncio.run(_load(floor.base_url, traders, 0.5, 8, state))
                speeds: dict[str, list[float]] = {"sandbox": [], "floor": []}
                errors: list[str] = []
                for r in range(rounds):
                    order = [("sandbox", sandbox), ("floor", floor)]
                    for name, server in order if r % 2 == 0 else list(reversed(order)):
                        ok, other, error = asyncio.run(_load(server.base_url, traders, seconds, 8, state))
                        speeds[name].append(ok / seconds)
                        if other:
                            errors.append(f"{name}: {other} non-200, first: {error}")
        finally:
            os.unlink(f.name)
    r = ratios(speeds["sandbox"], speeds["floor"])
    res.details["sandbox_http"] = {
        "connections": 8,
        "round_s": seconds,
        "requests_per_s": {n: summary(v) for n, v in speeds.items()},
        "ratio": summary(r),
        "errors": errors,
    }
    res.add(
        "sandbox_http_ratio",
        "6. signed POST /orders over uvicorn vs bare Starlette",
        statistics.median(r),
        best=max(r),
        target=0.8,
        better="higher",
        note=f"{statistics.median(speeds['sandbox']):.0f} vs {statistics.median(speeds['floor']):.0f} req/s"
        + (f"; {len(errors)} rounds had errors" if errors else ""),
    )


# ----------------------------------------------------------------------------- 10. fan-out to subscribers
class _Subscribers:
    """``bench/ws_fanout.py`` in a child process: ``n`` plain websockets subscribers of DEPTH BTC-PYUSD."""

    def __init__(self, ws_url: str, n: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(BENCH / "ws_fanout.py"), ws_url, str(n)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )

    def __enter__(self) -> _Subscribers:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "READY":
            self.proc.kill()
            raise RuntimeError(f"the subscribers did not start: {line!r}")
        return self

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def stop(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        self.send("STOP")
        result: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return result

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


async def _load_and_probes(
    base_url: str, traders: list[tuple[str, str, str]], seconds: float, state: dict[str, int]
) -> tuple[int, int, str, list[tuple[Decimal, float, float]]]:
    """``_load`` (8 connections) plus, on a ninth, a probe order every 20 ms at a price used once in the whole
    bench (73,200 and up): (ok, other, first error of the load, [(probe price, sent, returned)] on
    ``time.monotonic``, the clock the subscriber process stamps frames with)."""
    host, port = base_url.rsplit("/", 1)[1].split(":")
    probes: list[tuple[Decimal, float, float]] = []
    house = _keys()["HOUSE"]  # its own key, so that the probes' holds never meet the load's balances

    async def probe() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            state["probe"] = state.get("probe", 0) + 1
            price = Decimal(73200) + Decimal(state["probe"]) / 2
            sent = time.monotonic()
            status, _ = await _post_order(reader, writer, host, house, f"pr{state['probe']}", str(price))
            if status == 200:
                probes.append((price, sent, time.monotonic()))
            await asyncio.sleep(0.02)
        writer.close()

    (ok, other, error), _ = await asyncio.gather(_load(base_url, traders, seconds, 8, state), probe())
    return ok, other, error, probes


def bench_stream_fanout(res: Results) -> None:
    """Row 10: 100 DEPTH subscribers of a served sandbox (ws_coalesce=0) while signed creates flow over REST."""
    keys = _keys()
    traders = [keys["ALICE"], keys["BOB"]]
    seconds = 3.0 if not QUICK else 1.0
    subscribers = 100
    state = {"n": 0}
    delays: list[float] = []  # ms, frame received - probe order's REST call returned
    from_send: list[float] = []  # ms, frame received - probe order's REST call sent
    unseen = 0
    rates: list[float] = []
    errors: list[str] = []
    # ws_coalesce=0: every book change goes to every no-auth subscriber as it happens (the most work per order;
    # the sandbox's default, 1 s, would send one merged frame per second).
    with Server("sandbox", "--ws-coalesce", "0") as sandbox:
        ws_url = sandbox.base_url.replace("http://", "ws://") + "/api/v1"
        body = json.dumps({"external_id": "floorbody", "info": {"client_id": traders[0][2], "instrument_id": BTC, "side": "BUY", "type": "LIMIT", "qty": "0.0001", "price": "74000"}}, separators=(",", ":")).encode()  # fmt: skip
        answer = httpx.post(sandbox.base_url + ORDERS_PATH, content=body, headers={**hand_signed(traders[0], "POST", ORDERS_PATH, body), "content-type": "application/json"})  # fmt: skip
        answer.raise_for_status()
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            f.write(answer.content)
        try:
            with Server("floor", f.name) as floor:

                def load(base_url: str, name: str) -> tuple[float, list[tuple[Decimal, float, float]]]:
                    ok, other, error, probes = asyncio.run(
                        _load_and_probes(base_url, traders, seconds, state)
                    )
                    if other:
                        errors.append(f"{name}: {other} non-200, first: {error}")
                    return ok / seconds, probes

                def with_subscribers() -> float:
                    nonlocal unseen
                    with _Subscribers(ws_url, subscribers) as subs:
                        subs.send("START")
                        speed, probes = load(sandbox.base_url, "sandbox, 100 subscribers")
                        subs.send("END")
                        time.sleep(1.0)  # frames still on their way count for the probes' delays
                        result = subs.stop()
                    rates.append(result["frames"] / result["seconds"])
                    for seen in result["seen"].values():
                        first = {Decimal(p): t for p, t in seen.items()}
                        for price, sent, returned in probes:
                            if price in first:
                                delays.append((first[price] - returned) * 1e3)
                                from_send.append((first[price] - sent) * 1e3)
                            else:
                                unseen += 1
                    return speed

                load(sandbox.base_url, "warm-up")
                load(floor.base_url, "warm-up")
                errors.clear()
                speeds = interleaved(
                    {
                        "floor": lambda: load(floor.base_url, "floor")[0],
                        "sandbox": lambda: load(sandbox.base_url, "sandbox, 0 subscribers")[0],
                        "subscribed": with_subscribers,
                    },
                    _scale(3, 1),
                )
        finally:
            os.unlink(f.name)
    r0 = ratios(speeds["sandbox"], speeds["floor"])
    r100 = ratios(speeds["subscribed"], speeds["floor"])
    kept = ratios(r100, r0)
    res.details["stream_fanout"] = {
        "subscribers": subscribers,
        "ws_coalesce": 0,
        "round_s": seconds,
        "requests_per_s": {n: summary(v) for n, v in speeds.items()},
        "ratio_0_subscribers": summary(r0),
        "ratio_100_subscribers": summary(r100),
        "ratio_kept": summary(kept),
        "frames_per_s": summary(rates),
        "probe_delay_ms": {"p50": _pct(delays, 0.5), "p99": _pct(delays, 0.99), "max": max(delays)}
        if delays
        else {},
        "probe_delay_from_send_ms": {"p50": _pct(from_send, 0.5), "p99": _pct(from_send, 0.99)}
        if from_send
        else {},
        "probe_frames": len(delays),
        "probe_frames_unseen": unseen,
        "errors": errors,
    }
    res.add(
        "stream_fanout_frames",
        "10. fan-out: DEPTH frames/s received by 100 subscribers in total",
        statistics.median(rates),
        best=max(rates),
        unit="/s",
        target=None,
        better="higher",
        note=f"orders at {statistics.median(speeds['subscribed']):,.0f}/s over REST meanwhile; ws_coalesce=0",
    )
    if delays:
        res.add(
            "stream_fanout_p99",
            "10. fan-out: probe order's REST return → its DEPTH frame at a subscriber, p99",
            _pct(delays, 0.99),
            unit="ms",
            target=None,
            better="lower",
            note=f"p50 {_pct(delays, 0.5):.1f} ms; {len(delays)} (subscriber, probe) pairs, {unseen} unseen; "
            f"from the send: p99 {_pct(from_send, 0.99):.1f} ms",
        )
    res.add(
        "stream_fanout_rest",
        "10. fan-out: POST /orders vs bare Starlette, 100 subscribers / none",
        statistics.median(kept),
        best=max(kept),
        target=0.9,  # issue 16: the REST create ratio drops by no more than 10 % with subscribers
        better="higher",
        note=f"ratio to the floor {statistics.median(r0):.2f}x with none, {statistics.median(r100):.2f}x with 100"
        + (f"; {len(errors)} rounds had errors" if errors else ""),
    )


# ----------------------------------------------------------------------------------------- output
def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError):
        memory = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    from importlib import metadata

    versions = {}
    for name in ("httpx", "httpcore", "h11", "uvicorn", "starlette", "attrs", "aiohttp", "httpx-aiohttp"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "packages": versions,
        "quick": QUICK,
    }


def _fmt(value: float, unit: str) -> str:
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:,.1f} {unit}"


def table(res: Results) -> str:
    lines = [f"{'figure':<62} {'median':>11} {'best':>11} {'target':>10}  result  note", "-" * 130]
    for row in res.rows:
        target = (
            ""
            if row["target"] is None
            else ("≥ " if row["better"] == "higher" else "≤ ") + _fmt(row["target"], row["unit"])
        )
        best = "" if row["best"] is None else _fmt(row["best"], row["unit"])
        verdict = {True: "hit", False: "MISS", None: "-"}[row["hit"]]
        lines.append(
            f"{row['label']:<62} {_fmt(row['value'], row['unit']):>11} {best:>11} {target:>10}  {verdict:<6}  {row['note']}"
        )
    return "\n".join(lines)


def chart(res: Results, path: Path) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (the bench extra): no chart"
    rows = sorted((r for r in res.rows if r["target"] is not None), key=lambda r: r["label"])
    # One scale for every figure: how far it is from its target, >= 1 meaning the target is met.
    scores = [r["value"] / r["target"] if r["better"] == "higher" else r["target"] / r["value"] for r in rows]
    fig, ax = plt.subplots(figsize=(11, 0.55 * len(rows) + 1.6))
    colours = ["#2e7d32" if s >= 1 else "#c62828" for s in scores]
    y = list(range(len(rows)))[::-1]
    ax.barh(y, [min(s, 3.0) for s in scores], color=colours)  # drawn up to 3x the target; the text says all
    ax.axvline(1.0, color="black", linestyle="--", linewidth=1)
    ax.set_yticks(y, [r["label"] for r in rows], fontsize=8)
    for yi, s, r in zip(y, scores, rows, strict=True):
        sign = "≥" if r["better"] == "higher" else "≤"
        ax.text(
            min(s, 3.0),
            yi,
            f"  {_fmt(r['value'], r['unit'])} (target {sign} {_fmt(r['target'], r['unit'])})",
            va="center",
            fontsize=7,
        )
    ax.set_xlabel("measured against target (1 = target; right of the line = met)")
    ax.set_xlim(0, 4.6)
    ax.set_title("make bench: the SDK and the sandbox against their floors", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


SECTIONS = (
    "sync",
    "jwt",
    "async",
    "idle",
    "client",
    "pagination",
    "import",
    "engine",
    "durable",
    "wslatency",
    "wspath",
    "wsfanout",
    "fresh",
    "http",
)


def main() -> int:
    only = None
    if "--only" in sys.argv:
        only = set(sys.argv[sys.argv.index("--only") + 1].split(","))
    res = Results()
    failures: list[str] = []
    started = time.perf_counter()
    steps: list[tuple[str, Callable[[], None]]] = [
        ("client", lambda: bench_client_only(res)),
        ("pagination", lambda: bench_pagination(res)),
        ("sync", lambda: bench_sync(res)),
        ("jwt", lambda: bench_jwt(res)),
        ("async", lambda: bench_async(res, list_page(10))),
        ("engine", lambda: bench_engine(res)),
        ("stream", lambda: bench_stream_book(res)),
        ("wslatency", lambda: bench_stream_latency(res)),
        ("wspath", lambda: bench_stream_path(res)),
        ("durable", lambda: bench_durable(res)),
        ("fresh", lambda: (bench_fresh(res), bench_fresh_plugin(res))),
        ("http", lambda: bench_sandbox_http(res)),
        ("wsfanout", lambda: bench_stream_fanout(res)),
        ("import", lambda: bench_import(res)),
        ("idle", lambda: bench_idle(res)),
    ]
    for name, step in steps:
        if only is not None and name not in only:
            continue
        t0 = time.perf_counter()
        print(f"[bench] {name} ...", flush=True)
        try:
            step()
        except Exception:
            failures.append(f"{name}: {traceback.format_exc()}")
            print(failures[-1], file=sys.stderr)
        res.details.setdefault("section_seconds", {})[name] = round(time.perf_counter() - t0, 1)
    wall = time.perf_counter() - started
    text = table(res)
    print()
    print(text)
    hits = sum(1 for r in res.rows if r["hit"] is True)
    misses = [r["label"] for r in res.rows if r["hit"] is False]
    print(f"\n{hits} targets hit, {len(misses)} missed; {wall:.0f} s")
    out = {
        "machine": machine(),
        "wall_seconds": round(wall, 1),
        "figures": res.rows,
        "details": res.details,
        "failures": failures,
    }
    (BENCH / "results.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    problem = chart(res, BENCH / "results.png")
    print(problem or f"wrote {BENCH / 'results.json'} and {BENCH / 'results.png'}")
    return 1 if failures else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
