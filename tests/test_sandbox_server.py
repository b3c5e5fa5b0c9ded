"""The sandbox over real HTTP: serve_in_thread, the ``truex-sandbox`` command, and the README's curl snippet."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sandbox_support import V2026, Creds, Signer, creds_of, sign

from truex_sandbox.app import create_app
from truex_sandbox.engine import Exchange
from truex_sandbox.seed import default_seed
from truex_sandbox.server import banner, serve_in_thread

ROOT = Path(__file__).resolve().parent.parent


def test_serve_in_thread_serves_real_http() -> None:
    app = create_app()
    alice = creds_of(app.state.exchange, "ALICE")
    with serve_in_thread(app) as server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.base_url)
        assert server.exchange is app.state.exchange
        with httpx.Client(
            base_url=server.base_url, auth=Signer(alice), headers={"X-Truex-Version": V2026}
        ) as c:
            assert c.get("/api/v1/health").json()["data"]["status"] == "healthy"
            body = {
                "external_id": "http-1",
                "info": {
                    "client_id": alice.client_id,
                    "instrument_id": "200000000000000001",
                    "qty": "0.01",
                    "price": "74000",
                    "side": "BUY",
                    "type": "LIMIT",
                },
            }
            created = c.post(
                "/api/v1/orders", content=json.dumps(body), headers={"content-type": "application/json"}
            )
            assert created.status_code == 200, created.text
            # A client order id with RFC 3986 unreserved characters, by client id, over the wire.
            status = c.get("/api/v1/orders/status/http-1", params={"id_type": "client"})
            assert status.status_code == 200, status.text
            assert status.json()["data"][0]["id"] == created.json()["data"]["id"]
            assert c.get("/api/v1/balances", params={"asset_name": "PYUSD"}).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.base_url + "/api/v1/health", timeout=2)


def test_two_servers_get_two_ports() -> None:
    with serve_in_thread() as one, serve_in_thread() as two:
        assert one.port != two.port
        assert httpx.get(one.base_url + "/api/v1/health").status_code == 200
        assert httpx.get(two.base_url + "/api/v1/health").status_code == 200


def test_banner_shows_each_secret_once() -> None:
    exchange = Exchange(default_seed())
    text = banner("http://127.0.0.1:8765", exchange)
    for key in exchange.seed.api_keys:
        assert text.count(key.secret) == 1
        assert key.key_id in text
    assert "300000000000000001  (ALICE)" in text
    assert "  web page:  http://127.0.0.1:8765/ " in text  # the page's address (issue 17)


def _read_banner(process: subprocess.Popen[str], deadline: float) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if len([entry for entry in lines if entry.strip().startswith("client:")]) == 3 and not line.strip():
            return lines
    raise AssertionError("no complete banner: " + "\n".join(lines))


def _parse_banner(lines: list[str]) -> tuple[str, list[Creds]]:
    base_url = re.search(r"listening on (\S+)", lines[0])
    assert base_url is not None, lines
    found: list[Creds] = []
    key_id = secret = ""
    for line in lines:
        entry = line.strip()
        if entry.startswith("key id:"):
            key_id = entry.split(":", 1)[1].strip()
        elif entry.startswith("secret:"):
            secret = entry.split(":", 1)[1].strip()
        elif entry.startswith("client:"):
            found.append(Creds(key_id, secret, entry.split()[1]))
    return base_url.group(1), found


@pytest.mark.parametrize("how", ["module", "function"])
def test_the_command_prints_a_banner_and_serves(tmp_path: Path, how: str) -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    db = tmp_path / "sandbox.db"
    if how == "module":
        argv = [
            sys.executable,
            "-m",
            "truex_sandbox",
            "--port",
            "0",
            "--db",
            str(db),
            "--log-level",
            "warning",
        ]
    else:  # the console-script entry point, main(argv)
        code = "import sys; from truex_sandbox.__main__ import main; sys.exit(main(sys.argv[1:]))"
        argv = [sys.executable, "-c", code, "--port", "0", "--log-level", "warning"]
    process = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        lines = _read_banner(process, time.monotonic() + 30)
        base_url, keys = _parse_banner(lines)
        port = int(base_url.rsplit(":", 1)[1])
        assert port > 0 and port != 8765  # --port 0 prints the real port
        assert [k.client_id for k in keys] == [
            "300000000000000001",
            "300000000000000002",
            "300000000000000003",
        ]
        alice = keys[0]
        ts = str(int(time.time()))
        headers = {
            "x-truex-auth-token": alice.key_id,
            "x-truex-auth-userid": alice.client_id,
            "x-truex-auth-timestamp": ts,
            "x-truex-auth-signature": sign(alice.secret, ts, "GET", "/api/v1/balances"),
            "X-Truex-Version": V2026,
        }
        response = httpx.get(base_url + "/api/v1/balances", headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        assert response.json()["data"][0]["id"] == alice.client_id
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    everything = "\n".join(lines) + out + err
    for key in keys:
        assert everything.count(key.secret) == 1  # the banner is the only place a secret appears
    if how == "module":
        assert db.exists()


def test_the_command_refuses_a_bad_seed(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text("{}")
    result = subprocess.run(
        [sys.executable, "-m", "truex_sandbox", "--port", "0", "--seed", str(seed)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("truex-sandbox: seed:")


def _readme_snippet() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- sandbox-curl -->\s*```sh\n(.*?)```", text, re.DOTALL)
    assert match, "README.md lost its signed curl example"
    return match.group(1)


@pytest.mark.skipif(not (shutil.which("openssl") and shutil.which("curl")), reason="needs openssl and curl")
def test_the_readme_curl_example_gets_a_balance() -> None:
    app = create_app()
    bob = creds_of(app.state.exchange, "BOB")  # BOB's secret starts with "-": a fair test of the quoting
    with serve_in_thread(app) as server:
        env = dict(
            os.environ,
            TRUEX_BASE_URL=server.base_url,
            TRUEX_API_KEY=bob.key_id,
            TRUEX_API_SECRET=bob.secret,
            TRUEX_CLIENT_ID=bob.client_id,
        )
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", _readme_snippet()],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    body: Any = json.loads(result.stdout)
    balances = body["data"][0]["balances"]
    assert body["data"][0]["id"] == bob.client_id
    assert [(b["asset_id"], b["balance"]) for b in balances] == [("100000000000000003", "10")]
