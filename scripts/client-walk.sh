#!/usr/bin/env bash
# The generated-client walk: generates a Python client from the OpenAPI
# document a fresh `vectra dev` serves, with a mainstream generator from PyPI
# (openapi-python-client, in its own virtualenv), then runs a short real flow
# with it (scripts/client_walk.py): register, verify with the link from the
# dev mailbox, sign in, /user/me, create a lead, list the leads. A document a
# generator cannot read, or answers its models cannot parse, fail here.
#
#   scripts/client-walk.sh [path/to/vectra]   (default: target/debug/vectra)
#
# Writes "passed failed" to $CLIENT_WALK_STATS when set. Exit status:
# non-zero when generation or a step failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN=${1:-target/debug/vectra}
PORT=${CLIENT_WALK_PORT:-18082}
GENERATOR_VERSION=0.29.1
VENV=${CLIENT_WALK_VENV:-target/client-walk-venv}
if [ ! -x "$VENV/bin/openapi-python-client" ] \
    || ! "$VENV/bin/openapi-python-client" --version | grep -q " $GENERATOR_VERSION\$"; then
    echo "client-walk: installing openapi-python-client==$GENERATOR_VERSION in $VENV"
    python3 -m venv "$VENV" 2>/dev/null || {
        apt-get update -q && apt-get install -y -q --no-install-recommends python3-venv </dev/null
        python3 -m venv "$VENV"
    }
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "openapi-python-client==$GENERATOR_VERSION"
fi

# shellcheck source=scripts/lib-dev.sh
. scripts/lib-dev.sh
start_dev "$BIN" "$PORT"
BASE="http://127.0.0.1:$PORT"
curl -sf "$BASE/api/v1/openapi.json" >"$WORK/openapi.json"

echo "==== openapi-python-client $GENERATOR_VERSION: generating the client ===="
status=0
# ruff (a dependency of the generator) formats the code it writes.
PATH="$(cd "$VENV/bin" && pwd):$PATH" "$VENV/bin/openapi-python-client" generate \
    --path "$WORK/openapi.json" --meta none --output-path "$WORK/client/vectra_api_client" \
    >"$WORK/generate.log" 2>&1 || status=$?
# The one warning expected: the CSV variant of the lead import (the JSON one is generated).
grep -E "^WARNING|^Unsupported|^Error" "$WORK/generate.log" || true
if [ "$status" -ne 0 ] || [ ! -d "$WORK/client/vectra_api_client/api" ]; then
    cat "$WORK/generate.log"
    echo "client walk: 0 passed, 1 failed"
    [ -z "${CLIENT_WALK_STATS:-}" ] || echo "0 1" >"$CLIENT_WALK_STATS"
    exit 1
fi
if grep -E "^WARNING" "$WORK/generate.log" | grep -v "POST /api/v1/user/leads/import" >/dev/null; then
    echo "client-walk: the generator warned about more than the CSV import" >&2
    status=1
fi

echo "==== the walk ===="
"$VENV/bin/python" scripts/client_walk.py "$BASE" "$WORK/client" | tee "$WORK/walk.log" || status=1
if [ -n "${CLIENT_WALK_STATS:-}" ]; then
    python3 - "$WORK/walk.log" "$status" >"$CLIENT_WALK_STATS" <<'PY'
import re, sys
m = re.search(r"client walk: (\d+) passed, (\d+) failed", open(sys.argv[1]).read())
p, f = (int(m.group(1)), int(m.group(2))) if m else (0, 1)
print(p, max(f, 1 if sys.argv[2] != "0" else 0))
PY
fi
exit $status
