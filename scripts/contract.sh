#!/usr/bin/env bash
# Contract tests against a served sandbox: `truex-sandbox` under uvicorn on a free loopback port, then the
# `schemathesis run` CLI over every operation of the spec it serves, with every check, signed requests
# (tests/contract/hooks.py) and the settings of schemathesis.toml (deterministic, bounded). A short control
# run with a wrong secret must fail first. JUnit reports: reports/contract-junit.xml (the /v1/cefi base),
# reports/contract-jwt-junit.xml (the same base with JWT bearer auth), reports/contract-legacy-junit.xml (the
# deprecated singular twins, under /api/v1). The server is stopped
# whatever happens.
#
#   scripts/contract.sh [extra `schemathesis run` options]      (make contract)
#
# Environment: CONTRACT_TIMEOUT (wall-clock bound of the run, seconds; default 170),
# TRUEX_CONTRACT_VERSION (the X-Truex-Version the run pins; default v2026_01_23).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
REPORTS=reports
JUNIT=$REPORTS/contract-junit.xml
LEGACY_JUNIT=$REPORTS/contract-legacy-junit.xml
JWT_JUNIT=$REPORTS/contract-jwt-junit.xml
CONTRACT_TIMEOUT=${CONTRACT_TIMEOUT:-170}
mkdir -p "$REPORTS"
rm -f "$JUNIT" "$LEGACY_JUNIT" "$JWT_JUNIT"

LOG=$(mktemp "${TMPDIR:-/tmp}/truex-sandbox.XXXXXX")
SERVER_PID=""
stop_server() {
    local status=$?
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -f "$LOG"
    exit "$status"
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --port 0: the OS picks a free port; the banner says which (and the seeded keys: default seed, fixed keys).
# --strict: a query parameter the spec does not have is a 400 (the default ignores it, DECISIONS §20), which
# the negative cases of the run expect.
"$BIN/truex-sandbox" --host 127.0.0.1 --port 0 --strict --log-level warning >"$LOG" 2>&1 &
SERVER_PID=$!

BASE=""
for _ in $(seq 100); do
    BASE=$(sed -n 's/^truex-sandbox listening on \(http:\/\/[^ ]*\)$/\1/p' "$LOG" | head -n 1)
    [[ -n "$BASE" ]] && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "contract: the sandbox exited during start-up:" >&2
        cat "$LOG" >&2
        exit 1
    fi
    sleep 0.1
done
if [[ -z "$BASE" ]]; then
    echo "contract: no banner from the sandbox within 10 s:" >&2
    cat "$LOG" >&2
    exit 1
fi
# Wait for the key list too (printed in the same flush, after the URL).
for _ in $(seq 50); do grep -q "(ALICE)" "$LOG" && break; sleep 0.1; done

# ALICE's key from the banner: the key id and secret lines precede that key's client lines.
read -r KEY_ID SECRET CLIENT_ID < <(awk '
    /^  key id:/  { key = $3 }
    /^  secret:/  { secret = $2 }
    /^  client:/ && $3 == "(ALICE)" { print key, secret, $2; exit }
' "$LOG")
if [[ -z "${CLIENT_ID:-}" ]]; then
    echo "contract: ALICE's API key is not in the sandbox banner" >&2
    exit 1
fi
echo "contract: sandbox at $BASE (pid $SERVER_PID), signing as client $CLIENT_ID"

# Every schemathesis call: signed by tests/contract/hooks.py with the credentials given, bounded in time.
# The spec's paths are relative to a server base: --url says which base the run exercises (never the
# spec's first server, which is production).
st_run() {
    local secret=$1 base=$2
    shift 2
    TRUEX_API_KEY="$KEY_ID" TRUEX_API_SECRET="$secret" TRUEX_CLIENT_ID="$CLIENT_ID" \
        PYTHONPATH="tests${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=contract.hooks \
        timeout --kill-after=10 "$CONTRACT_TIMEOUT" \
        "$BIN/schemathesis" --config-file schemathesis.toml run "$BASE/v1/cefi/openapi.json" \
        --url "$BASE$base" --checks all --workers 1 --no-color "$@"
}

# Control: the same run signing with a wrong secret must fail (exit 1), else the hooks are not loaded or
# the checks would let a broken signer through. Two signed operations, examples only: a few seconds.
control=0
st_run "not-$SECRET" /v1/cefi --phases examples --include-operation-id list_balances \
    --include-operation-id create_order >"$REPORTS/contract-control.log" 2>&1 || control=$?
if [[ $control -ne 1 ]]; then
    echo "contract: the control run with a wrong secret did not fail (exit $control):" >&2
    cat "$REPORTS/contract-control.log" >&2
    exit 1
fi
echo "contract: control run with a wrong secret failed as it must ($REPORTS/contract-control.log)"

# The current base serves every operation but the deprecated singular twins, which live only under the
# legacy base: two runs, each against the base that serves its operations.
status=0
st_run "$SECRET" /v1/cefi \
    --exclude-deprecated \
    --phases examples,coverage,fuzzing,stateful \
    --max-failures 50 \
    --report junit --report-junit-path "$JUNIT" \
    "$@" || status=$?
# JWT bearer auth (docs v1.0.5) under the current base: tokens from the sandbox's Auth API, no HMAC.
if [[ $status -eq 0 ]]; then
    TRUEX_CONTRACT_AUTH=jwt TRUEX_CONTRACT_AUTH_URL="$BASE/v1/auth" st_run "$SECRET" /v1/cefi \
        --exclude-deprecated \
        --phases examples,fuzzing \
        --max-failures 50 \
        --report junit --report-junit-path "$JWT_JUNIT" \
        "$@" || status=$?
fi
if [[ $status -eq 0 ]]; then
    st_run "$SECRET" /api/v1 \
        --include-by '/deprecated == true' \
        --phases examples,coverage,fuzzing,stateful \
        --max-failures 50 \
        --report junit --report-junit-path "$LEGACY_JUNIT" \
        "$@" || status=$?
fi

if [[ $status -eq 124 || $status -eq 137 ]]; then
    echo "contract: schemathesis did not finish within ${CONTRACT_TIMEOUT} s" >&2
fi
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "contract: the sandbox died during the run:" >&2
    cat "$LOG" >&2
    [[ $status -eq 0 ]] && status=1
fi
exit "$status"
