"""Download the published TrueX OpenAPI description into openapi/upstream/.

The body is checked (complete, parses as YAML or JSON, looks like an OpenAPI 3.x
description) before it replaces the local copy atomically, so a failed fetch never
leaves a half-written or bogus file behind. Failures print one line to stderr and
exit 1 (2 for bad usage).

    python scripts/fetch_spec.py [--url URL] [--output PATH] [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

import httpx
import yaml

PROG = "fetch_spec"
REPO_ROOT = Path(__file__).resolve().parent.parent
# Assumption: this is where the docs page's "Download OpenAPI description" link points
# (the Redocly bundle path for the CeFi Direct REST v1 API). Override with --url or
# TRUEX_SPEC_URL if the docs site moves it.
DEFAULT_URL = "https://docs.truemarkets.co/_bundle/apis/cefi-direct/rest/v1.yaml"
URL_ENV = "TRUEX_SPEC_URL"
DEFAULT_OUTPUT = REPO_ROOT / "openapi" / "upstream" / "truex.yaml"
DEFAULT_TIMEOUT = 20.0
NEW_FILE_MODE = 0o644  # NamedTemporaryFile creates 0600; a fresh spec file should be world-readable.


class FetchError(Exception):
    """A failure worth one line on stderr; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class SpecSummary(NamedTuple):
    version: str
    paths: int


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message} (see --help)\n")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(prog=PROG, description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", help=f"spec URL (default: ${URL_ENV}, else {DEFAULT_URL})")
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="file to write (default: %(default)s)"
    )
    parser.add_argument(
        "--timeout", type=_positive_float, default=DEFAULT_TIMEOUT, help="seconds (default: %(default)g)"
    )
    return parser.parse_args(argv)


def resolve_url(cli_url: str | None) -> str:
    """--url wins over $TRUEX_SPEC_URL, which wins over the default; must be http(s)."""
    url = cli_url or os.environ.get(URL_ENV) or DEFAULT_URL
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchError(f"invalid URL {url!r}: {exc}", code=2) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise FetchError(f"not an http(s) URL: {url!r}", code=2)
    return url


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _check_complete(response: httpx.Response, body: bytes, url: str) -> None:
    declared = response.headers.get("content-length", "").strip()
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    # With a content-coding, Content-Length counts the compressed bytes (h11 enforces that on the wire).
    if not declared.isdigit() or encoding not in ("", "identity"):
        return
    if len(body) < int(declared):
        raise FetchError(
            f"truncated body: got {len(body)} of {declared} bytes (per Content-Length) fetching {url}"
        )


def fetch(url: str, timeout: float, transport: httpx.BaseTransport | None = None) -> bytes:
    """Return the complete body of a 2xx response, or raise FetchError."""
    headers = {"Accept": "application/yaml, application/json;q=0.9, */*;q=0.1"}
    try:
        with (
            httpx.Client(
                transport=transport, timeout=timeout, follow_redirects=True, headers=headers
            ) as client,
            client.stream("GET", url) as response,
        ):
            if not response.is_success:
                raise FetchError(
                    f"HTTP {response.status_code} {response.reason_phrase} fetching {url}".strip()
                )
            body = response.read()
            _check_complete(response, body, url)
            return body
    except httpx.TimeoutException:
        raise FetchError(f"timed out after {timeout:g}s fetching {url}") from None
    except httpx.ConnectError as exc:
        raise FetchError(f"cannot connect fetching {url}: {_one_line(exc)}") from None
    except httpx.TooManyRedirects:
        raise FetchError(f"too many redirects fetching {url}") from None
    except httpx.DecodingError as exc:
        raise FetchError(f"corrupt response body fetching {url}: {_one_line(exc)}") from None
    except httpx.HTTPError as exc:  # RemoteProtocolError (e.g. body cut short), ReadError, ...
        raise FetchError(f"transfer failed fetching {url}: {_one_line(exc)}") from None


def _parse(body: bytes, url: str) -> Any:
    if body.lstrip().startswith(b"<"):
        raise FetchError(f"got an HTML/XML page, not an OpenAPI description, from {url}")
    try:
        return yaml.safe_load(body)
    except yaml.MarkedYAMLError as exc:
        where = f" at line {exc.problem_mark.line + 1}" if exc.problem_mark else ""
        raise FetchError(
            f"body from {url} does not parse as YAML/JSON (truncated?): {exc.problem}{where}"
        ) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise FetchError(f"body from {url} does not parse as YAML/JSON: {_one_line(exc)}") from None


def check_spec(body: bytes, url: str) -> SpecSummary:
    """Require a mapping with ``openapi: "3.x..."`` and ``info`` / ``paths`` mappings."""
    doc = _parse(body, url)
    bad = f"body from {url} is not an OpenAPI 3 description"
    if not isinstance(doc, dict):
        raise FetchError(f"{bad}: top level is {type(doc).__name__}, not a mapping")
    version = doc.get("openapi")
    if not isinstance(version, str) or not version.startswith("3."):
        raise FetchError(f"{bad}: 'openapi' is {version!r}, expected a string starting with '3.'")
    for key in ("info", "paths"):
        if not isinstance(doc.get(key), dict):
            raise FetchError(f"{bad}: '{key}' is missing or not a mapping")
    return SpecSummary(version, len(doc["paths"]))


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(target: Path, data: bytes) -> None:
    """Write via a temp file in the target's directory + fsync + os.replace; never half-write."""
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = target.stat().st_mode & 0o7777 if target.is_file() else NEW_FILE_MODE
    tmp_name = ""
    try:
        with tempfile.NamedTemporaryFile(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False
        ) as tmp:
            tmp_name = tmp.name
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except BaseException:
        if tmp_name:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
        raise
    _fsync_dir(target.parent)


def run(url: str, output: Path, timeout: float, transport: httpx.BaseTransport | None) -> str:
    body = fetch(url, timeout, transport)
    summary = check_spec(body, url)
    try:
        write_atomic(output, body)
    except OSError as exc:
        raise FetchError(f"cannot write {output}: {exc.strerror or _one_line(exc)}") from None
    return f"wrote {output} ({len(body)} bytes, OpenAPI {summary.version}, {summary.paths} paths)"


def main(argv: list[str] | None = None, *, transport: httpx.BaseTransport | None = None) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else 2
    try:
        url = resolve_url(args.url)
        message = run(url, args.output, args.timeout, transport)
    except FetchError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.code
    print(f"{PROG}: {message}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
