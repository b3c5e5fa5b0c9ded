"""Debian's Chromium as the browser checks start it (tests/test_web_page.py, scripts/web_screenshot.py).

The binary comes from the system's packages (``make browser``), never from a Playwright download, which
cannot be fetched here. Without the background-networking flags Chromium's own connections are refused by
the closed network, many at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def launch(playwright: Any) -> Any:
    """A headless Chromium for ``playwright`` (a ``sync_playwright()`` instance), with a fresh temporary profile
    (``launch()`` makes one per browser and removes it on close)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=list(FLAGS))
