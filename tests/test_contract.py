"""Contract tests: schemathesis drives the sandbox app in-process and checks every answer against the spec.

``schemathesis.openapi.from_asgi("/v1/cefi/openapi.json", create_app(strict=True))`` loads the spec the app
serves; every operation then runs through the examples, coverage and fuzzing phases (one pytest test per
operation and API version) and a stateful phase follows the spec's OpenAPI links, with every built-in check
plus three of ours (``tests/contract/support.py``). Strict mode: a query parameter the spec does not have is
a 400, as the negative cases expect (the app's default ignores it, DECISIONS §20). Requests are signed
by a ``requests`` auth over the exact bytes sent (``tests/contract/signer.py``); positive cases are steered
to ids that exist and are the caller's (``support.Steering``). Settings: ``schemathesis.toml``
(deterministic, bounded, 2xx-only acceptance with per-operation exceptions).

Versions: the spec's response schemas describe ``v2026_01_23``.

- ``v2026_01_23``: examples, coverage, fuzzing and stateful, every check including schemathesis'
  ``response_schema_conformance``;
- ``v2024_01_01`` (raw bodies, which the envelope schemas cannot match): examples and fuzzing, every check
  but ``response_schema_conformance``, and ``v2024_body_conformance`` instead (the raw bodies against the
  spec's item schemas). No coverage phase (see ``TARGETS``) and no stateful phase (see ``STATEFUL``).

A request the fuzzer sent with an invalid version header is answered in v2024_01_01 (the README's rule) and
checked that way in either run.

The last tests prove the suite has teeth: four broken signers, no signer, and an app that ignores auth
must each make it fail, while the same harness with the right signer passes.
"""

from __future__ import annotations

import collections
import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from requests.auth import AuthBase
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import response_schema_conformance

import truex_sandbox.app as sandbox_app
from contract.signer import Credentials, HmacSigner, default_credentials
from contract.support import (
    V2024,
    V2026,
    Steering,
    canonical_operation_id,
    pin_version,
    refusals_are_documented,
    sent_version,
    v2024_body_conformance,
    version_echo,
)
from truex_sandbox.app import SPEC_ROUTE, create_app
from truex_sandbox.auth import HmacVerifier, Principal

ROOT = Path(__file__).resolve().parent.parent
CONFIG_PATH = ROOT / "schemathesis.toml"
ALICE = default_credentials("ALICE")
#: Scenarios of the stateful phase, and steps per scenario (as phases.stateful.max-steps in the toml).
STATEFUL_SCENARIOS = 30
STATEFUL_STEPS = 8


@dataclass
class Target:
    """One sandbox app under test: its schema (with the signer), a reused ASGI session, and what ran."""

    app: Any
    schema: Any
    session: Any
    steer: Steering
    #: (phase, generation mode) -> cases sent
    cases: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    #: operation labels that answered 2xx at least once
    succeeded: set[str] = field(default_factory=set)


def make_target(app: Any = None, signer: AuthBase | None = None, credentials: Credentials = ALICE) -> Target:
    app = create_app(strict=True) if app is None else app
    # Loaded per schema (a schema's config is mutable and shared by every schema loaded with it), and by
    # path, so the suite behaves the same from any working directory.
    config = SchemathesisConfig.from_path(CONFIG_PATH)
    schema = schemathesis.openapi.from_asgi(SPEC_ROUTE, app, config=config)
    if signer is not None:
        schema.auth.set_from_requests(signer)
    session = asgi.get_client(app)
    session.trust_env = False  # no proxy lookups in the environment per request
    session.__enter__()
    return Target(app, schema, session, Steering.for_default_seed(credentials.client_id))


def _phase(case: Any) -> tuple[str, str]:
    meta = case.meta
    if meta is None:
        return ("?", "?")
    return (meta.phase.name.value, meta.generation.mode.value)


def _checks(case: Any) -> dict[str, Any]:
    """Response checks by the version the request is rendered in (see the module docstring)."""
    if sent_version(case) == V2026:
        return {"additional_checks": [version_echo, refusals_are_documented]}
    return {
        "excluded_checks": [response_schema_conformance],
        "additional_checks": [version_echo, v2024_body_conformance, refusals_are_documented],
    }


def prepare(target: Target, case: Any, version: str) -> None:
    pin_version(case, version)
    target.steer(case)
    target.cases[_phase(case)] += 1


def observe(target: Target, case: Any, response: Any) -> None:
    target.steer.observe(case, response)
    if 200 <= response.status_code < 300:
        target.succeeded.add(case.operation.label)


def _base_url(case: Any) -> str | None:
    """The deprecated singular twins live only under the legacy base (their operation-level ``servers``),
    which schemathesis does not read; every other operation goes to the spec's default base, /v1/cefi."""
    return "http://testserver/api/v1" if case.operation.definition.raw.get("deprecated") else None


