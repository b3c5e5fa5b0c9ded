"""The servers ``make bench`` measures against, each in a process of its own (so that the client measured and
the server never share a GIL): prints ``PORT <n>`` once it accepts connections, serves until killed.

    python bench/serve.py sandbox [--tls CERT KEY] [--ws-coalesce S]   # the sandbox app (default seed), uvicorn
    python bench/serve.py floor BODY_FILE            # bare Starlette: POST /v1/cefi/orders -> BODY_FILE's bytes
    python bench/serve.py canned BODY_FILE           # raw asyncio: any request -> 200 with BODY_FILE's bytes
    python bench/serve.py ws-replay N                # WebSocket: N DEPTH updates per connection (ws_replay.py)

uvicorn keeps idle connections 75 s here (``timeout_keep_alive``), as a load balancer in front of an exchange
typically does (nginx 75 s, AWS ALB 60 s), instead of uvicorn's own 5 s, so that the idle-connection figure
measures the client's choice and not the server's. The ``canned`` server does no HTTP work beyond finding the
end of each request, so a client driving it is the bottleneck: it is how client throughput is measured.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import uvicorn

# The sandbox's own listening socket (``IPPROTO_TCP``, so that asyncio sets ``TCP_NODELAY``: with a proto-0
# socket uvicorn's two writes per answer met Nagle and the client's delayed ACK, 40 ms per kept-alive call).
from truex_sandbox.server import WS_OPTIONS, bind_socket

KEEP_ALIVE_S = 75


def _uvicorn(app: Any, tls: tuple[str, str] | None = None) -> None:
    sock = bind_socket("127.0.0.1", 0)
    tls_args: dict[str, Any] = {"ssl_certfile": tls[0], "ssl_keyfile": tls[1]} if tls else {}
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_keep_alive=KEEP_ALIVE_S,
        **WS_OPTIONS,  # as truex-sandbox serves
        **tls_args,
    )
    server = uvicorn.Server(config)

    async def run() -> None:
        task = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        print(f"PORT {sock.getsockname()[1]}", flush=True)
        await task

    asyncio.run(run())


def _sandbox(tls: tuple[str, str] | None, ws_coalesce: float | None = None) -> None:
    from truex_sandbox.app import create_app

    _uvicorn(create_app() if ws_coalesce is None else create_app(ws_coalesce=ws_coalesce), tls)


def _floor(body: bytes) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def create_order(request: Request) -> Response:
        await request.body()
        return Response(body, media_type="application/json")

    _uvicorn(Starlette(routes=[Route("/v1/cefi/orders", create_order, methods=["POST"])]))


class _Canned(asyncio.Protocol):
    response = b""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            length = 0
            at = head.find(b"content-length:")
            if at >= 0:
                length = int(head[at + 15 :].split(b"\r\n", 1)[0])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(self.response)


def _canned(body: bytes) -> None:
    _Canned.response = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-truex-version: v2026_01_23\r\n"
        b"x-request-id: canned\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )

    async def run() -> None:
        loop = asyncio.get_running_loop()
        sock = bind_socket("127.0.0.1", 0)
        server = await loop.create_server(_Canned, sock=sock)
        print(f"PORT {sock.getsockname()[1]}", flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(run())


def main(argv: list[str]) -> None:
    mode = argv[0]
    if mode == "sandbox":
        tls = (argv[argv.index("--tls") + 1], argv[argv.index("--tls") + 2]) if "--tls" in argv else None
        coalesce = float(argv[argv.index("--ws-coalesce") + 1]) if "--ws-coalesce" in argv else None
        _sandbox(tls, coalesce)
    elif mode == "floor":
        with open(argv[1], "rb") as f:
            _floor(f.read())
    elif mode == "canned":
        with open(argv[1], "rb") as f:
            _canned(f.read())
    elif mode == "ws-replay":
        import ws_replay  # bench/ is the script's directory, so on sys.path

        ws_replay.main(int(argv[1]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
