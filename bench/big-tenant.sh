#!/usr/bin/env bash
# Big tenants (docs/performance.md, "Big tenants"): every list request in a
# tenant of BENCH_BIG_LEADS (1,000,000) leads and 300,000 meetings, against
# the same request in a tenant of 100 leads, on one cluster.
#
#   bench/big-tenant.sh           the full run (seeding a million leads takes minutes)
#   bench/big-tenant.sh --smoke   a few seconds: the script works and its numbers parse (CI)
#
# 1. `vectra dev` (release build; BENCH_BIN to override) on its own cluster;
#    `seed-demo` loads one organization of BENCH_BIG_LEADS leads, then one of
#    100, then VACUUM ANALYZE.
# 2. Each request below, one client (wrk -c1), BENCH_SECONDS (3) each, in the
#    big tenant then the small one: p50, and the ratio.
# 3. The deep cursor is the next_cursor of the page that ends at row 9,000.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SMOKE=0
[ "${1:-}" = "--smoke" ] && SMOKE=1
if [ "$SMOKE" = 1 ]; then
    BIG=${BENCH_BIG_LEADS:-3000}; SECS=${BENCH_SECONDS:-1}
    BIN=${BENCH_BIN:-target/debug/vectra}
else
    BIG=${BENCH_BIG_LEADS:-1000000}; SECS=${BENCH_SECONDS:-3}
    BIN=${BENCH_BIN:-target/release/vectra}
    [ -n "${BENCH_BIN:-}" ] || cargo build --release -q --bin vectra
fi
PORT=${BENCH_PORT:-18098}
for tool in wrk curl python3 psql; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (Debian: wrk, curl, python3, postgresql-client-15)" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "bench: $BIN not built" >&2; exit 1; }
# shellcheck source=scripts/lib-dev.sh
. scripts/lib-dev.sh
DEV_KEEP=${BENCH_KEEP:-}
API=http://127.0.0.1:$PORT/api/v1
DEV_ENV="DATABASE_POOL_SIZE=4 RATE_LIMIT_PER_MINUTE=1000000000" start_dev "$BIN" "$PORT" --reset
W=$WORK
SU="postgres://postgres:$(dev_state superuser_password)@127.0.0.1:$(dev_state port)/vectra"

echo "== seeding a tenant of $BIG leads and one of 100"
start=$(date +%s)
DATABASE_ADMIN_URL=$SU "$BIN" seed-demo --orgs 1 --users-per-org 3 --leads-per-org "$BIG" --seed 1 >"$W/big.txt"
DATABASE_ADMIN_URL=$SU "$BIN" seed-demo --orgs 1 --users-per-org 3 --leads-per-org 100 --seed 2 --force >"$W/small.txt"
psql "$SU" -qc "vacuum analyze"
echo "   seeded in $(( $(date +%s) - start )) s"
printf 'bench admin password\n' | DATABASE_ADMIN_URL=$SU "$BIN" create-platform-admin --email pa@bench.test --password-stdin >/dev/null

login() {
    curl -fs -H 'content-type: application/json' -d "{\"email\":\"$1\",\"password\":\"$2\"}" "$API/auth/login" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
owner() { awk -F'\t' '$3 == "active" { print $4; exit }' "$1"; }
big_token=$(login "$(owner "$W/big.txt")" "demo password")
small_token=$(login "$(owner "$W/small.txt")" "demo password")
admin_token=$(login pa@bench.test "bench admin password")
campaign() { curl -fs -H "Authorization: Bearer $1" "$API/user/campaigns?per_page=1&sort=name&order=asc" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])'; }
deep_cursor() {
    curl -fs -H "Authorization: Bearer $1" "$API/user/leads?per_page=20&page=450" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["next_cursor"] or "")'
}
big_campaign=$(campaign "$big_token"); small_campaign=$(campaign "$small_token")
big_cursor=$(deep_cursor "$big_token"); small_cursor=$(deep_cursor "$small_token")

