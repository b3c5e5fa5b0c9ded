"""The subscribers of the fan-out row of ``make bench`` (section ``wsfanout``), in a process of their own.

    python bench/ws_fanout.py WS_URL N

opens ``N`` plain ``websockets`` connections, each subscribed (``SUBSCRIBE_NO_AUTH``) to DEPTH BTC-PYUSD, and
prints ``READY`` once every one has its snapshot. It then follows commands on stdin, one per line:

* ``START`` / ``END``: count the DEPTH frames received between them (over all connections);
* ``STOP``: print one JSON line and exit: ``frames``, ``seconds`` (END - START) and ``seen``, the first
  ``time.monotonic()`` at which each connection received a bid level of each probe price (a price matching
  ``PROBE``, which only the bench's probe orders use).

``time.monotonic()`` is CLOCK_MONOTONIC, one clock for every process of the machine, so the bench process
subtracts its own REST send and return times from these.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time

# Probe orders rest at 73,200 .. 73,999.5 (inside BTC-PYUSD's price band, below the load's 74,000 .. 74,899.5
# and the market maker's asks). The sandbox writes frames with json.dumps' default separators.
PROBE = re.compile(r'"price": "(73\d\d\d(?:\.5)?)"')
REQUEST = {"type": "SUBSCRIBE_NO_AUTH", "channels": ["DEPTH"], "item_names": ["BTC-PYUSD"]}


async def _subscriber(url: str, index: int, ready: asyncio.Event, state: dict, synced: list[int]) -> None:
    from websockets.asyncio.client import connect

    seen: dict[str, float] = state["seen"].setdefault(index, {})
    async with connect(url, max_size=2**24) as ws:
        await ws.recv()  # WELCOME
        await ws.send(json.dumps({**REQUEST, "timestamp": str(int(time.time()))}))
        while True:
            frame = await ws.recv()
            if '"SNAPSHOT_COMPLETE"' in frame:
                break
        synced[0] += 1
        if synced[0] == state["n"]:
            ready.set()
        while True:
            frame = await ws.recv()
            now = time.monotonic()
            if state["counting"]:
                state["frames"] += 1
            for price in PROBE.findall(frame):
                seen.setdefault(price, now)


async def main(url: str, n: int) -> None:
    state: dict = {"n": n, "seen": {}, "frames": 0, "counting": False}
    ready = asyncio.Event()
    synced = [0]
    tasks = [asyncio.ensure_future(_subscriber(url, i, ready, state, synced)) for i in range(n)]
    waiting = asyncio.ensure_future(ready.wait())
    done, _ = await asyncio.wait([waiting, *tasks], return_when=asyncio.FIRST_COMPLETED)
    if waiting not in done:
        next(iter(done)).result()  # a subscriber failed: say why
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    started = ended = 0.0
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if line == "START":
            state["frames"], state["counting"], started = 0, True, time.monotonic()
        elif line == "END":
            state["counting"], ended = False, time.monotonic()
        elif line in ("STOP", ""):
            break
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    seen = {str(i): s for i, s in state["seen"].items()}
    print(json.dumps({"frames": state["frames"], "seconds": ended - started, "seen": seen}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
