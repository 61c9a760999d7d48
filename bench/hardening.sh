#!/usr/bin/env bash
# What the security hardening bounds, measured (docs/performance.md):
#
#  1. 300 concurrent change-password calls with a wrong current password
#     from one token, sent at once while another tenant reads GET /user/me
#     (wrk, 8 connections, 8 s): how long the burst takes to drain, the
#     server's peak resident memory, and the other tenant's p99 and req/s,
#     alone and during the burst. Three setups: hashing unbounded
#     (HASH_CONCURRENCY=300, as before the semaphore) and rate limits off; the
#     semaphore alone; the defaults (semaphore and 10/min per user);
#  2. forgot-password for a known and an unknown email, 200 requests each,
#     interleaved: the medians must not tell them apart.
#
# Needs PostgreSQL 15 and wrk (see bench/serve.sh). Prints, asserts nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. bench/serve.sh

# 300 requests on 300 connections, all written before any answer is read.
burst_300() {
    python3 - "$BENCH_PORT" "$1" <<'PY'
import asyncio, json, sys, time
port, token = int(sys.argv[1]), sys.argv[2]
body = json.dumps({"current_password": "not the password at all", "new_password": "another password 1"}).encode()
request = (f"POST /api/v1/auth/change-password HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
           f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
async def one():
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request); await writer.drain()
    status = (await reader.readline()).split()[1].decode()
    await reader.read(); writer.close()
    return status
async def main():
    start = time.perf_counter()
    statuses = await asyncio.gather(*[one() for _ in range(300)])
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    print(f"drained in {time.perf_counter() - start:.1f} s, statuses {counts}")
asyncio.run(main())
PY
}

# p99 (ms) and req/s from wrk --latency output.
wrk_summary() { awk '/ 99% / {p99=$2} /Requests\/sec/ {rps=$2} END {printf "p99 %s, %s req/s", p99, rps}' "$1"; }

burst() {
    local label=$1; shift
    bench_serve "$@"
    local attacker other
    attacker=$(bench_owner "attacker$RANDOM@example.com")
    other=$(bench_owner "other$RANDOM@example.com")
    wrk -t1 -c8 -d8s --latency -H "Authorization: Bearer $other" "$api/user/me" >/tmp/bench-alone.txt
    local before
    before=$(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' "/proc/$pid/status")
    wrk -t1 -c8 -d8s --latency -H "Authorization: Bearer $other" "$api/user/me" >/tmp/bench-during.txt &
    local reader=$!
    sleep 1
    local burst
    burst=$(burst_300 "$attacker")
    wait "$reader"
    printf '%s\n    burst: %s\n    other tenant alone: %s; during the burst: %s\n    peak RSS before the burst %s, after %s\n' \
        "$label" "$burst" "$(wrk_summary /tmp/bench-alone.txt)" "$(wrk_summary /tmp/bench-during.txt)" \
        "$before" "$(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' "/proc/$pid/status")"
    bench_stop
}

echo "== 1. 300 concurrent change-password calls, wrong current password, one token"
burst "unbounded hashing, no rate limit (before)" HASH_CONCURRENCY=300 RATE_LIMIT_PER_MINUTE=100000000
burst "semaphore ($(nproc) permits), no rate limit" RATE_LIMIT_PER_MINUTE=100000000
burst "defaults (semaphore + 10/min per user)"

echo "== 2. forgot-password timing, 200 requests per email, interleaved"
bench_serve RATE_LIMIT_PER_MINUTE=100000000
# Every request for the known email queues a link (no outstanding-link cap).
psql "$DATABASE_ADMIN_URL" -qc "update auth.settings set outstanding_links_per_purpose = 100000"
bench_owner known@example.com >/dev/null
python3 - "$BENCH_PORT" <<'PY'
import http.client, json, statistics, sys, time
port = int(sys.argv[1])
conn = http.client.HTTPConnection("127.0.0.1", port)
times = {"known": [], "unknown": []}
for i in range(200):
    for kind, email in (("known", "known@example.com"), ("unknown", f"nobody{i}@example.com")):
        body = json.dumps({"email": email})
        start = time.perf_counter()
        conn.request("POST", "/api/v1/auth/forgot-password", body, {"content-type": "application/json"})
        r = conn.getresponse(); r.read()
        times[kind].append((time.perf_counter() - start) * 1000)
        assert r.status == 202, r.status
for kind, t in times.items():
    t.sort()
    print(f"{kind:<8} median {statistics.median(t):7.2f} ms   p10 {t[19]:7.2f}   p90 {t[179]:7.2f}   max {t[-1]:7.2f}")
print(f"difference of the medians: {statistics.median(times['known']) - statistics.median(times['unknown']):+.2f} ms")
PY
psql "$DATABASE_ADMIN_URL" -Atc "select count(*) || ' reset links queued for the known email' from email_outbox where template = 'reset-password'"
