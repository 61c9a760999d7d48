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
[ -x "$BIN" ] || { echo "run-newman: $BIN not built (cargo build)" >&2; exit 1; }
if ! command -v newman >/dev/null 2>&1 || [ "$(newman --version)" != "$NEWMAN_VERSION" ]; then
    echo "run-newman: installing newman@$NEWMAN_VERSION"
    npm install -g --no-audit --no-fund "newman@$NEWMAN_VERSION" >/dev/null
fi

WORK=$(mktemp -d)
cleanup() {
    if [ -n "${DEV_PID:-}" ] && kill -0 "$DEV_PID" 2>/dev/null; then
        kill -TERM "$DEV_PID"
        wait "$DEV_PID" || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

BIND_ADDR=127.0.0.1:$PORT RATE_LIMIT_PER_MINUTE=1000 RUST_LOG=warn \
    "$BIN" dev --dir "$WORK/.vectra" >"$WORK/dev.log" 2>&1 &
DEV_PID=$!
for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && break
    kill -0 "$DEV_PID" 2>/dev/null || { cat "$WORK/dev.log"; echo "run-newman: vectra dev exited" >&2; exit 1; }
    sleep 0.2
done
curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null || { cat "$WORK/dev.log"; echo "run-newman: not ready" >&2; exit 1; }

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
