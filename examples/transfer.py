"""Move funds: a deposit onto or a withdrawal from the exchange, then wait until it is final.

    python examples/transfer.py DEPOSIT BTC 0.5 [--platform INTERNAL]
    python examples/transfer.py WITHDRAW PYUSD 100

The asset is given by name; the client id comes from the key (or TRUEX_CLIENT_ID). A withdrawal above the
available balance is REJECTED by the exchange: the script says so and exits 1.
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal

from truex_ext import Truex
from truex_ext.helpers import named_balances
from truex_ext.types import TransferNew, TransferPlatform, TransferStatus, TransferType

FINAL = {TransferStatus.COMPLETED, TransferStatus.FAILED, TransferStatus.REJECTED}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("type", choices=["DEPOSIT", "WITHDRAW"])
    parser.add_argument("asset", help="asset name, e.g. BTC")
    parser.add_argument("amount", type=Decimal)
    parser.add_argument("--platform", choices=[p.value for p in TransferPlatform], default="INTERNAL")
    parser.add_argument("--wait", type=float, default=10.0, help="seconds to wait for a final status")
    args = parser.parse_args()

    with Truex() as client:
        request = TransferNew(
            asset_id=client.assets.id_of(args.asset),
            client_id=client.resolve_client_id(),
            platform=TransferPlatform(args.platform),
            type_=TransferType(args.type),
            amount=args.amount,
        )
        transfer = client.transfers.create(request=request)
        print(f"transfer {transfer.id}: {transfer.status.value}")
        deadline = time.monotonic() + args.wait
        since = str(time.time_ns() - 3600 * 10**9)
        while transfer.status not in FINAL and time.monotonic() < deadline:
            time.sleep(0.2)
            recent = client.transfers.list(timestamp=since, size=100)
            transfer = next((t for t in recent if t.id == transfer.id), transfer)
        print(f"transfer {transfer.id}: {transfer.status.value}")
        for row in named_balances(client):
            if row.asset == args.asset:
                print(f"{row.asset} balance: {row.balance.balance}")
        return 1 if transfer.status in (TransferStatus.FAILED, TransferStatus.REJECTED) else 0


if __name__ == "__main__":
    raise SystemExit(main())
