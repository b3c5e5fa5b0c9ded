#!/usr/bin/env bash
# Contract test of the client against Stoplight Prism mocks of openapi/truex.yaml (make contract-prism).
#
# Starts `prism mock` (on the spec with each path under its base, scripts/prism_spec.py) twice on free loopback ports - static (the spec's examples) and dynamic
# (`-d --seed`, values generated from the schemas, the same on every run) - waits for "Prism is
# listening", runs tests/test_prism.py with TRUEX_PRISM_URL / TRUEX_PRISM_DYNAMIC_URL set, and stops
# both servers on exit. Needs node_modules (npm ci, done by `make contract-prism`) and .venv.
#
#   scripts/prism.sh [pytest args...]     e.g. scripts/prism.sh -k errors -x
#
# Environment: PRISM_SEED (default 20260123), PRISM_START_TIMEOUT seconds (default 60), PYTEST, PYTHON.
set -euo pipefail

cd "$(dirname "$0")/.."
PRISM=node_modules/.bin/prism
PYTEST=${PYTEST:-.venv/bin/pytest}
PYTHON=${PYTHON:-.venv/bin/python}
SEED=${PRISM_SEED:-20260123}
START_TIMEOUT=${PRISM_START_TIMEOUT:-60}

if [[ ! -x $PRISM ]]; then
    echo "prism.sh: $PRISM not found; run 'make contract-prism' (or 'npm ci') first" >&2
    exit 2
fi
if [[ ! -x $PYTEST || ! -x $PYTHON ]]; then
    echo "prism.sh: $PYTEST or $PYTHON not found; run 'make install' first" >&2
    exit 2
fi

VERSION=$("$PRISM" --version)
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/truex-prism.XXXXXX")
# Prism serves paths as written, ignoring a server's base path: give it the spec with every path under its base.
SPEC=$LOGS/truex-prism.json
"$PYTHON" scripts/prism_spec.py "$SPEC"
PIDS=()

stop() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$LOGS"
}
trap stop EXIT
trap 'exit 130' INT TERM

# launch NAME [prism args...]: starts Prism on a free port (-p 0) in the background.
launch() {
    local name=$1
    shift
    "$PRISM" mock "$SPEC" --host 127.0.0.1 --port 0 "$@" >"$LOGS/$name.log" 2>&1 &
    PIDS+=("$!")
}

# ready NAME PID: waits (bounded) until NAME's log has a complete "Prism is listening on URL" line and
# URL answers HTTP; sets URL.
ready() {
    local name=$1 pid=$2 log="$LOGS/$1.log" deadline=$((SECONDS + START_TIMEOUT))
    URL=
    while ((SECONDS < deadline)); do
        if URL=$("$PYTHON" - "$log" <<'PY'
import re, sys, urllib.error, urllib.request
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
found = re.search(r"Prism is listening on (http://\S+)\n", text)  # a complete line only
if not found:
    sys.exit(1)
try:
    urllib.request.urlopen(found.group(1) + "/health", timeout=2).close()
except urllib.error.HTTPError:
    pass  # an HTTP answer is an answer
except OSError:
    sys.exit(1)
print(found.group(1))
PY
        ); then
            break
        fi
        URL=
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        sleep 0.2
    done
    if [[ -z $URL ]]; then
        echo "prism.sh: Prism ($name) did not start within ${START_TIMEOUT}s; its log:" >&2
        cat "$log" >&2
        exit 1
    fi
    echo "prism.sh: Prism $VERSION ($name) listening on $URL"
}

launch static
launch dynamic --dynamic --seed "$SEED"
ready static "${PIDS[0]}"
STATIC_URL=$URL
ready dynamic "${PIDS[1]}"
DYNAMIC_URL=$URL

status=0
TRUEX_PRISM_URL=$STATIC_URL TRUEX_PRISM_DYNAMIC_URL=$DYNAMIC_URL \
    "$PYTEST" tests/test_prism.py -p no:cacheprovider "$@" || status=$?
if ((status != 0)); then
    for name in static dynamic; do
        echo "--- prism.sh: last lines of the $name Prism log" >&2
        tail -n 40 "$LOGS/$name.log" >&2
    done
fi
exit "$status"
