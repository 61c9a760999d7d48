#!/usr/bin/env bash
# Runs the Postman collection with Newman, top to bottom, against a freshly
# started `vectra dev` (its own PostgreSQL cluster in a temporary directory,
# mail read from its MailDev-compatible /dev/mailbox/email).
#
#   scripts/run-newman.sh [path/to/vectra]   (default: target/debug/vectra)
#
# Prints Newman's report; writes the assertion counts to $NEWMAN_STATS (a
# file, "total failed") when set. Exit status: Newman's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN=${1:-target/debug/vectra}
PORT=${NEWMAN_PORT:-18080}
NEWMAN_VERSION=6.2.2
if ! command -v newman >/dev/null 2>&1 || [ "$(newman --version)" != "$NEWMAN_VERSION" ]; then
    echo "run-newman: installing newman@$NEWMAN_VERSION"
    npm install -g --no-audit --no-fund "newman@$NEWMAN_VERSION" >/dev/null
fi

# shellcheck source=scripts/lib-dev.sh
. scripts/lib-dev.sh
DEV_ENV="RATE_LIMIT_PER_MINUTE=1000" start_dev "$BIN" "$PORT"

status=0
newman run postman/Vectra_API_Collection.json -e postman/Vectra_API.postman_environment.json \
    --env-var "base_url=http://127.0.0.1:$PORT" \
    --env-var "mail_url=http://127.0.0.1:$PORT/dev/mailbox" \
    --reporters cli,json --reporter-json-export "$WORK/newman.json" --color off || status=$?
if [ -n "${NEWMAN_STATS:-}" ]; then
    python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["run"]["stats"]["assertions"]; print(a["total"], a["failed"])' \
        "$WORK/newman.json" >"$NEWMAN_STATS" 2>/dev/null || echo "0 1" >"$NEWMAN_STATS"
fi
exit $status
