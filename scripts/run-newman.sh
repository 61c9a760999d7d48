#!/usr/bin/env bash
# Runs the Postman collection with Newman, top to bottom, against a freshly
# started `vectra dev` (its own PostgreSQL cluster in a temporary directory,
# mail read from its MailDev-compatible /dev/mailbox/email).
#
#   scripts/run-newman.sh [path/to/vectra]   (default: target/debug/vectra)
#   NEWMAN_DEV_ARGS=--citus scripts/run-newman.sh   (`vectra dev --citus`: a Citus cluster)
#   NEWMAN_URL=http://127.0.0.1:18180 scripts/run-newman.sh   (a `vectra dev` already running)
#
# Then checks every response Newman received against the OpenAPI document the
# service serves (scripts/check-responses.py: status, content type, closed
# schemas, required headers), and that every operation under /api/v1/user/
# and /api/v1/admin/ answered 2xx at least once ($CONTRACT_REQUIRE_SUCCESS).
#
# Prints Newman's report and the check's; writes the assertion counts to
# $NEWMAN_STATS (a file, "total failed") and the check's to $CONTRACT_STATS
# ("responses violations") when set. Exit status: non-zero when Newman failed
# or a response does not conform.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN=${1:-target/debug/vectra}
PORT=${NEWMAN_PORT:-18080}
if [ -n "${NEWMAN_URL:-}" ]; then
    BASE=$NEWMAN_URL
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
else
    # shellcheck source=scripts/lib-dev.sh
    . scripts/lib-dev.sh
    # shellcheck disable=SC2086 # NEWMAN_DEV_ARGS: extra `vectra dev` arguments (--citus).
    DEV_ENV="RATE_LIMIT_PER_MINUTE=1000" start_dev "$BIN" "$PORT" ${NEWMAN_DEV_ARGS:-}
    BASE=http://127.0.0.1:$PORT
fi

python3 -c 'import jsonschema' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check "jsonschema==4.26.0"

# Every operation of the organization users and of the platform admin
# answers 2xx at least once in the run (scripts/check-responses.py), so what
# the run proves of every response (the contract; on a Citus cluster, strict
# tenant routing) holds for each of them.
export CONTRACT_REQUIRE_SUCCESS=${CONTRACT_REQUIRE_SUCCESS-/api/v1/user/,/api/v1/admin/}
status=0
scripts/newman-run.sh "$BASE" "$BASE/dev/mailbox" "$WORK" || status=$?
if [ -n "${NEWMAN_STATS:-}" ]; then
    python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["run"]["stats"]["assertions"]; print(a["total"], a["failed"])' \
        "$WORK/newman.json" >"$NEWMAN_STATS" 2>/dev/null || echo "0 1" >"$NEWMAN_STATS"
fi
curl -sf "$BASE/api/v1/openapi.json" >"$WORK/openapi.json"
python3 scripts/check-responses.py "$WORK/openapi.json" "$WORK/responses.json" || status=1
exit $status
