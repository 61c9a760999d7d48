#!/usr/bin/env bash
# The performance benchmark (docs/performance.md): one command.
#
#   bench/run.sh            the full run (about 10 minutes on 2 cores)
#   bench/run.sh --smoke    a few seconds: the script works and its numbers parse (CI)
#   bench/run.sh --citus    the route benchmark (steps 1-5) on `vectra dev --citus`:
#                           a Citus coordinator and two workers on this machine,
#                           strict tenant routing (docs/scale-out.md); with the
#                           number of shards each route's statements touched.
#                           Combines with --smoke.
#
# 1. `vectra dev` (release build; BENCH_BIN to override) starts its own
#    PostgreSQL cluster in a temporary directory and migrates it; the service
#    runs WORKER_THREADS (1, dev mode's default) worker threads, also when
#    BENCH_BIN is a build older than that setting (TOKIO_WORKER_THREADS);
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
#    service's process; every process of the cluster -- of every node with
#    --citus -- with what its ended backends left to each postmaster) beside
#    PostgreSQL's CPU per pgbench transaction, and the service's peak
#    resident memory. With --citus, the shards each route touched: the
#    largest "Task Count" of the distributed plans of its statements, nested
#    ones included (auto_explain), when the captured SQL is replayed.
#    GET /user/me again with EdDSA access tokens (JWT_PRIVATE_KEY_FILE).
# 6. RLS overhead: the leads page as vectra_member with settings versus a
#    BYPASSRLS role with an explicit organization_id filter.
# 7. Scaling: the leads list's p50/p99 with 10 and with 10,000 organizations
#    (the same rows per organization).
# 8. The leads list's p99 alone and while logins run.
# 9. Big tenants: bench/big-tenant.sh (every list request in a tenant of
#    1,000,000 leads beside one of 100; BENCH_BIG=0 skips it).
# Steps 6-9 are not run with --citus.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SMOKE=0
CITUS=0
for arg in "$@"; do
    case "$arg" in
        --smoke) SMOKE=1 ;;
        --citus) CITUS=1 ;;
        *) echo "usage: bench/run.sh [--smoke] [--citus]" >&2; exit 2 ;;
    esac
done
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

# shellcheck source=scripts/lib-dev.sh
. scripts/lib-dev.sh
WORK=$(mktemp -d)
chmod 755 "$WORK"   # as root, the cluster's own user must reach .vectra/postgres
W=$WORK
DEV_KEEP=${BENCH_KEEP:-}
trap dev_cleanup EXIT
API=http://127.0.0.1:$PORT/api/v1
DEV_ARGS=()
[ "$CITUS" = 1 ] && DEV_ARGS+=(--citus)

# bench_dev [RUST_LOG [--reset]]: the service on its cluster, pool $POOL
# (and whatever BENCH_ENV holds, VAR=value words). The limits are lifted, but
# not past 60,000,000 a minute: the database's limiter counts in steps of a
# microsecond (60 s / limit), and a step of zero refuses concurrent logins.
BENCH_ENV=
THREADS=${WORKER_THREADS:-1}
bench_dev() {
    DEV_ENV="WORKER_THREADS=$THREADS TOKIO_WORKER_THREADS=$THREADS DATABASE_POOL_SIZE=$POOL RATE_LIMIT_PER_MINUTE=10000000 LOGIN_FAILURES_BEFORE_BACKOFF=1000000 \
OUTBOX_POLL_INTERVAL=60s RUST_LOG=${1:-warn} $BENCH_ENV" start_dev "$BIN" "$PORT" "${DEV_ARGS[@]}" ${2:-}
}
superuser_url() { echo "postgres://postgres:$(dev_state superuser_password)@127.0.0.1:$(dev_state port)/vectra"; }
service_url() { echo "postgres://vectra_authenticator:$(dev_state authenticator_password)@127.0.0.1:$(dev_state port)/vectra"; }
peak_rss_mb() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$DEV_PID/status"; }

