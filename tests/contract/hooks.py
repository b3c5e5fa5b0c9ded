"""Schemathesis hooks for the CLI contract run against a served sandbox (``make contract``).

Loaded with ``SCHEMATHESIS_HOOKS=contract.hooks`` (``PYTHONPATH=tests``) by ``scripts/contract.sh``. They
give the CLI run what the in-process suite (``tests/test_contract.py``) does in Python:

- the HMAC signer, as a ``requests`` auth over the exact bytes sent (``schemathesis.auth.set_from_requests``);
  credentials from ``TRUEX_API_KEY`` / ``TRUEX_API_SECRET`` / ``TRUEX_CLIENT_ID`` (the script reads them
  from the server's banner), else ALICE of the default seed;
- the API version pin (``TRUEX_CONTRACT_VERSION``, default ``v2026_01_23``) and the data steering, before
  each call; the steering learns the caller's orders after each call;
- the three checks of ``tests/contract/support.py``;
- two kinds of failure are dropped (the CLI counts them, "dropped by filter_failure"):
  ``response_schema_conformance`` (the spec's v2026_01_23 bodies) on a request *not* sent in v2026_01_23 -
  an invalid version header the fuzzer made, or a ``v2024_01_01`` run - whose body
  ``v2024_body_conformance`` checks instead; and the ``Allow`` header exception of ``schemathesis.toml``
  (``support.is_shadowed_delete``, ``support.is_legacy_only_method``), which ``--checks all`` would otherwise
  override.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from requests import PreparedRequest
from requests.auth import AuthBase
from schemathesis.openapi.checks import JsonSchemaError

from contract.signer import HmacSigner, env_credentials
from contract.support import (
    V2026,
    Steering,
    is_legacy_only_method,
    is_shadowed_delete,
    pin_version,
    refusals_are_documented,
    sent_version,
    v2024_body_conformance,
    version_echo,
)
from truex_ext import JwtKey
from truex_ext.jwt_auth import JwtAuth
from truex_sandbox.jwt_keys import key_file
from truex_sandbox.seed import default_seed

CREDENTIALS = env_credentials()
VERSION = os.environ.get("TRUEX_CONTRACT_VERSION", V2026)
STEER = Steering.for_default_seed(CREDENTIALS.client_id)


class BearerSigner(AuthBase):
    """``Authorization: Bearer`` from the sandbox's Auth API (JWT, docs v1.0.5), minted with ALICE's seeded
    JWT key and refreshed by the SDK's own :class:`~truex_ext.jwt_auth.JwtAuth`; no HMAC header."""

    def __init__(self, auth_url: str) -> None:
        record = next(k for k in default_seed().jwt_keys if k.client_id == CREDENTIALS.client_id)
        self.jwt = JwtAuth(JwtKey.from_mapping(key_file(record)), auth_url)

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.jwt.token()}"
        return request


# TRUEX_CONTRACT_AUTH=jwt (scripts/contract.sh's JWT run): bearer tokens instead of HMAC signatures.
if os.environ.get("TRUEX_CONTRACT_AUTH") == "jwt":
    schemathesis.auth.set_from_requests(BearerSigner(os.environ["TRUEX_CONTRACT_AUTH_URL"]))
else:
    schemathesis.auth.set_from_requests(HmacSigner(CREDENTIALS))

for check in (version_echo, v2024_body_conformance, refusals_are_documented):
    schemathesis.check(check)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Any) -> None:
    pin_version(case, VERSION)
    STEER(case)


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    STEER.observe(case, response)


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    if isinstance(failure, JsonSchemaError) and sent_version(case) != V2026:
        return False  # a v2024_01_01 body: v2024_body_conformance checks it
    # `--checks all` re-enables allow_header_conformance where schemathesis.toml turns it off; this is the
    # same exception, narrower: DELETE advertised on a static path that shadows a templated one.
    return not (is_shadowed_delete(failure, case) or is_legacy_only_method(failure, case))
