#!/usr/bin/env bash
# The performance benchmark (docs/performance.md): one command.
#
#   bench/run.sh            the full run (about 6 minutes on 2 cores)
#   bench/run.sh --smoke    a few seconds: the script works and its numbers parse (CI)
#
# 1. `vectra dev` (release build; BENCH_BIN to override) starts its own
#    PostgreSQL cluster in a temporary directory and migrates it;
#    `seed-demo` loads BENCH_ORGS (1,000) organizations × 10 users × 100 leads.
# 2. Tokens of many owners (spread over organizations) and of the platform admin.
# 3. wrk, BENCH_CONNECTIONS (64) connections, BENCH_SECONDS (10) per route:
#    GET /user/me, /user/leads?per_page=20, /user/organizations/me/users,
#    /admin/overview, and POST /auth/login alone.
# 4. pgbench (8 clients, prepared) replays exactly the SQL the service sent
#    for each route (captured from its `vectra::sql` trace, values included),
#    sequential and pipelined: the database's ceiling.
# 5. Per route: requests/s, p50, p99, the ratio to the pipelined ceiling, the
#    CPU per request of the service and of PostgreSQL (from /proc: the
#    service's process; every process of the cluster, with what its ended
#    backends left to the postmaster) beside PostgreSQL's CPU per pgbench
#    transaction, and the service's peak resident memory.
#    GET /user/me again with EdDSA access tokens (JWT_PRIVATE_KEY_FILE).
# 6. RLS overhead: the leads page as vectra_member with settings versus a
#    BYPASSRLS role with an explicit organization_id filter.
# 7. Scaling: the leads list's p50/p99 with 10 and with 10,000 organizations
#    (the same rows per organization).
# 8. The leads list's p99 alone and while logins run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SMOKE=0
[ "${1:-}" = "--smoke" ] && SMOKE=1
if [ "$SMOKE" = 1 ]; then
    ORGS=${BENCH_ORGS:-20}; SECS=${BENCH_SECONDS:-1}; SCALE_SMALL=2; SCALE_LARGE=20; NTOKENS=10
    BIN=${BENCH_BIN:-target/debug/vectra}
else
    ORGS=${BENCH_ORGS:-1000}; SECS=${BENCH_SECONDS:-10}; SCALE_SMALL=10; SCALE_LARGE=${BENCH_SCALE_LARGE:-10000}; NTOKENS=${BENCH_TOKENS:-200}
    BIN=${BENCH_BIN:-target/release/vectra}
    [ -n "${BENCH_BIN:-}" ] || cargo build --release -q --bin vectra
fi
CONN=${BENCH_CONNECTIONS:-64}
POOL=${BENCH_POOL:-8}
PORT=${BENCH_PORT:-18099}
for tool in wrk pgbench curl python3 openssl; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (Debian: wrk, postgresql-client-15, curl, python3, openssl)" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "bench: $BIN not built" >&2; exit 1; }

W=$(mktemp -d)
chmod 755 "$W"   # as root, the cluster's own user must reach .vectra/postgres
DEV_PID=
stop_dev() {
    if [ -n "$DEV_PID" ] && kill -0 "$DEV_PID" 2>/dev/null; then kill -TERM "$DEV_PID"; wait "$DEV_PID" || true; fi
    DEV_PID=
}
trap 'stop_dev; [ -n "${BENCH_KEEP:-}" ] || rm -rf "$W"' EXIT
API=http://127.0.0.1:$PORT/api/v1

# start_dev [RUST_LOG [--reset]]: the service on its cluster, pool $POOL
# (and whatever DEV_ENV holds, VAR=value words). The limits are lifted, but
# not past 60,000,000 a minute: the database's limiter counts in steps of a
# microsecond (60 s / limit), and a step of zero refuses concurrent logins.
DEV_ENV=
start_dev() {
    env $DEV_ENV BIND_ADDR=127.0.0.1:$PORT DATABASE_POOL_SIZE=$POOL RATE_LIMIT_PER_MINUTE=10000000 \
        LOGIN_FAILURES_BEFORE_BACKOFF=1000000 RUST_LOG="${1:-warn}" OUTBOX_POLL_INTERVAL=60s \
        "$BIN" dev --dir "$W/.vectra" ${2:-} >>"$W/dev.log" 2>&1 &
    DEV_PID=$!
    for _ in $(seq 600); do
        curl -fs "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && return 0
        kill -0 "$DEV_PID" 2>/dev/null || { cat "$W/dev.log"; exit 1; }
        sleep 0.1
    done
    echo "bench: not ready" >&2; exit 1
}
state() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$W/.vectra/dev.json" "$1"; }
superuser_url() { echo "postgres://postgres:$(state superuser_password)@127.0.0.1:$(state port)/vectra"; }
service_url() { echo "postgres://vectra_authenticator:$(state authenticator_password)@127.0.0.1:$(state port)/vectra"; }
peak_rss_mb() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$DEV_PID/status"; }

