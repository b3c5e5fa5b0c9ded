"""A server that misbehaves after the headers cannot hold a call (issue 13): sync and async.

A small asyncio HTTP server on a free loopback port answers ``GET /v1/cefi/health`` the way the test asks:
a body trickled a byte at a time, an endless chunked body (fast or slow), or a huge declared length. The
call must end with a typed error: :class:`APITimeoutError` when the whole response does not arrive within
the timeout (or the total deadline across retries), :class:`ResponseTooLargeError` past
``max_response_bytes``. No timing is asserted beyond "it ended" (small deadlines, generous test timeouts).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from truex_ext import APITimeoutError, AsyncTruex, ResponseTooLargeError, RetryPolicy, Truex

HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"


class Misbehaving:
    """The server; ``mode`` says how the next responses misbehave."""

    def __init__(self) -> None:
        self.mode = "trickle"
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.AbstractServer | None = None

    def __enter__(self) -> Misbehaving:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: Any) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            if self.mode == "trickle":  # a valid body, one byte every 50 ms
                body = b'{"data": {"status": "healthy", "timestamp": "x", "service": "' + b"x" * 200 + b'"}}'
                writer.write(HEAD + b"content-length: %d\r\n\r\n" % len(body))
                for byte in body:
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(0.05)
            elif self.mode in ("endless", "endless-slow"):  # chunked, never a last chunk
                writer.write(HEAD + b"transfer-encoding: chunked\r\n\r\n")
                chunk = b"x" * 65536
                while True:
                    writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    await writer.drain()
                    await asyncio.sleep(0.05 if self.mode == "endless-slow" else 0)
            elif self.mode == "huge":  # a 300 MiB body announced (and sent, if anyone reads it)
                writer.write(HEAD + b"content-length: %d\r\n\r\n" % (300 * 1024 * 1024))
                chunk = b"x" * 65536
                while True:
                    writer.write(chunk)
                    await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


@pytest.fixture(scope="module")
def server() -> Iterator[Misbehaving]:
    with Misbehaving() as s:
        yield s


CASES = [
    # mode, client options, the error
    ("trickle", {"timeout": 0.5, "max_retries": 0}, APITimeoutError),
    ("endless-slow", {"timeout": 0.5, "max_retries": 0}, APITimeoutError),
    ("endless", {"timeout": 30, "max_retries": 0, "max_response_bytes": 1024 * 1024}, ResponseTooLargeError),
    ("huge", {"timeout": 30, "max_retries": 0}, ResponseTooLargeError),  # the default cap, 64 MiB
    # Retried timeouts stop at the total deadline, whatever the per-attempt timeout.
    (
        "trickle",
        {"timeout": 30, "retry_policy": RetryPolicy(total_deadline=0.7, jitter=(0.0, 0.0))},
        APITimeoutError,
    ),
]
IDS = ["trickle", "endless-slow", "endless-capped", "huge-declared", "total-deadline"]


@pytest.mark.parametrize(("mode", "options", "error"), CASES, ids=IDS)
def test_sync_call_ends_with_a_typed_error(
    server: Misbehaving, mode: str, options: dict[str, Any], error: type[Exception]
) -> None:
    server.mode = mode
    with Truex(base_url=server.url, environ={}, **options) as client, pytest.raises(error):
        client.service.health()


@pytest.mark.parametrize(("mode", "options", "error"), CASES, ids=IDS)
def test_async_call_ends_with_a_typed_error(
    server: Misbehaving, mode: str, options: dict[str, Any], error: type[Exception]
) -> None:
    server.mode = mode

    async def go() -> None:
        async with AsyncTruex(base_url=server.url, environ={}, **options) as client:
            with pytest.raises(error):
                await client.service.health()

    asyncio.run(go())


def test_the_default_cap_is_documented() -> None:
    from truex_ext import DEFAULT_MAX_RESPONSE_BYTES

    assert DEFAULT_MAX_RESPONSE_BYTES == 64 * 1024 * 1024
    assert Truex(environ={})._config.max_response_bytes == DEFAULT_MAX_RESPONSE_BYTES
