#!/usr/bin/env bash
# Runs schemathesis against a freshly started `vectra dev` (demo data loaded,
# its own PostgreSQL cluster in a temporary directory): every operation of
# /api/v1/openapi.json, once per caller (anonymous, an owner, a member, the
# platform admin; tokens from scripts/api-fixtures.py), with every check but
# positive_data_acceptance (a random UUID is rightly a 404).
#
#   scripts/run-schemathesis.sh [path/to/vectra]   (default: target/debug/vectra)
#
# Writes "passed failed" test cases to $SCHEMATHESIS_STATS when set.
# Exit status: non-zero when any run failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN=${1:-target/debug/vectra}
PORT=${SCHEMATHESIS_PORT:-18081}
EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-10}
SCHEMATHESIS_VERSION=4.32.5
if ! command -v schemathesis >/dev/null 2>&1 || ! schemathesis --version | grep -q " $SCHEMATHESIS_VERSION\$"; then
    echo "run-schemathesis: installing schemathesis==$SCHEMATHESIS_VERSION"
    python3 -m pip --version >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q --no-install-recommends python3-pip </dev/null; }
    python3 -m pip install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

# shellcheck source=scripts/lib-dev.sh
. scripts/lib-dev.sh
DEV_ENV="RATE_LIMIT_PER_MINUTE=1000000 LOGIN_FAILURES_BEFORE_BACKOFF=1000000" start_dev "$BIN" "$PORT" --demo
BASE="http://127.0.0.1:$PORT"
python3 scripts/api-fixtures.py "$BASE" >"$WORK/tokens.json"

passed=0
failed=0
status=0
for who in anonymous owner member platform_admin; do
    args=()
    if [ "$who" != anonymous ]; then
        token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/tokens.json" "$who")
        args+=(-H "Authorization: Bearer $token")
        # Signing out or changing the password would end the session the
        # rest of the run uses.
        args+=(--exclude-operation-id post_auth_logout --exclude-operation-id post_auth_change_password
               --exclude-operation-id post_user_sessions_revoke_others)
    fi
    echo "==== schemathesis as $who ===="
    set +e
    schemathesis run "$BASE/api/v1/openapi.json" "${args[@]}" \
        --checks all --exclude-checks positive_data_acceptance \
        --max-examples "$EXAMPLES" --seed 1 --phases examples,coverage,fuzzing \
        --no-color --workers 2 --report junit --report-junit-path "$WORK/$who.xml" 2>&1 | tee "$WORK/$who.log"
    rc=${PIPESTATUS[0]}
    set -e
    [ "$rc" -eq 0 ] || status=1
    # JUnit: one testcase per operation; schemathesis's summary counts the
    # generated test cases ("3036 generated, 3036 passed" or "… found N unique failures").
    read -r p f < <(python3 - "$WORK/$who.log" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"(\d+) generated, (\d+) passed", text)
if m:
    print(m.group(2), 0)
else:
    g = re.search(r"(\d+) generated", text)
    u = re.search(r"found (\d+) unique failures", text)
    gen = int(g.group(1)) if g else 0
    fails = int(u.group(1)) if u else 1
    print(max(gen - fails, 0), fails)
PY
)
    passed=$((passed + p))
    failed=$((failed + f))
done
echo "schemathesis: $passed test cases passed, $failed failed"
if [ -n "${SCHEMATHESIS_STATS:-}" ]; then
    echo "$passed $failed" >"$SCHEMATHESIS_STATS"
fi
exit $status
