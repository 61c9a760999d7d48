#!/usr/bin/env bash
# The platform console's SQL at scale: a fresh database with `vectra
# seed-demo` (default 1000 organizations × 10 users × 1000 leads), then each
# console function called as the platform admin, 7 times, median reported.
# Uses VECTRA_BENCH_DATABASE_URL (a superuser URL) if set; otherwise starts
# Debian's cluster and uses its postgres superuser.
# Usage: bench/admin.sh [ORGS] [USERS_PER_ORG] [LEADS_PER_ORG]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ORGS=${1:-1000} USERS=${2:-10} LEADS=${3:-1000}

if [ -z "${VECTRA_BENCH_DATABASE_URL:-}" ]; then
    if command -v pg_ctlcluster >/dev/null 2>&1; then
        pg_ctlcluster 15 main start 2>/dev/null || true
        su postgres -c "psql -qc \"alter user postgres password 'postgres'\"" >/dev/null
    fi
    export VECTRA_BENCH_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres
fi
db=vectra_bench_admin
admin_url="${VECTRA_BENCH_DATABASE_URL%/*}/$db"
psql "$VECTRA_BENCH_DATABASE_URL" -qc "drop database if exists $db with (force)" -c "create database $db"
cargo build --release -q
DATABASE_ADMIN_URL="$admin_url" target/release/vectra migrate >/dev/null
start=$(date +%s.%N)
DATABASE_ADMIN_URL="$admin_url" target/release/vectra seed-demo --orgs "$ORGS" --users-per-org "$USERS" \
    --leads-per-org "$LEADS" >/dev/null
printf 'seed-demo %s × %s × %s: %.1f s\n' "$ORGS" "$USERS" "$LEADS" "$(echo "$(date +%s.%N) - $start" | bc)"
psql "$admin_url" -qAtc "vacuum analyze"
psql "$admin_url" -qAtc "select 'rows: ' || (select count(*) from organizations) || ' organizations, '
                        || (select count(*) from users) || ' users, ' || (select count(*) from leads) || ' leads, '
                        || (select count(*) from meetings) || ' meetings, ' || (select count(*) from email_outbox) || ' emails'"

# One call, timed inside the server (clock_timestamp around it), as the
# platform admin in its context.
time_call() {
    psql "$admin_url" -qAt <<SQL
begin;
set local role vectra_platform_admin;
select set_config('app.user_id', gen_random_uuid()::text, true), set_config('app.role', 'platform_admin', true) \g /dev/null
do \$\$
declare t0 timestamptz; ms float8[] := '{}';
begin
  for i in 1..7 loop
    t0 := clock_timestamp();
    perform $1;
    ms := ms || extract(epoch from clock_timestamp() - t0) * 1000;
  end loop;
  raise notice '%', (select pg_catalog.rpad(\$q\$$1\$q\$, 80) || pg_catalog.to_char(percentile_cont(0.5) within group (order by m), '99990.0') || ' ms'
                       from unnest(ms) m);
end
\$\$;
rollback;
SQL
}
org=$(psql "$admin_url" -qAtc "select id from organizations order by created_at limit 1")
# The overview is a snapshot (V25): what the worker's refresh costs, once.
psql "$admin_url" -qAt -c '\timing on' -c "select auth.refresh_overview('0 seconds')" \
    | sed -n 's/^Time: \(.*\)$/auth.refresh_overview (the worker, every minute)                               \1/p'
for call in \
    "app.admin_overview()" \
    "app.admin_list_organizations(1, 20, null, null, null, 'created_at', true, null)" \
    "app.admin_list_organizations(1, 20, null, null, null, 'users_count', true, null)" \
    "app.admin_list_organizations(1, 20, 'pro', 'active', 'tech', 'name', false, null)" \
    "app.admin_get_organization('$org')" \
    "app.admin_list_users(1, 20, null, null, null, null, 'created_at', true, null)" \
    "app.admin_list_users(1, 20, null, 'owner', null, 'torres', 'email', false, null)" \
    "app.admin_list_users(50, 20, null, null, null, null, 'last_login_at', true, null)" \
    "app.admin_list_notifications(1, 20, null, null, null)" \
    "auth.service_stats()"; do
    time_call "$call" 2>&1 | sed -n 's/^psql:.*NOTICE:  //p; s/^NOTICE:  //p'
done
[ -n "${KEEP:-}" ] || psql "$VECTRA_BENCH_DATABASE_URL" -qc "drop database $db with (force)"
