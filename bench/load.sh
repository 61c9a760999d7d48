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
BENCH_PORT=${LOAD_PORT:-18095}
. bench/serve.sh
export RATE_LIMIT_PER_MINUTE=100000 DATABASE_POOL_SIZE=${LOAD_POOL:-8}
bench_serve
token=$(bench_owner load@example.com)

rss() { bench_rss; }
echo "== memory after start:   $(rss)"
echo "== GET /health, $CONNECTIONS connections, ${SECONDS_PER_ROUTE}s"
wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_ROUTE}s" --latency "http://127.0.0.1:$BENCH_PORT/health" | sed -n '/Latency Distribution/,/Transfer/p;/Non-2xx/p;/errors/p'
echo "== GET /api/v1/user/me (request transaction), $CONNECTIONS connections, ${SECONDS_PER_ROUTE}s, pool ${DATABASE_POOL_SIZE}"
wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_ROUTE}s" --latency -H "Authorization: Bearer $token" "$api/user/me" | sed -n '/Latency Distribution/,/Transfer/p;/Non-2xx/p;/errors/p'
echo "== memory after load:    $(rss)"
