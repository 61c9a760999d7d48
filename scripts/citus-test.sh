#!/usr/bin/env bash
# The service on a Citus cluster (docs/scale-out.md), as CI runs it:
#
#   1. Citus for the installed PostgreSQL (scripts/install-citus.sh: built
#      from $CITUS_SOURCE when it is not installed), and pgTAP for it
#      (checked, not installed: Debian's postgresql-15-pgtap);
#   2. `vectra dev --citus`: a coordinator and two workers, the schema
#      distributed by organization by `vectra migrate`, strict tenant routing
#      (a statement of an organization user's request that would touch more
#      than one shard is an error);
#   3. the Postman collection against it, every response checked against
#      the OpenAPI document (scripts/run-newman.sh): each tenant route then
#      ran with strict routing, so none fans out;
#   4. the cluster's pgTAP files (sql/citus/tests/): the layout, the roles on
#      each node, routing, and isolation as a request role on the coordinator
#      and on a worker; then the plain suite's tenant isolation and direct
#      SQL files (sql/tests/02_tenant_isolation.sql, 04_direct_sql.sql), role
#      by role, on the coordinator;
#   5. the outbox claimed by three workers at once across every shard: each
#      row exactly once.
#
#   scripts/citus-test.sh [path/to/vectra]   (default: target/debug/vectra)
#
# Writes "passed failed" to $CITUS_STATS when set. Exit status non-zero on
# any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN=${1:-target/debug/vectra}
PORT=${CITUS_TEST_PORT:-18190}
log() { printf 'citus-test: %s\n' "$*"; }

scripts/install-citus.sh </dev/null
# Step 4 needs pgTAP beside Citus (Debian: postgresql-15-pgtap, which .ci/run
# installs): say so now rather than after the Postman run.
# (The PostgreSQL install-citus.sh built for: PG_CONFIG, else the one of PG_MAJOR.)
pg_config=${PG_CONFIG:-/usr/lib/postgresql/${PG_MAJOR:-15}/bin/pg_config}
[ -x "$pg_config" ] || pg_config=$(command -v pg_config)
sharedir=$("$pg_config" --sharedir)
[ -f "$sharedir/extension/pgtap.control" ] || {
    log "pgTAP is not installed for this PostgreSQL ($sharedir/extension/pgtap.control): apt-get install postgresql-15-pgtap"
    [ -n "${CITUS_STATS:-}" ] && echo "0 1" >"$CITUS_STATS"
    exit 1
}

# shellcheck source=scripts/lib-dev.sh
. scripts/lib-dev.sh
DEV_ENV="RATE_LIMIT_PER_MINUTE=1000" start_dev "$BIN" "$PORT" --citus
log "$(grep -m1 'Citus:' "$WORK/dev.log" || true)"

passed=0
failed=0
count() { # count <passed> <failed>
    passed=$((passed + $1))
    failed=$((failed + $2))
}

# The cluster's superuser and nodes, from the dev state.
read -r SUPERPASS COORD WORKER1 < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["superuser_password"], d["port"], d["worker_ports"][0])' "$WORK/.vectra/dev.json")
export PGPASSWORD=$SUPERPASS
psql_on() { # psql_on <port> [psql arguments…]
    local port=$1
    shift
    psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d vectra -v ON_ERROR_STOP=1 "$@"
}

log "the Postman collection, with strict tenant routing"
status=0
NEWMAN_URL="http://127.0.0.1:$PORT" NEWMAN_STATS="$WORK/newman.stats" scripts/run-newman.sh "$BIN" </dev/null || status=$?
read -r total nfailed <"$WORK/newman.stats" || { total=0; nfailed=1; }
count $((total - nfailed)) "$nfailed"
[ "$status" -eq 0 ] || { log "Newman or the contract check failed on the cluster"; count 0 1; }
if grep -q "multi-task query about to be executed" "$WORK/.vectra/postgres/postgres.log" 2>/dev/null; then
    log "a tenant request fanned out to several shards:"
    grep -B2 -A6 "multi-task query about to be executed" "$WORK/.vectra/postgres/postgres.log" | head -40
    count 0 1
fi

# pgTAP on every node (the extension is created on the coordinator and
# propagated to the workers).
psql_on "$COORD" -c "create extension if not exists pgtap" -c "grant execute on all functions in schema public to public"

tap() { # tap <label> <port> <file>
    local label=$1 port=$2 file=$3 out
    out=$(psql_on "$port" -At -f "$file" 2>&1) || true
    local plan ok notok
    plan=$(grep -m1 -oE '^1\.\.[0-9]+' <<<"$out" | cut -c4- || true)
    ok=$(grep -cE '^ok ' <<<"$out" || true)
    notok=$(grep -cE '^not ok ' <<<"$out" || true)
    if [ -n "$plan" ] && [ "$notok" -eq 0 ] && [ "$ok" -eq "$plan" ]; then
        log "$label: $ok/$plan"
        count "$ok" 0
    else
        log "$label: FAILED ($ok/${plan:-?})"
        printf '%s\n' "$out" | sed 's/^/    /'
        count "$ok" $((${plan:-$((ok + 1))} - ok > 0 ? ${plan:-$((ok + 1))} - ok : 1))
    fi
}

# The worker holding the shard of audit_log of the organization with the
# most entries (the collection's organizations may all sit on one worker).
WORKER=$(psql_on "$COORD" -At -c "select p.nodeport from pg_dist_shard_placement p
  where p.shardid = get_shard_id_for_distribution_column('public.audit_log',
          (select organization_id from public.audit_log where organization_id <> app.platform_org_id()
            group by 1 order by count(*) desc limit 1))")
for f in sql/citus/tests/*.sql; do
    case "$f" in
        *worker*) tap "$(basename "$f") on a worker" "${WORKER:-$WORKER1}" "$f" ;;
        *) tap "$(basename "$f")" "$COORD" "$f" ;;
    esac
done
# The plain suite's tenant isolation and direct SQL as each role, unchanged,
# on the coordinator (each file commits its fixtures first and removes or
# keeps apart what it leaves: they share this database with the collection).
tap "02_tenant_isolation.sql on the coordinator" "$COORD" sql/tests/02_tenant_isolation.sql
tap "04_direct_sql.sql on the coordinator" "$COORD" sql/tests/04_direct_sql.sql

log "the outbox, three claimers at once"
if scripts/citus-outbox-check.sh "$COORD" </dev/null; then
    count 1 0
else
    count 0 1
fi

log "$passed passed, $failed failed"
[ -n "${CITUS_STATS:-}" ] && echo "$passed $failed" >"$CITUS_STATS"
[ "$failed" -eq 0 ]
