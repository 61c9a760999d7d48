#!/usr/bin/env bash
# Rebalancing while serving (docs/scale-out.md): `vectra dev --citus` with
# demo data, a reader (wrk on a tenant's leads) and a writer (new leads, one
# request after the other) running, a fourth node added and
# citus_rebalance_start() moving shards onto it. Then: no failed request,
# every lead the writer was told was created is there, and shards live on
# the new node.
#
#   scripts/citus-rebalance.sh [path/to/vectra]   (default: target/debug/vectra)
#
# Needs Citus (scripts/install-citus.sh) and wrk. Prints what it measured;
# exit status non-zero when a check fails. REBALANCE_READERS (1) wrk
# connections, REBALANCE_LEADS_PER_ORG (3000), REBALANCE_TIMEOUT (900 s),
# REBALANCE_TRANSFER_MODE (block_writes; docs/scale-out.md says why not
# Citus's default, logical replication, on PostgreSQL 15).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN=${1:-target/debug/vectra}
PORT=${REBALANCE_PORT:-18290}
LEADS=${REBALANCE_LEADS_PER_ORG:-3000}
log() { printf 'citus-rebalance: %s\n' "$*"; }

# shellcheck source=scripts/lib-dev.sh
. scripts/lib-dev.sh
DEV_ENV="RATE_LIMIT_PER_MINUTE=100000000" start_dev "$BIN" "$PORT" --citus
read -r SUPERPASS COORD < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["superuser_password"], d["port"])' "$WORK/.vectra/dev.json")
export PGPASSWORD=$SUPERPASS
ADMIN_URL="postgres://postgres:$SUPERPASS@127.0.0.1:$COORD/vectra"
q() { psql -X -q -At -h 127.0.0.1 -p "$COORD" -U postgres -d vectra -v ON_ERROR_STOP=1 -c "$1"; }

# The fourth node: a server like the workers, stopped with the rest.
BINDIR=$(dirname "$(command -v pg_config 2>/dev/null || echo /usr/lib/postgresql/15/bin/pg_config)")
[ -x "$BINDIR/initdb" ] || BINDIR=/usr/lib/postgresql/15/bin
NODE=$WORK/node4
NODE_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/bash -c "$1"; else bash -c "$1"; fi; }
stop_all() {
    [ -f "$NODE/data/postmaster.pid" ] && as_pg "$BINDIR/pg_ctl -D $NODE/data stop -m fast" >/dev/null 2>&1 || true
    dev_cleanup
}
trap stop_all EXIT
mkdir -p "$NODE"
printf '%s' "$SUPERPASS" >"$NODE/pw"
[ "$(id -u)" -eq 0 ] && chown -R postgres "$NODE" && chmod 755 "$WORK"
as_pg "$BINDIR/initdb -D $NODE/data -U postgres --auth=scram-sha-256 -E UTF8 --locale=C --pwfile=$NODE/pw" >/dev/null
cat >>"$NODE/data/postgresql.conf" <<CONF
port = $NODE_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$NODE'
shared_preload_libraries = 'citus'
citus.enable_statistics_collection = off
wal_level = logical
max_connections = 300
CONF
as_pg "$BINDIR/pg_ctl -D $NODE/data -l $NODE/postgres.log -w start" >/dev/null
psql -X -q -h 127.0.0.1 -p "$NODE_PORT" -U postgres -d postgres -c "create database vectra"
psql -X -q -h 127.0.0.1 -p "$NODE_PORT" -U postgres -d vectra -c "create extension citus"

# Data: demo organizations, their owners signed in.
log "demo data: 8 organizations of $LEADS leads"
DATABASE_ADMIN_URL=$ADMIN_URL "$BIN" seed-demo --orgs 8 --users-per-org 2 --leads-per-org "$LEADS" >"$WORK/seed.log" 2>&1 \
    || { cat "$WORK/seed.log"; exit 1; }
