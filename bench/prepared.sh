#!/usr/bin/env bash
# What DATABASE_PREPARED_STATEMENTS=false costs (docs/performance.md,
# "Prepared statements or a transaction-mode pooler"): GET /api/v1/user/me
# under wrk, once with named prepared statements (the default) and once with
# unnamed ones (what a transaction-mode pooler needs), against the same
# `vectra dev` cluster, directly (no pooler: the statements' own cost).
# Per mode: requests/s, p50, p99, and CPU per request of the service and of
# PostgreSQL (every process of the cluster, from /proc), in microseconds.
#
#   bench/prepared.sh     (BENCH_BIN, BENCH_SECONDS=15, BENCH_CONNECTIONS=32, BENCH_POOL=8)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN=${BENCH_BIN:-target/release/vectra}
[ -n "${BENCH_BIN:-}" ] || cargo build --release -q --bin vectra
SECS=${BENCH_SECONDS:-15}
CONN=${BENCH_CONNECTIONS:-32}
POOL=${BENCH_POOL:-8}
PORT=${BENCH_PORT:-18098}
W=$(mktemp -d)
chmod 755 "$W"
DEV_PID=
stop() { [ -n "$DEV_PID" ] && kill -TERM "$DEV_PID" 2>/dev/null && wait "$DEV_PID" 2>/dev/null; DEV_PID=; }
trap 'stop; rm -rf "$W"' EXIT

start() { # DATABASE_PREPARED_STATEMENTS
    env BIND_ADDR=127.0.0.1:$PORT DATABASE_POOL_SIZE=$POOL DATABASE_PREPARED_STATEMENTS="$1" \
        RATE_LIMIT_PER_MINUTE=1000000 RUST_LOG=warn OUTBOX_POLL_INTERVAL=1s \
        "$BIN" dev --dir "$W/.vectra" >>"$W/dev.log" 2>&1 &
    DEV_PID=$!
    for _ in $(seq 1 600); do
        curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    cat "$W/dev.log"; exit 1
}

# CPU ticks (user + system) of a process and its threads, and of every
# process of the cluster (the postmaster's children included).
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
cluster_ticks() {
    local pm
    pm=$(head -1 "$W/.vectra/postgres/data/postmaster.pid")
    python3 - "$pm" <<'PY'
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
    ppid = int(stat[1])
    if int(pid) == pm or ppid == pm:
        # utime, stime, and what children that ended left (cutime, cstime).
        total += int(stat[11]) + int(stat[12]) + int(stat[13]) + int(stat[14])
print(total)
PY
}

start true
curl -sf -X POST "http://127.0.0.1:$PORT/api/v1/auth/register" -H 'content-type: application/json' \
    -d '{"email":"bench@prepared.test","password":"correct horse battery","full_name":"Bench","organization_name":"Bench"}' >/dev/null
TOKEN=
for _ in $(seq 1 50); do
    TOKEN=$(curl -s "http://127.0.0.1:$PORT/dev/mailbox.json" -H "host: localhost" \
        | python3 -c 'import json,re,sys; m=[x for x in json.load(sys.stdin) if "bench@prepared.test" in str(x["to"])]; print(re.search(r"token=([A-Za-z0-9_-]+)", m[0]["text"]).group(1) if m else "")')
    [ -n "$TOKEN" ] && break
    sleep 0.2
done
ACCESS=$(curl -s -X POST "http://127.0.0.1:$PORT/api/v1/auth/verify-email" -H 'content-type: application/json' \
    -d "{\"token\":\"$TOKEN\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
stop

HZ=$(getconf CLK_TCK)
printf '%-28s %10s %9s %9s %16s %16s\n' "DATABASE_PREPARED_STATEMENTS" "req/s" "p50" "p99" "service µs/req" "PostgreSQL µs/req"
for mode in true false; do
    start "$mode"
    # Warm the connections and their caches first.
    wrk -t2 -c"$CONN" -d3s -H "Authorization: Bearer $ACCESS" "http://127.0.0.1:$PORT/api/v1/user/me" >/dev/null
    s0=$(ticks "$DEV_PID"); p0=$(cluster_ticks)
    out=$(wrk -t2 -c"$CONN" -d"${SECS}s" --latency -H "Authorization: Bearer $ACCESS" "http://127.0.0.1:$PORT/api/v1/user/me")
    s1=$(ticks "$DEV_PID"); p1=$(cluster_ticks)
    python3 - "$mode" "$out" "$((s1 - s0))" "$((p1 - p0))" "$HZ" <<'PY'
import re, sys
mode, out, service, pg, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
n = int(re.search(r"(\d+) requests in", out).group(1))
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
us = lambda ticks: ticks / hz / n * 1e6
print(f"{mode:<28} {rate:>10.0f} {lat.get('50', '?'):>9} {lat.get('99', '?'):>9} {us(service):>16.0f} {us(pg):>16.0f}")
PY
    stop
done