# CPU ticks (user + system) of the service's process (its threads; not the
# cluster, its children), and of every process of the cluster: the
# postmaster and its children, with what ended backends left to the
# postmaster (cutime, cstime).
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
# us TICKS COUNT: microseconds of CPU per request.
us() { python3 -c "import sys; print(round(int(sys.argv[1]) / $HZ / max(int(sys.argv[2]), 1) * 1e6))" "$1" "$2"; }

# prepare ORGS: a fresh cluster seeded with ORGS × 10 × 100, tokens of
# $NTOKENS active owners in $W/tokens, their emails in $W/emails, the
# platform admin's token in $W/admin_token.
prepare() {
    local orgs=$1
    stop_dev
    start_dev warn --reset
    DATABASE_ADMIN_URL=$(superuser_url) "$BIN" seed-demo --orgs "$orgs" --users-per-org 10 --leads-per-org 100 >"$W/seed.txt"
    # (no pipe into head: pipefail would take its early exit for a failure)
    awk -F'\t' -v n="$NTOKENS" '$3 == "active" && count < n { count++; print $4 }' "$W/seed.txt" >"$W/emails"
    : >"$W/tokens"
    while read -r email; do
        curl -fs -H 'content-type: application/json' -d "{\"email\":\"$email\",\"password\":\"demo password\"}" \
            "$API/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])' >>"$W/tokens"
    done <"$W/emails"
    printf 'bench admin password\n' | DATABASE_ADMIN_URL=$(superuser_url) "$BIN" create-platform-admin \
        --email pa@bench.test --password-stdin >/dev/null
    curl -fs -H 'content-type: application/json' -d '{"email":"pa@bench.test","password":"bench admin password"}' \
        "$API/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])' >"$W/admin_token"
}

# load NAME URL TOKENFILE [METHOD BODY]: wrk; prints "rps p50 p99
# service_us pg_us" (CPU per request).
load() {
    local out s0 p0 s1 p1
    s0=$(service_ticks); p0=$(pg_ticks)
    out=$(WRK_TOKENS=$3 WRK_METHOD=${4:-GET} WRK_BODY=${5:-} wrk -t2 -c"$CONN" -d"${SECS}s" --timeout 30s -s bench/tokens.lua "$2" 2>&1) || true
    local line
    line=$(grep '^BENCH ' <<<"$out") || { echo "bench: wrk failed for $1: $out" >&2; exit 1; }
    s1=$(service_ticks); p1=$(pg_ticks)
    if ! grep -q 'errors=0 non2xx=0' <<<"$line"; then echo "bench: $1 had errors: $line" >&2; exit 1; fi
    local n
    n=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line")
    echo "$(sed 's/.*rps=\([0-9.]*\) p50_ms=\([0-9.]*\) p99_ms=\([0-9.]*\).*/\1 \2 \3/' <<<"$line") $(us $((s1 - s0)) "$n") $(us $((p1 - p0)) "$n")"
}

# pgtps FILE: pgbench's transactions per second, as the service's role, and
# PostgreSQL's CPU per transaction (µs; its 8 connections' start included).
pgtps() {
    local out p0 p1
    p0=$(pg_ticks)
    out=$(pgbench -n -M prepared -c 8 -j 2 -T "$SECS" -f "$1" "$(service_url)" 2>&1)
    p1=$(pg_ticks)
    local tps n
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")
    n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
    [ -n "$tps" ] && [ -n "$n" ] || { echo "bench: pgbench failed on $1: $out" >&2; exit 1; }
    echo "$tps $(us $((p1 - p0)) "$n")"
}

routes=(me leads users overview)
declare -A url=(
    [me]="$API/user/me" [leads]="$API/user/leads?per_page=20"
    [users]="$API/user/organizations/me/users" [overview]="$API/admin/overview"
)