# CPU ticks (user + system) of the service's process (its threads; not the
# cluster, its children), and of every process of the cluster: the
# postmaster and its children, with what ended backends left to the
# postmaster (cutime, cstime).
HZ=$(getconf CLK_TCK)
service_ticks() { awk '{print $14 + $15}' "/proc/$DEV_PID/stat"; }
pg_ticks() {
    local f pids=()
    for f in "$W"/.vectra/postgres*/data/postmaster.pid; do pids+=("$(head -1 "$f")"); done
    python3 - "${pids[@]}" <<'PY'
import os, sys
postmasters = {int(p) for p in sys.argv[1:]}
total = 0
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    if int(pid) in postmasters or int(stat[1]) in postmasters:
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
    bench_dev warn --reset
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

echo "== worker threads: $THREADS"
echo "== seeding $ORGS organizations × 10 users × 100 leads"
prepare "$ORGS"

# Capture the SQL of one request per route.
stop_dev
bench_dev "warn,vectra::sql=trace"
for r in "${routes[@]}"; do
    tokfile=$W/tokens; [ "$r" = overview ] && tokfile=$W/admin_token
    : >"$W/dev.log"
    curl -fs -o /dev/null -H "Authorization: Bearer $(head -1 "$tokfile")" "${url[$r]}"
    sleep 0.2
    python3 bench/capture.py "$W/dev.log" "$r" "$W" >/dev/null
done
# --citus: each route's captured SQL replayed once on the coordinator with
# Citus's command logging (remote and local): the distinct shards of
# distributed tables its statements touched, and the nodes that ran them.
declare -A shards
if [ "$CITUS" = 1 ]; then
    psql -X -Atc "select shardid from pg_dist_shard join pg_dist_partition using (logicalrelid) where partmethod = 'h'" \
        "$(superuser_url)" >"$W/hash_shards"
    for r in "${routes[@]}"; do
        { echo "set citus.log_remote_commands = on; set citus.log_local_commands = on; set client_min_messages = notice;"
          cat "$W/$r.seq.sql"; } | psql -X -q -v ON_ERROR_STOP=1 "$(superuser_url)" 2>"$W/$r.commands" >/dev/null \
            || { cat "$W/$r.commands" >&2; echo "bench: replaying $r on the coordinator failed" >&2; exit 1; }
        shards[$r]=$(python3 - "$W/hash_shards" "$W/$r.commands" <<'PY'
import re, sys
hash_shards = set(open(sys.argv[1]).read().split())
touched, nodes, server = set(), set(), None
for line in open(sys.argv[2]):
    if line.startswith("NOTICE:  executing the command locally"):
        nodes.add("coordinator")
    m = re.match(r"DETAIL:  on server \S+@(\S+)", line)
    if m:
        nodes.add(m.group(1))
    touched |= {m.group(1) for m in re.finditer(r"\b[a-z_][a-z0-9_]*_(\d{6,})\b", line)} & hash_shards
print(f"{len(touched)}/{len(nodes)}")
PY
)
    done
fi
stop_dev
bench_dev

# Every number goes to $W/results (KEY VALUE lines); the report reads them.
: >"$W/results"
put() { echo "$*" >>"$W/results"; }
for r in "${routes[@]}"; do
    tokfile=$W/tokens; [ "$r" = overview ] && tokfile=$W/admin_token
    read -r a b c d e < <(load "$r" "${url[$r]}" "$tokfile")
    put "rps.$r $a"; put "p50.$r $b"; put "p99.$r $c"; put "svc_us.$r $d"; put "pg_us.$r $e"
    if [ "$CITUS" = 1 ]; then put "shards.$r ${shards[$r]}"; fi
done
read -r a b c d e < <(load login "$API/auth/login" "$W/emails" POST '{"email":"{{token}}","password":"demo password"}')
put "rps.login $a"; put "p50.login $b"; put "p99.login $c"; put "svc_us.login $d"; put "pg_us.login $e"
put "rss_load $(peak_rss_mb)"
# The service stays up, idle: its cluster is the one pgbench measures.
for r in "${routes[@]}"; do
    read -r a b < <(pgtps "$W/$r.seq.sql"); put "seq.$r $a"; put "seq_us.$r $b"
    read -r a b < <(pgtps "$W/$r.pipe.sql"); put "pipe.$r $a"; put "pipe_us.$r $b"
done

if [ "$CITUS" = 0 ]; then
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
    read -r a _ < <(pgtps "$W/rls.sql"); put "rls_tps $a"
    read -r a _ < <(pgtps "$W/bypass.sql"); put "bypass_tps $a"

    # Reads while logins run.
    read -r _ _ a _ _ < <(load leads "${url[leads]}" "$W/tokens"); put "alone_p99 $a"
    load login "$API/auth/login" "$W/emails" POST '{"email":"{{token}}","password":"demo password"}' >"$W/login_bg" &
    bg=$!
    read -r _ _ a _ _ < <(load leads "${url[leads]}" "$W/tokens"); put "with_p99 $a"
    wait "$bg"
    put "rss_logins $(peak_rss_mb)"

    # GET /user/me with EdDSA access tokens: the same owners signed in again
    # with an Ed25519 key signing.
    openssl genpkey -algorithm ed25519 -out "$W/ed25519.pem" 2>/dev/null
    stop_dev
    BENCH_ENV="JWT_PRIVATE_KEY_FILE=$W/ed25519.pem"
    bench_dev
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
    read -r a b c d e < <(load me_eddsa "${url[me]}" "$W/ed_tokens")
    put "rps.me_eddsa $a"; put "p50.me_eddsa $b"; put "p99.me_eddsa $c"; put "svc_us.me_eddsa $d"; put "pg_us.me_eddsa $e"
    stop_dev
    BENCH_ENV=

    # Scaling: the same rows per organization, 10 and 10,000 organizations.
    for n in "$SCALE_SMALL" "$SCALE_LARGE"; do
        echo "== scaling: $n organizations"
        prepare "$n"
        read -r _ a b _ _ < <(load leads "${url[leads]}" "$W/tokens")
        put "scale_p50.$n $a"; put "scale_p99.$n $b"
    done
    put "scale_small $SCALE_SMALL"; put "scale_large $SCALE_LARGE"
fi
stop_dev

python3 - "$SMOKE" "$CITUS" "$W/results" <<'PY'
import sys
smoke, citus = sys.argv[1] == "1", sys.argv[2] == "1"
v = dict(line.split(None, 1) for line in open(sys.argv[3]).read().splitlines())
num = lambda k: float(v[k])
rows = [("GET /user/me", "me"), ("GET /user/leads?per_page=20", "leads"),
        ("GET /user/organizations/me/users", "users"), ("GET /admin/overview", "overview")]
print()
if citus:
    print("On `vectra dev --citus` (a coordinator and two workers on this machine, strict tenant routing).")
    print("Shards: the distinct shards of distributed tables the route's statements touched / the nodes that ran them.")
    print()
    print("| route | req/s | p50 ms | p99 ms | pgbench seq/s | pgbench pipelined/s | service / pipelined | shards / nodes |")
    print("|---|---|---|---|---|---|---|---|")
else:
    print("| route | req/s | p50 ms | p99 ms | pgbench seq/s | pgbench pipelined/s | service / pipelined |")
    print("|---|---|---|---|---|---|---|")
for label, k in rows:
    line = (f"| {label} | {num('rps.' + k):,.0f} | {num('p50.' + k):.1f} | {num('p99.' + k):.1f} | {num('seq.' + k):,.0f} "
            f"| {num('pipe.' + k):,.0f} | {num('rps.' + k) / num('pipe.' + k):.2f} |")
    print(line + (f" {v['shards.' + k]} |" if citus else ""))
print(f"| POST /auth/login | {num('rps.login'):,.0f} | {num('p50.login'):.1f} | {num('p99.login'):.1f} | | | |" + (" |" if citus else ""))
print()
print("CPU per request, µs (service and PostgreSQL under the service; PostgreSQL per pgbench transaction):")
print()
print("| route | service | PostgreSQL | pgbench sequential | pgbench pipelined | PostgreSQL / pipelined |")
print("|---|---|---|---|---|---|")
for label, k in rows:
    print(f"| {label} | {v['svc_us.' + k]} | {v['pg_us.' + k]} | {v['seq_us.' + k]} | {v['pipe_us.' + k]} "
          f"| {num('pg_us.' + k) / max(num('pipe_us.' + k), 1):.2f} |")
if not citus:
    print(f"| GET /user/me, EdDSA tokens ({num('rps.me_eddsa'):,.0f} req/s, p99 {num('p99.me_eddsa'):.1f} ms) "
          f"| {v['svc_us.me_eddsa']} | {v['pg_us.me_eddsa']} | | | |")
print(f"| POST /auth/login | {v['svc_us.login']} | {v['pg_us.login']} | | | |")
print()
if not citus:
    rls, bypass = num("rls_tps"), num("bypass_tps")
    print(f"RLS overhead (leads page): vectra_member {rls:,.0f}/s, BYPASSRLS with the filter {bypass:,.0f}/s: {100 * (bypass - rls) / bypass:+.1f} %")
    small, large = v["scale_small"], v["scale_large"]
    ps, qs, pl, ql = num("scale_p50." + small), num("scale_p99." + small), num("scale_p50." + large), num("scale_p99." + large)
    print(f"scaling (leads list p50 / p99): {small} organizations {ps:.1f} / {qs:.1f} ms, "
          f"{large} organizations {pl:.1f} / {ql:.1f} ms: p50 x{pl / ps:.2f}")
    print(f"leads list p99 alone {num('alone_p99'):.1f} ms, with logins running {num('with_p99'):.1f} ms: x{num('with_p99') / num('alone_p99'):.2f}")
    print(f"peak resident memory: {v['rss_load']} MB after the route loads, {v['rss_logins']} MB after the logins")
else:
    print(f"peak resident memory: {v['rss_load']} MB after the route loads")
if smoke:
    print("bench smoke: every number parsed")
PY

# Big tenants: every list request at a million leads beside a hundred.
if [ "$CITUS" = 0 ] && [ "${BENCH_BIG:-1}" != 0 ]; then
    echo
    echo "== big tenants (bench/big-tenant.sh)"
    big_args=()
    [ "$SMOKE" = 1 ] && big_args+=(--smoke)
    BENCH_BIN=$BIN BENCH_PORT=$((PORT + 1)) bench/big-tenant.sh "${big_args[@]}"
fi
