#!/usr/bin/env bash
# HTTP load test of a release build: throughput, latency and memory of
# `vectra serve` on GET /health and on GET /api/v1/user/me (a full request
# transaction: JWT check, role switch, auth.begin_request, one SQL function).
#
# Needs PostgreSQL 15 (VECTRA_BENCH_DATABASE_URL, a superuser URL; default:
# Debian's cluster, started if needed) and wrk (apt-get install wrk). Loopback
# only; each run is bounded (LOAD_SECONDS, default 10, per route).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SECONDS_PER_ROUTE=${LOAD_SECONDS:-10}
CONNECTIONS=${LOAD_CONNECTIONS:-32}
PORT=${LOAD_PORT:-18095}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
if [ -z "${VECTRA_BENCH_DATABASE_URL:-}" ]; then
    pg_ctlcluster 15 main start 2>/dev/null || true
    su postgres -c "psql -qc \"alter user postgres password 'postgres'\"" >/dev/null
    VECTRA_BENCH_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres
fi
base=${VECTRA_BENCH_DATABASE_URL%/*}
db=vectra_load_$$
psql "$VECTRA_BENCH_DATABASE_URL" -qc "create database $db"
cleanup() {
    [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    psql "$VECTRA_BENCH_DATABASE_URL" -qc "drop database if exists $db with (force)" || true
}
trap cleanup EXIT

cargo build --release -q --bin vectra
export DATABASE_ADMIN_URL="$base/$db"
export DATABASE_URL="postgres://vectra_authenticator:load-password@${base#*@}/$db"
export JWT_SECRET=load-test-secret-load-test-secret-0123456789
export BIND_ADDR=127.0.0.1:$PORT RUST_LOG=warn RATE_LIMIT_PER_MINUTE=100000
export SMTP_URL=smtp://127.0.0.1:9 OUTBOX_POLL_INTERVAL=60s DATABASE_POOL_SIZE=${LOAD_POOL:-8}
target/release/vectra serve >/tmp/vectra-load.log 2>&1 &
pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.2; done

api=http://127.0.0.1:$PORT/api/v1
curl -fs -H 'content-type: application/json' -d '{"email":"load@example.com","password":"load test password","full_name":"Load","organization_name":"Load"}' "$api/auth/register" >/dev/null
token=$(curl -fs -H 'content-type: application/json' -d '{"email":"load@example.com","password":"load test password"}' "$api/auth/login" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

rss() { awk '/VmRSS|VmHWM/ {printf "%s %s kB  ", $1, $2}' "/proc/$pid/status"; echo; }
echo "== memory after start:   $(rss)"
echo "== GET /health, $CONNECTIONS connections, ${SECONDS_PER_ROUTE}s"
wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_ROUTE}s" --latency "http://127.0.0.1:$PORT/health" | sed -n '/Latency Distribution/,/Transfer/p;/Non-2xx/p;/errors/p'
echo "== GET /api/v1/user/me (request transaction), $CONNECTIONS connections, ${SECONDS_PER_ROUTE}s, pool ${DATABASE_POOL_SIZE}"
wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_ROUTE}s" --latency -H "Authorization: Bearer $token" "$api/user/me" | sed -n '/Latency Distribution/,/Transfer/p;/Non-2xx/p;/errors/p'
echo "== memory after load:    $(rss)"