# p50 in ms of one client on URL with TOKEN for $SECS seconds.
p50() {
    local out
    out=$(wrk -t1 -c1 -d"${SECS}s" --latency -H "Authorization: Bearer $2" "$1" 2>&1) || true
    if grep -q "Non-2xx" <<<"$out"; then echo "bench: non-2xx answers for $1: $out" >&2; exit 1; fi
    python3 -c '
import re, sys
m = re.search(r"^\s*50%\s+([\d.]+)(us|ms|s)\s*$", sys.stdin.read(), re.M)
if not m: sys.exit("bench: no p50 in wrk output")
v, u = float(m.group(1)), m.group(2)
print(v / 1000 if u == "us" else v * 1000 if u == "s" else v)' <<<"$out"
}

# label|path (CAMPAIGN and CURSOR are each tenant's own)
requests=(
    "leads, first page|/user/leads?per_page=20"
    "leads, created_at asc|/user/leads?per_page=20&sort=created_at&order=asc"
    "leads, name asc|/user/leads?per_page=20&sort=name&order=asc"
    "leads, name desc|/user/leads?per_page=20&sort=name&order=desc"
    "leads, status=qualified|/user/leads?per_page=20&status=qualified"
    "leads, campaign_id|/user/leads?per_page=20&campaign_id=CAMPAIGN"
    "leads, status + campaign, by name|/user/leads?per_page=20&status=lost&campaign_id=CAMPAIGN&sort=name"
    "leads, search=lee|/user/leads?per_page=20&search=lee"
    "leads, search=example (every lead)|/user/leads?per_page=20&search=example"
    "leads, search=zzq (none)|/user/leads?per_page=20&search=zzq"
    "leads, page 500|/user/leads?per_page=20&page=500"
    "leads, page 500 by name|/user/leads?per_page=20&page=500&sort=name"
    "leads, cursor after row 9,000|/user/leads?per_page=20&cursor=CURSOR"
    "meetings, first page|/user/meetings?per_page=20"
    "meetings, created_at desc|/user/meetings?per_page=20&sort=created_at&order=desc"
    "meetings, status=completed|/user/meetings?per_page=20&status=completed"
    "meetings, campaign_id|/user/meetings?per_page=20&campaign_id=CAMPAIGN"
    "campaigns|/user/campaigns?per_page=20"
    "users|/user/organizations/me/users"
    "invitations|/user/organizations/me/invitations"
    "audit log|/user/organizations/me/audit-log"
    "notifications|/user/notifications"
    "sessions|/user/sessions"
)
: >"$W/results"
for r in "${requests[@]}"; do
    label=${r%%|*}; path=${r#*|}
    big_path=${path//CAMPAIGN/$big_campaign}; big_path=${big_path//CURSOR/$big_cursor}
    small_path=${path//CAMPAIGN/$small_campaign}; small_path=${small_path//CURSOR/$small_cursor}
    if [[ "$path" == *CURSOR* && ( -z "$big_cursor" || -z "$small_cursor" ) ]]; then
        # The small tenant has no row 9,000: its cursor is the first page's.
        small_path="/user/leads?per_page=20"
        [ -n "$big_cursor" ] || big_path="/user/leads?per_page=20"
    fi
    printf '%s\t%s\t%s\n' "$label" "$(p50 "$API$big_path" "$big_token")" "$(p50 "$API$small_path" "$small_token")" >>"$W/results"
done
for r in "overview|/admin/overview" "console organizations|/admin/organizations?sort=users_count" "console users|/admin/users?sort=last_login_at"; do
    printf '%s\t%s\t\n' "${r%%|*}" "$(p50 "$API${r#*|}" "$admin_token")" >>"$W/results"
done
stop_dev

python3 - "$SMOKE" "$BIG" "$W/results" <<'PY'
import sys
smoke, big, path = sys.argv[1] == "1", int(sys.argv[2]), sys.argv[3]
print()
print(f"| request | {big:,} leads p50 ms | 100 leads p50 ms | ratio |")
print("|---|---|---|---|")
worst = 0.0
for line in open(path):
    label, b, s = line.rstrip("\n").split("\t")
    b = float(b)
    if s:
        s = float(s)
        worst = max(worst, b / s)
        print(f"| {label} | {b:.2f} | {s:.2f} | {b / s:.2f} |")
    else:
        print(f"| {label} (platform admin) | {b:.2f} | | |")
print()
print(f"worst ratio: {worst:.2f}")
if smoke:
    print("big-tenant smoke: every number parsed")
PY