def run_case(target: Target, case: Any, version: str) -> None:
    """One case of the examples, coverage or fuzzing phase: send it and run every check."""
    prepare(target, case, version)
    response = case.call(session=target.session, base_url=_base_url(case))
    observe(target, case, response)
    case.validate_response(response, **_checks(case))


# ------------------------------------------------------------------------ examples, coverage, fuzzing
TARGETS = {V2026: make_target(signer=HmacSigner(ALICE)), V2024: make_target(signer=HmacSigner(ALICE))}
# v2024_01_01 runs the examples and fuzzing phases, positive and negative, with every check. Not the
# coverage phase: its cases (boundary values, missing, duplicate and wrong-typed parameters, unexpected
# methods and media types) probe request validation, which runs before and independently of the version
# layer - the v2026 run covers them - while rendering an error in v2024 is exercised by the fuzzing phase's
# negative cases. It halves the run time.
TARGETS[V2024].schema.config.phases.coverage.enabled = False


@TARGETS[V2026].schema.parametrize()
def test_v2026(case: Any) -> None:
    run_case(TARGETS[V2026], case, V2026)


@TARGETS[V2024].schema.parametrize()
def test_v2024(case: Any) -> None:
    run_case(TARGETS[V2024], case, V2024)


# ----------------------------------------------------------------------------------------- stateful
class FreshSandbox:
    """An ASGI app that is a new sandbox (default seed) after every :meth:`reset`.

    Each stateful scenario starts from the same exchange state, so the same choices replay to the same
    answers: Hypothesis re-runs scenario prefixes while it searches, and a state carried over from earlier
    scenarios (balances spent, external ids taken) would make that replay diverge.
    """

    def __init__(self) -> None:
        self.app = create_app(strict=True)

    def reset(self) -> None:
        self.app = create_app(strict=True)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def stateful_test_case(version: str) -> type:
    """The stateful phase: scenarios that chain operations through the spec's links (create an order,
    then read, modify and cancel it; create a transfer, then list it), checked like the other phases."""
    sandbox = FreshSandbox()
    target = make_target(sandbox, signer=HmacSigner(ALICE))
    STATEFUL[version] = target
    base = target.schema.as_state_machine()

    class Workflow(base):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            sandbox.reset()
            target.steer.reset()

        def teardown(self) -> None:
            problems = sandbox.app.state.exchange.check_invariants()
            assert problems == [], problems

        def before_call(self, case: Any) -> None:
            prepare(target, case, version)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"session": target.session}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            observe(target, case, response)
            checks = _checks(case)
            case.validate_response(
                response,
                additional_checks=checks["additional_checks"],
                excluded_checks=checks.get("excluded_checks"),
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

    Workflow.__name__ = f"Workflow_{version}"
    test_case: type = Workflow.TestCase
    test_case.settings = hypothesis.settings(  # type: ignore[attr-defined]
        max_examples=STATEFUL_SCENARIOS,
        stateful_step_count=STATEFUL_STEPS,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    return test_case


# v2026_01_23 only: the links' runtime expressions ($response.body#/data/id) address the v2026 envelope; a
# v2024 answer is the raw payload, so under v2024 no link resolves and no scenario gets past its first step.
STATEFUL: dict[str, Target] = {}
TestStatefulV2026 = stateful_test_case(V2026)


# -------------------------------------------------------------------------------- what the run did
def test_every_phase_ran_and_every_operation_succeeded_once() -> None:
    """Runs after the phases above (pytest keeps file order): the run exercised what it claims to.

    Every phase sent cases in both versions, and every operation (handler) answered 2xx at least once to a
    signed, schema-valid request - so steering keeps reaching the success paths and none is refused wholesale.
    The exchange's invariants (money is conserved, holds match open orders) hold after the run.
    Skipped when the phases did not run in this session (``-k``, a single test).
    """
    runs = {V2026: [TARGETS[V2026], STATEFUL[V2026]], V2024: [TARGETS[V2024]]}
    if not all(target.cases for targets in runs.values() for target in targets):
        pytest.skip("the contract phases did not run in this session")
    expected = {V2026: {"examples", "coverage", "fuzzing", "stateful"}, V2024: {"examples", "fuzzing"}}
    report: dict[str, Any] = {}
    for version, targets in runs.items():
        cases = sum((target.cases for target in targets), collections.Counter[tuple[str, str]]())
        succeeded = set().union(*(target.succeeded for target in targets))
        phases = collections.Counter[str]()
        for (phase, _mode), count in cases.items():
            phases[phase] += count
        report[version] = {
            "cases_per_phase": dict(sorted(phases.items())),
            "cases_per_phase_and_mode": {f"{p}/{m}": n for (p, m), n in sorted(cases.items())},
            "operations_with_a_2xx": len(succeeded),
        }
        assert set(phases) == expected[version], (version, dict(phases))
        # Per handler: a deprecated twin shares its replacement's handler (the sandbox checks at start-up that
        # they take the same parameters and body), and only the stateful phase can reach some success paths
        # (modify or cancel an order it created) - on one twin or the other, as the scenarios happen to go.
        operations = [result.ok() for result in targets[0].schema.get_all_operations()]
        handlers = {canonical_operation_id(op) for op in operations if op is not None}
        served = {canonical_operation_id(op) for op in operations if op is not None and op.label in succeeded}
        assert handlers - served == set(), f"{version}: never answered 2xx"
        report[version]["routes_without_a_2xx"] = sorted(
            op.label for op in operations if op is not None and op.label not in succeeded
        )
        for target in targets:
            problems = target.app.state.exchange.check_invariants() if hasattr(target.app, "state") else []
            assert problems == [], problems
    out = ROOT / "reports" / "contract-pytest-cases.json"
    with contextlib.suppress(OSError):
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


# ------------------------------------------------------------------------- the suite has teeth
def _operation(schema: Any, operation_id: str) -> Any:
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation is not None and operation.definition.raw.get("operationId") == operation_id:
            return operation
    raise LookupError(operation_id)


def failures_of(target: Target, operation_ids: tuple[str, ...], *, examples: int = 8) -> list[str]:
    """The titles of the failures ``run_case`` raises for positive v2026 cases of ``operation_ids``."""
    found: list[str] = []
    for operation_id in operation_ids:
        _probe(target, operation_id, examples, found)
    return found


def _probe(target: Target, operation_id: str, examples: int, found: list[str]) -> None:
    strategy = _operation(target.schema, operation_id).as_strategy(GenerationMode.POSITIVE)

    @hypothesis.given(case=strategy)
    @hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    def probe(case: Any) -> None:
        try:
            run_case(target, case, V2026)
        except FailureGroup as group:
            found.extend(f"{operation_id}: {failure.title}" for failure in group.exceptions)

    probe()


SIGNED_OPERATIONS = ("list_balances", "create_order", "update_client", "list_clients")


class _Broken(HmacSigner):
    """A signer with one deliberate mistake (``how``)."""

    def __init__(self, how: str) -> None:
        secret = ALICE.secret[::-1] if how == "wrong secret" else ALICE.secret
        super().__init__(Credentials(ALICE.key_id, secret, ALICE.client_id))
        self.how = how

    def __call__(self, request: Any) -> Any:
        if self.how == "body not signed" and request.body:
            body, request.body = request.body, b""
            super().__call__(request)
            request.body = body
            return request
        if self.how == "milliseconds":
            clock = self.clock
            self.clock = lambda: clock() * 1000
            try:
                return super().__call__(request)
            finally:
                self.clock = clock
        if self.how == "path without its base":
            url = request.url
            request.url = url.replace("/v1/cefi/", "/", 1).replace("/api/v1/", "/", 1)
            super().__call__(request)
            request.url = url
            return request
        return super().__call__(request)


@pytest.mark.parametrize("how", ["wrong secret", "body not signed", "milliseconds", "path without its base"])
def test_a_broken_signer_fails_the_run(how: str) -> None:
    target = make_target(signer=_Broken(how))
    failures = failures_of(target, SIGNED_OPERATIONS)
    assert any("Schema-valid request rejected" in f for f in failures), failures
    # Each signed operation this mistake touches fails (the body one only where there is a body).
    touched = ("create_order", "update_client") if how == "body not signed" else SIGNED_OPERATIONS
    for operation_id in touched:
        assert any(f.startswith(f"{operation_id}: ") for f in failures), (operation_id, failures)


def test_no_signer_fails_the_run() -> None:
    failures = failures_of(make_target(signer=None), SIGNED_OPERATIONS)
    for operation_id in SIGNED_OPERATIONS:
        assert f"{operation_id}: Schema-valid request rejected" in failures, failures


def test_the_same_harness_passes_with_the_right_signer() -> None:
    """The control of the two tests above: same operations, same harness, the real signer - no failure."""
    assert failures_of(make_target(signer=HmacSigner(ALICE)), SIGNED_OPERATIONS) == []


class _TrustingVerifier(HmacVerifier):
    """An auth check that lets everything through as ALICE."""

    def verify(self, method: str, raw_path: bytes, headers: Any, body: bytes, **kwargs: Any) -> Principal:
        return Principal(
            key_id=ALICE.key_id, client_ids=frozenset({ALICE.client_id}), user_id=ALICE.client_id
        )


def test_an_app_that_ignores_auth_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_app, "HmacVerifier", _TrustingVerifier)
    app = create_app(strict=True)
    failures = failures_of(make_target(app, signer=HmacSigner(ALICE)), SIGNED_OPERATIONS, examples=3)
    for operation_id in SIGNED_OPERATIONS:
        assert f"{operation_id}: API accepts requests without authentication" in failures, failures