echo "== seeding $ORGS organizations × 10 users × 100 leads"
prepare "$ORGS"

# Capture the SQL of one request per route.
stop_dev
start_dev "warn,vectra::sql=trace"
for r in "${routes[@]}"; do
    tokfile=$W/tokens; [ "$r" = overview ] && tokfile=$W/admin_token
    : >"$W/dev.log"
    curl -fs -o /dev/null -H "Authorization: Bearer $(head -1 "$tokfile")" "${url[$r]}"
    sleep 0.2
    python3 bench/capture.py "$W/dev.log" "$r" "$W" >/dev/null
done
stop_dev
start_dev

declare -A rps p50 p99 seq pipe svc_us pg_us seq_us pipe_us
for r in "${routes[@]}"; do
    tokfile=$W/tokens; [ "$r" = overview ] && tokfile=$W/admin_token
    read -r rps[$r] p50[$r] p99[$r] svc_us[$r] pg_us[$r] < <(load "$r" "${url[$r]}" "$tokfile")
done
read -r rps[login] p50[login] p99[login] svc_us[login] pg_us[login] < <(load login "$API/auth/login" "$W/emails" POST '{"email":"{{token}}","password":"demo password"}')
rss_load=$(peak_rss_mb)
# The service stays up, idle: its cluster is the one pgbench measures.
for r in "${routes[@]}"; do
    read -r seq[$r] seq_us[$r] < <(pgtps "$W/$r.seq.sql")
    read -r pipe[$r] pipe_us[$r] < <(pgtps "$W/$r.pipe.sql")
done

# RLS overhead at the SQL level.
org=$(psql "$(superuser_url)" -Atc "select organization_id from users where email = '$(head -1 "$W/emails")'")
psql "$(superuser_url)" -qc "do \$\$ begin if not exists (select from pg_roles where rolname = 'bench_bypass') then create role bench_bypass bypassrls; end if; end \$\$; grant select on public.leads to bench_bypass; grant bench_bypass, vectra_member to vectra_authenticator"
cat >"$W/rls.sql" <<SQL
begin;
select set_config('role', 'vectra_member', true), set_config('app.org_id', '$org', true), set_config('app.role', 'owner', true);
select id, email, status from public.leads order by created_at desc, id limit 20;
commit;
SQL
cat >"$W/bypass.sql" <<SQL
begin;
select set_config('role', 'bench_bypass', true);
select id, email, status from public.leads where organization_id = '$org' order by created_at desc, id limit 20;
commit;
SQL
read -r rls_tps _ < <(pgtps "$W/rls.sql")
read -r bypass_tps _ < <(pgtps "$W/bypass.sql")

# Reads while logins run.
read -r _ _ alone_p99 _ _ < <(load leads "${url[leads]}" "$W/tokens")
load login "$API/auth/login" "$W/emails" POST '{"email":"{{token}}","password":"demo password"}' >"$W/login_bg" &
bg=$!
read -r _ _ with_p99 _ _ < <(load leads "${url[leads]}" "$W/tokens")
wait "$bg"
rss_logins=$(peak_rss_mb)

# GET /user/me with EdDSA access tokens: the same owners signed in again
# with an Ed25519 key signing.
openssl genpkey -algorithm ed25519 -out "$W/ed25519.pem" 2>/dev/null
stop_dev
DEV_ENV="JWT_PRIVATE_KEY_FILE=$W/ed25519.pem"
start_dev
: >"$W/ed_tokens"
while read -r email; do
    curl -fs -H 'content-type: application/json' -d "{\"email\":\"$email\",\"password\":\"demo password\"}" \
        "$API/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])' >>"$W/ed_tokens"
done <"$W/emails"
python3 - "$(head -1 "$W/ed_tokens")" <<'PY'
import base64, json, sys
header = json.loads(base64.urlsafe_b64decode(sys.argv[1].split(".")[0] + "=="))
assert header["alg"] == "EdDSA", header
PY
read -r rps[me_eddsa] p50[me_eddsa] p99[me_eddsa] svc_us[me_eddsa] pg_us[me_eddsa] < <(load me_eddsa "${url[me]}" "$W/ed_tokens")
stop_dev
DEV_ENV=

