"""The README's picture of the sandbox's web page: a served sandbox with a little trading, in Debian's Chromium.

    .venv/bin/python scripts/web_screenshot.py [docs/img/sandbox-page.png]

Needs /usr/bin/chromium (`make browser`) and Playwright (the dev group). The orders go through the engine's
public commands, as the REST API's would.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import expect, sync_playwright

from truex_sandbox.testing import Sandbox

sys.path.insert(0, str(Path(__file__).resolve().parent))  # scripts/ is not a package
from chromium import launch

OUT = Path(__file__).resolve().parent.parent / "docs" / "img" / "sandbox-page.png"
BTC_PYUSD = "200000000000000001"


def _order(sandbox: Sandbox, client: str, side: str, qty: str, price: str, n: int) -> dict[str, Any]:
    client_id = sandbox.client_id(client)
    body = {
        "external_id": f"shot-{n}",
        "info": {
            "client_id": client_id,
            "instrument_id": BTC_PYUSD,
            "side": side,
            "type": "LIMIT",
            "qty": qty,
            "price": price,
        },
    }
    return sandbox.exchange.create_order({client_id}, body)


def main(out: Path = OUT) -> None:
    sandbox = Sandbox(ws_coalesce=0)
    with sandbox.serve():
        n = 0
        for price in ("74999", "75000.5", "75001", "75000", "75002", "75001.5"):  # inside the house's spread
            _order(sandbox, "ALICE", "BUY", "0.01", price, n := n + 1)
            _order(sandbox, "BOB", "SELL", "0.01", price, n := n + 1)
        _order(sandbox, "ALICE", "BUY", "0.05", "74950", n := n + 1)
        _order(sandbox, "ALICE", "SELL", "0.02", "75060", n := n + 1)
        sandbox.fund("ALICE", "USD", "2500")
        assert sandbox.base_url is not None
        with sync_playwright() as pw:
            browser = launch(pw)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(sandbox.base_url + "/")
                expect(page.locator("body")).to_have_attribute("data-ready", "1")
                expect(page.locator("#open-orders tbody tr")).to_have_count(2)
                expect(page.locator("#price-chart")).to_have_attribute("data-points", "6")
                out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out), full_page=True)
            finally:
                browser.close()
    sandbox.close()
    print(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