OWNER=$(q "select email from public.users where role = 'owner' and status = 'active' order by email limit 1")
token=$(curl -sf "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\": \"$OWNER\", \"password\": \"demo password\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
ORG=$(q "select organization_id from public.users where email = '$OWNER'")
before=$(q "select count(*) from public.leads where organization_id = '$ORG'")
shards_before=$(q "select count(*) from pg_dist_shard_placement where nodeport = $NODE_PORT")

# The node joins; `vectra migrate` lets the request roles log in to it.
q "select citus_add_node('127.0.0.1', $NODE_PORT)" >/dev/null
DATABASE_ADMIN_URL=$ADMIN_URL "$BIN" migrate >"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log"; exit 1; }
log "a fourth node on port $NODE_PORT (shards on it: $shards_before)"

sample() {
    curl -s -w ' -> %{http_code}' "http://127.0.0.1:$PORT/api/v1/user/leads?per_page=20" -H "Authorization: Bearer $token" \
        | tail -c 220
    echo
}
log "a read before the rebalance: $(sample)"

# The load: a reader and a writer, for as long as the rebalance runs.
cat >"$WORK/auth.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
LUA
wrk -t1 -c"${REBALANCE_READERS:-1}" -d1200s -s "$WORK/auth.lua" "http://127.0.0.1:$PORT/api/v1/user/leads?per_page=20" >"$WORK/wrk.log" 2>&1 &
WRK=$!
: >"$WORK/writes"
(
    i=0
    while [ ! -f "$WORK/stop" ]; do
        i=$((i + 1))
        code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/user/leads" \
            -H "Authorization: Bearer $token" -H 'content-type: application/json' \
            -d "{\"email\": \"rebalance-$i@example.test\"}")
        echo "$code" >>"$WORK/writes"
    done
) &
WRITER=$!
sleep 3

start=$(date +%s)
MODE=${REBALANCE_TRANSFER_MODE:-block_writes}
log "citus_rebalance_start(shard_transfer_mode => '$MODE')"
q "select citus_rebalance_start(shard_transfer_mode => '$MODE')" >/dev/null
while :; do
    state=$(q "select state from citus_rebalance_status() order by job_id desc limit 1")
    case "$state" in
        finished) break ;;
        failed | cancelled) log "the rebalance $state:"; q "select * from citus_rebalance_status()"; break ;;
    esac
    [ $(( $(date +%s) - start )) -lt "${REBALANCE_TIMEOUT:-900}" ] || {
        log "the rebalance did not finish in ${REBALANCE_TIMEOUT:-900} s:"
        q "select task_id, status, retry_count, message from pg_dist_background_task order by task_id" | head -20
        break
    }
    sleep 1
done
took=$(( $(date +%s) - start ))
sleep 3
touch "$WORK/stop"
wait "$WRITER" || true
kill -INT "$WRK" 2>/dev/null || true
wait "$WRK" || true

log "a read after it: $(sample)"
grep -h ERROR -A3 "$WORK"/.vectra/postgres/postgres.log 2>/dev/null | sort | uniq -c | sort -rn | head -8 || true
shards_after=$(q "select count(*) from pg_dist_shard_placement where nodeport = $NODE_PORT")
writes=$(wc -l <"$WORK/writes")
created=$(grep -c '^201$' "$WORK/writes" || true)
failed_writes=$((writes - created))
after=$(q "select count(*) from public.leads where organization_id = '$ORG'")
reads=$(awk '/requests in/ {print $1}' "$WORK/wrk.log")
bad_reads=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$WORK/wrk.log")
socket_errors=$(grep -o 'Socket errors:.*' "$WORK/wrk.log" || true)

log "rebalance: $state in ${took}s; shards on the new node: $shards_before -> $shards_after"
log "reads during it: ${reads:-0}, failed: ${bad_reads:-0} ${socket_errors}"
log "writes during it: $writes, answered 201: $created, otherwise: $failed_writes ($(sort "$WORK/writes" | uniq -c | tr '\n' ' '))"
log "the tenant's leads: $before before, $after after ($((after - before)) new, $created acknowledged)"
[ "$state" = finished ] && [ "$shards_after" -gt 0 ] && [ "$failed_writes" -eq 0 ] && [ -z "$bad_reads" ] \
    && [ -z "$socket_errors" ] && [ "$((after - before))" -eq "$created" ] && [ "$writes" -gt 0 ]
