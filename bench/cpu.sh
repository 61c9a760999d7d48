#!/usr/bin/env bash
# CPU per request of two builds, alternated on one cluster (docs/performance.md,
# "CPU per request"): what bench/run.sh measures per route, without its other
# steps, so that a change can be told from the machine's noise.
#
#   bench/cpu.sh BIN_A BIN_B [ROUNDS]     (BENCH_SECONDS=10, BENCH_ORGS=200)
#
# BENCH_EDDSA=1: access tokens signed with an Ed25519 key (JWT_PRIVATE_KEY_FILE)
# instead of the dev secret (HS256), for both builds.
#
# Both builds run WORKER_THREADS (1, dev mode's default) worker threads, a
# build older than that setting too (TOKIO_WORKER_THREADS).
# One `vectra dev` cluster seeded once (BIN_A migrates it: the two builds must
# share their migrations), owners signed in once; then ROUNDS (3) times, for
# each build in turn: the service on that cluster, wrk (64 connections, pool
# 8) on GET /user/me, the leads page and the org users page, and the CPU per
# request of the service and of PostgreSQL (every process of the cluster,
# ended backends included) from /proc; and pgbench replaying, pipelined, the
# SQL that build sent for one request of each route (bench/capture.py), with
# PostgreSQL's CPU per transaction.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

A=${1:?usage: bench/cpu.sh BIN_A BIN_B [ROUNDS]}
B=${2:?usage: bench/cpu.sh BIN_A BIN_B [ROUNDS]}
ROUNDS=${3:-3}
SECS=${BENCH_SECONDS:-10}
ORGS=${BENCH_ORGS:-200}
CONN=${BENCH_CONNECTIONS:-64}
POOL=${BENCH_POOL:-8}
PORT=${BENCH_PORT:-18094}
API=http://127.0.0.1:$PORT/api/v1
W=$(mktemp -d)
chmod 755 "$W"
DEV_PID=
stop_dev() {
    if [ -n "$DEV_PID" ] && kill -0 "$DEV_PID" 2>/dev/null; then kill -TERM "$DEV_PID"; wait "$DEV_PID" || true; fi
    DEV_PID=
}
trap 'stop_dev; rm -rf "$W"' EXIT

# start_dev BIN [RUST_LOG [--reset]]
THREADS=${WORKER_THREADS:-1}
KEY_ENV=
if [ "${BENCH_EDDSA:-0}" = 1 ]; then
    openssl genpkey -algorithm ed25519 -out "$W/ed25519.pem" 2>/dev/null
    KEY_ENV="JWT_PRIVATE_KEY_FILE=$W/ed25519.pem"
    echo "cpu: EdDSA access tokens"
fi
start_dev() {
    env $KEY_ENV WORKER_THREADS=$THREADS TOKIO_WORKER_THREADS=$THREADS BIND_ADDR=127.0.0.1:$PORT DATABASE_POOL_SIZE=$POOL RATE_LIMIT_PER_MINUTE=10000000 \
        LOGIN_FAILURES_BEFORE_BACKOFF=1000000 RUST_LOG="${2:-warn}" OUTBOX_POLL_INTERVAL=60s \
        "$1" dev --dir "$W/.vectra" ${3:-} >>"$W/dev.log" 2>&1 &
    DEV_PID=$!
    for _ in $(seq 600); do
        curl -fs "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && return 0
        kill -0 "$DEV_PID" 2>/dev/null || { cat "$W/dev.log"; exit 1; }
        sleep 0.1
    done
    echo "cpu: not ready" >&2; exit 1
}
state() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$W/.vectra/dev.json" "$1"; }
superuser_url() { echo "postgres://postgres:$(state superuser_password)@127.0.0.1:$(state port)/vectra"; }
service_url() { echo "postgres://vectra_authenticator:$(state authenticator_password)@127.0.0.1:$(state port)/vectra"; }
HZ=$(getconf CLK_TCK)
service_ticks() { awk '{print $14 + $15}' "/proc/$DEV_PID/stat"; }
pg_ticks() {
    python3 - "$(head -1 "$W/.vectra/postgres/data/postmaster.pid")" <<'PY'
import os, sys
pm = int(sys.argv[1])
total = 0
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    if int(pid) == pm or int(stat[1]) == pm:
        total += int(stat[11]) + int(stat[12]) + int(stat[13]) + int(stat[14])
print(total)
PY
}
us() { python3 -c "import sys; print(round(int(sys.argv[1]) / $HZ / max(int(sys.argv[2]), 1) * 1e6))" "$1" "$2"; }

routes=(me leads users)
declare -A url=([me]="$API/user/me" [leads]="$API/user/leads?per_page=20" [users]="$API/user/organizations/me/users")

start_dev "$A" warn --reset
DATABASE_ADMIN_URL=$(superuser_url) "$A" seed-demo --orgs "$ORGS" --users-per-org 10 --leads-per-org 100 >"$W/seed.txt"
awk -F'\t' '$3 == "active" && count < 100 { count++; print $4 }' "$W/seed.txt" >"$W/emails"
: >"$W/tokens"
while read -r email; do
    curl -fs -H 'content-type: application/json' -d "{\"email\":\"$email\",\"password\":\"demo password\"}" \
        "$API/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])' >>"$W/tokens"
done <"$W/emails"
stop_dev

# Each build's SQL for one request of each route.
for name in A B; do
    bin=$A; [ "$name" = B ] && bin=$B
    start_dev "$bin" "warn,vectra::sql=trace"
    for r in "${routes[@]}"; do
        : >"$W/dev.log"
        curl -fs -o /dev/null -H "Authorization: Bearer $(head -1 "$W/tokens")" "${url[$r]}"
        sleep 0.2
        python3 bench/capture.py "$W/dev.log" "$name.$r" "$W" >/dev/null
    done
    stop_dev
done

printf '%-6s %-5s %-6s %8s %12s %14s %16s\n' round build route req/s "service µs" "PostgreSQL µs" "pgbench pipe µs"
for round in $(seq "$ROUNDS"); do
    for name in A B; do
        bin=$A; [ "$name" = B ] && bin=$B
        start_dev "$bin"
        for r in "${routes[@]}"; do
            WRK_TOKENS=$W/tokens wrk -t2 -c"$CONN" -d2s -s bench/tokens.lua "${url[$r]}" >/dev/null
            s0=$(service_ticks); p0=$(pg_ticks)
            line=$(WRK_TOKENS=$W/tokens wrk -t2 -c"$CONN" -d"${SECS}s" -s bench/tokens.lua "${url[$r]}" | grep '^BENCH ')
            s1=$(service_ticks); p1=$(pg_ticks)
            grep -q 'errors=0 non2xx=0' <<<"$line" || { echo "cpu: $r had errors: $line" >&2; exit 1; }
            n=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line")
            rps=$(sed 's/.*rps=\([0-9.]*\).*/\1/' <<<"$line")
            q0=$(pg_ticks)
            out=$(pgbench -n -M prepared -c 8 -j 2 -T "$SECS" -f "$W/$name.$r.pipe.sql" "$(service_url)" 2>&1)
            q1=$(pg_ticks)
            m=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
            printf '%-6s %-5s %-6s %8.0f %12s %14s %16s\n' "$round" "$name" "$r" "$rps" \
                "$(us $((s1 - s0)) "$n")" "$(us $((p1 - p0)) "$n")" "$(us $((q1 - q0)) "$m")"
        done
        stop_dev
    done
done