# Scaling: the same rows per organization, 10 and 10,000 organizations.
declare -A sp50 sp99
for n in "$SCALE_SMALL" "$SCALE_LARGE"; do
    echo "== scaling: $n organizations"
    prepare "$n"
    read -r _ sp50[$n] sp99[$n] _ _ < <(load leads "${url[leads]}" "$W/tokens")
done
stop_dev

python3 - "$SMOKE" <<PY
import sys
smoke = sys.argv[1] == "1"
rows = [("GET /user/me", "me"), ("GET /user/leads?per_page=20", "leads"),
        ("GET /user/organizations/me/users", "users"), ("GET /admin/overview", "overview")]
rps = dict(me=${rps[me]}, leads=${rps[leads]}, users=${rps[users]}, overview=${rps[overview]})
p50 = dict(me=${p50[me]}, leads=${p50[leads]}, users=${p50[users]}, overview=${p50[overview]})
p99 = dict(me=${p99[me]}, leads=${p99[leads]}, users=${p99[users]}, overview=${p99[overview]})
seq = dict(me=${seq[me]}, leads=${seq[leads]}, users=${seq[users]}, overview=${seq[overview]})
pipe = dict(me=${pipe[me]}, leads=${pipe[leads]}, users=${pipe[users]}, overview=${pipe[overview]})
svc_us = dict(me=${svc_us[me]}, leads=${svc_us[leads]}, users=${svc_us[users]}, overview=${svc_us[overview]})
pg_us = dict(me=${pg_us[me]}, leads=${pg_us[leads]}, users=${pg_us[users]}, overview=${pg_us[overview]})
seq_us = dict(me=${seq_us[me]}, leads=${seq_us[leads]}, users=${seq_us[users]}, overview=${seq_us[overview]})
pipe_us = dict(me=${pipe_us[me]}, leads=${pipe_us[leads]}, users=${pipe_us[users]}, overview=${pipe_us[overview]})
print()
print("| route | req/s | p50 ms | p99 ms | pgbench seq/s | pgbench pipelined/s | service / pipelined |")
print("|---|---|---|---|---|---|---|")
for label, k in rows:
    print(f"| {label} | {rps[k]:,.0f} | {p50[k]:.1f} | {p99[k]:.1f} | {seq[k]:,.0f} | {pipe[k]:,.0f} | {rps[k] / pipe[k]:.2f} |")
print(f"| POST /auth/login | {${rps[login]}:,.0f} | {${p50[login]}:.1f} | {${p99[login]}:.1f} | | | |")
print()
print("CPU per request, µs (service and PostgreSQL under the service; PostgreSQL per pgbench transaction):")
print()
print("| route | service | PostgreSQL | pgbench sequential | pgbench pipelined | PostgreSQL / pipelined |")
print("|---|---|---|---|---|---|")
for label, k in rows:
    print(f"| {label} | {svc_us[k]} | {pg_us[k]} | {seq_us[k]} | {pipe_us[k]} | {pg_us[k] / max(pipe_us[k], 1):.2f} |")
print(f"| GET /user/me, EdDSA tokens ({${rps[me_eddsa]}:,.0f} req/s, p99 {${p99[me_eddsa]}:.1f} ms) | {${svc_us[me_eddsa]}} | {${pg_us[me_eddsa]}} | | | |")
print(f"| POST /auth/login | {${svc_us[login]}} | {${pg_us[login]}} | | | |")
print()
rls, bypass = ${rls_tps}, ${bypass_tps}
print(f"RLS overhead (leads page): vectra_member {rls:,.0f}/s, BYPASSRLS with the filter {bypass:,.0f}/s: {100 * (bypass - rls) / bypass:+.1f} %")
print(f"scaling (leads list p50 / p99): {${SCALE_SMALL}} organizations {${sp50[$SCALE_SMALL]}:.1f} / {${sp99[$SCALE_SMALL]}:.1f} ms, "
      f"{${SCALE_LARGE}} organizations {${sp50[$SCALE_LARGE]}:.1f} / {${sp99[$SCALE_LARGE]}:.1f} ms: p50 x{${sp50[$SCALE_LARGE]} / ${sp50[$SCALE_SMALL]}:.2f}")
print(f"leads list p99 alone {${alone_p99}:.1f} ms, with logins running {${with_p99}:.1f} ms: x{${with_p99} / ${alone_p99}:.2f}")
print(f"peak resident memory: {${rss_load}} MB after the route loads, {${rss_logins}} MB after the logins")
if smoke:
    print("bench smoke: every number parsed")
PY
