"""Tests for scripts/fetch_spec.py. No network: every request goes to an httpx.MockTransport."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "fetch_spec.py"
URL = "https://spec.example.test/openapi.yaml"

SPEC_YAML = b"""\
openapi: 3.1.0
info:
  title: TrueX
  version: '1'
paths:
  /api/v1/instrument:
    get:
      responses:
        '200':
          description: ok
  /api/v1/order:
    post:
      responses:
        '200':
          description: ok
"""
SPEC_JSON = json.dumps(
    {"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": {"/a": {}}}
).encode()
OLD_CONTENT = b"old copy \x00\xff -- must survive failures byte for byte\n"

Handler = Callable[[httpx.Request], httpx.Response]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fetch_spec", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fetch_spec = _load()


@pytest.fixture(autouse=True)
def _no_env_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRUEX_SPEC_URL", raising=False)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    target = tmp_path / "upstream" / "truex.yaml"
    target.parent.mkdir()
    target.write_bytes(OLD_CONTENT)
    return target


def _serve(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, content=body)

    return httpx.MockTransport(handler)


def _raise(exc_type: type[httpx.TransportError], message: str) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc_type(message, request=request)

    return httpx.MockTransport(handler)


def _streamed(chunks: list[bytes], headers: dict[str, str]) -> httpx.MockTransport:
    """A response whose body arrives as a stream, so httpx does not fix up Content-Length."""

    def handler(request: httpx.Request) -> httpx.Response:
        def body() -> Iterator[bytes]:
            yield from chunks

        return httpx.Response(200, headers=headers, content=body())

    return httpx.MockTransport(handler)


def _run(
    out: Path, transport: httpx.BaseTransport, *extra: str, url: str | None = URL
) -> tuple[int, list[str]]:
    """Run main(); return the exit code and the names now in the output directory."""
    args = ["--output", str(out), *extra]
    if url is not None:
        args += ["--url", url]
    code = fetch_spec.main(args, transport=transport)
    return code, sorted(p.name for p in out.parent.iterdir())


def _assert_failed(
    capsys: pytest.CaptureFixture[str], out: Path, result: tuple[int, list[str]], *needles: str
) -> str:
    """Exit 1, one stderr line containing every needle, old file intact, no stray temp files."""
    code, names = result
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    line = lines[0]
    assert line.startswith("fetch_spec: error: ")
    assert "Traceback" not in captured.err
    for needle in needles:
        assert needle in line, line
    assert out.read_bytes() == OLD_CONTENT
    assert names == [out.name], f"stray files: {names}"
    return line


# --- success -------------------------------------------------------------------------------------


def test_success_replaces_file_and_reports(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=SPEC_YAML, headers={"Content-Type": "application/yaml"})

    code, names = _run(out, httpx.MockTransport(handler))
    captured = capsys.readouterr()
    assert code == 0
    assert captured.err == ""
    assert captured.out == f"fetch_spec: wrote {out} ({len(SPEC_YAML)} bytes, OpenAPI 3.1.0, 2 paths)\n"
    assert out.read_bytes() == SPEC_YAML
    assert names == [out.name]
    assert [str(r.url) for r in seen] == [URL]


def test_success_json_body_written_verbatim_into_new_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "a" / "b" / "spec.json"
    code = fetch_spec.main(["--output", str(target), "--url", URL], transport=_serve(SPEC_JSON))
    assert code == 0
    assert target.read_bytes() == SPEC_JSON
    assert "OpenAPI 3.0.3, 1 paths" in capsys.readouterr().out
    assert sorted(p.name for p in target.parent.iterdir()) == ["spec.json"]


def test_success_uses_atomic_replace(
    out: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[tuple[str, str]] = []
    real_replace = fetch_spec.os.replace

    def spy(src: str, dst: str | Path) -> None:
        calls.append((str(src), str(dst)))
        assert Path(src).parent == out.parent  # temp file lives next to the target
        assert Path(src).read_bytes() == SPEC_YAML
        assert out.read_bytes() == OLD_CONTENT  # target untouched until the rename
        real_replace(src, dst)

    monkeypatch.setattr(fetch_spec.os, "replace", spy)
    assert _run(out, _serve(SPEC_YAML))[0] == 0
    assert len(calls) == 1 and calls[0][1] == str(out)
    assert out.read_bytes() == SPEC_YAML


def test_failed_replace_cleans_up_temp_file(
    out: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(src: str, dst: str | Path) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(fetch_spec.os, "replace", boom)
    _assert_failed(capsys, out, _run(out, _serve(SPEC_YAML)), "cannot write", "Permission denied")


def test_unwritable_output_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_bytes(b"x")
    code = fetch_spec.main(
        ["--output", str(blocker / "spec.yaml"), "--url", URL], transport=_serve(SPEC_YAML)
    )
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("fetch_spec: error: cannot write")
    assert blocker.read_bytes() == b"x"


# --- URL selection -------------------------------------------------------------------------------


def _recording() -> tuple[httpx.MockTransport, list[str]]:
    urls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        return httpx.Response(200, content=SPEC_YAML)

    return httpx.MockTransport(handler), urls


def test_url_from_env(out: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TRUEX_SPEC_URL", "https://env.example.test/spec.yaml")
    transport, urls = _recording()
    assert _run(out, transport, url=None)[0] == 0
    assert urls == ["https://env.example.test/spec.yaml"]


def test_cli_url_beats_env(
    out: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRUEX_SPEC_URL", "https://env.example.test/spec.yaml")
    transport, urls = _recording()
    assert _run(out, transport, url="https://cli.example.test/spec.yaml")[0] == 0
    assert urls == ["https://cli.example.test/spec.yaml"]


def test_default_url(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    transport, urls = _recording()
    assert _run(out, transport, url=None)[0] == 0
    assert urls == [fetch_spec.DEFAULT_URL]


def test_default_output_is_under_repo_root() -> None:
    assert SCRIPT.parent.parent / "openapi" / "upstream" / "truex.yaml" == fetch_spec.DEFAULT_OUTPUT


# --- network failures ----------------------------------------------------------------------------


def test_connection_error(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = _run(out, _raise(httpx.ConnectError, "[Errno -2] Name or service not known"))
    _assert_failed(capsys, out, result, "cannot connect", URL, "Name or service not known")


def test_timeout(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = _run(out, _raise(httpx.ReadTimeout, "The read operation timed out"), "--timeout", "7.5")
    line = _assert_failed(capsys, out, result)
    assert line == f"fetch_spec: error: timed out after 7.5s fetching {URL}"


def test_timeout_default_is_20s(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _assert_failed(capsys, out, _run(out, _raise(httpx.ConnectTimeout, "")), "timed out after 20s")


@pytest.mark.parametrize(("status", "reason"), [(404, "Not Found"), (500, "Internal Server Error")])
def test_http_error_status(out: Path, capsys: pytest.CaptureFixture[str], status: int, reason: str) -> None:
    result = _run(out, _serve(SPEC_YAML, status=status))
    _assert_failed(capsys, out, result, f"HTTP {status} {reason}", URL)


def test_truncated_body_content_length(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    half = SPEC_YAML[:40]
    transport = _streamed([half], {"Content-Length": str(len(SPEC_YAML))})
    result = _run(out, transport)
    _assert_failed(capsys, out, result, "truncated", f"got 40 of {len(SPEC_YAML)} bytes")


def test_truncated_body_raised_by_httpx(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # What a real connection raises (via h11) when the peer closes before Content-Length bytes arrived.
    message = "peer closed connection without sending complete message body (received 40 bytes, expected 300)"
    result = _run(out, _raise(httpx.RemoteProtocolError, message))
    _assert_failed(capsys, out, result, "transfer failed", "peer closed connection")


def test_body_cut_mid_yaml(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cut = b'openapi: 3.1.0\ninfo:\n  title: "TrueX\n'  # stops inside a quoted scalar
    _assert_failed(capsys, out, _run(out, _serve(cut)), "does not parse", "YAML")


def test_body_cut_mid_json(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _assert_failed(capsys, out, _run(out, _serve(SPEC_JSON[: len(SPEC_JSON) // 2])), "does not parse")


def test_body_cut_but_still_parses_is_rejected(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cut = SPEC_YAML.split(b"paths:")[0]  # valid YAML, but the paths never arrived
    _assert_failed(capsys, out, _run(out, _serve(cut)), "not an OpenAPI 3 description", "'paths'")


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html>\n<html><head><title>Docs</title></head><body>a: b</body></html>\n",
        b"  <html>\n<body>\n<p>Not found</p>\n</body></html>",
    ],
)
def test_html_body(out: Path, capsys: pytest.CaptureFixture[str], body: bytes) -> None:
    transport = _serve(body, headers={"Content-Type": "text/html"})
    _assert_failed(capsys, out, _run(out, transport), "HTML")


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"openapi": "2.0", "info": {}, "paths": {}}, "'openapi' is '2.0'"),
        ({"swagger": "2.0", "info": {}, "paths": {}}, "'openapi' is None"),
        ({"openapi": 3.1, "info": {}, "paths": {}}, "'openapi' is 3.1"),
        ({"openapi": "3.1.0", "info": {}}, "'paths' is missing"),
        ({"openapi": "3.1.0", "paths": {}}, "'info' is missing"),
        ({"openapi": "3.1.0", "info": {}, "paths": []}, "'paths' is missing or not a mapping"),
        (["openapi", "3.1.0"], "top level is list"),
        ("just a string", "top level is str"),
        (None, "top level is NoneType"),
    ],
)
def test_json_but_not_openapi(
    out: Path, capsys: pytest.CaptureFixture[str], doc: object, needle: str
) -> None:
    transport = _serve(json.dumps(doc).encode(), headers={"Content-Type": "application/json"})
    _assert_failed(capsys, out, _run(out, transport), "not an OpenAPI 3 description", needle)


def test_empty_body(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _assert_failed(capsys, out, _run(out, _serve(b"")), "not an OpenAPI 3 description")


# --- usage errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["--timeout", "soon"], ["--timeout", "0"], ["--bogus"], ["--url", "ftp://example.test/x.yaml"]],
)
def test_bad_usage_exits_2(out: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("must not fetch")

    code = fetch_spec.main(["--output", str(out), *args], transport=httpx.MockTransport(handler))
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("fetch_spec: error: ")
    assert out.read_bytes() == OLD_CONTENT


def test_bad_env_url_exits_2(
    out: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRUEX_SPEC_URL", "not a url")
    code = fetch_spec.main(["--output", str(out)], transport=_serve(SPEC_YAML))
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert len(err) == 1 and "not a url" in err[0]
