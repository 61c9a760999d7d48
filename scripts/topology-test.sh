#!/usr/bin/env bash
# The production topology, for real: one PostgreSQL, PgBouncer in front of it
# in transaction mode (2 server connections), three `vectra serve` behind
# nginx (round robin), a mail catcher with MailDev's API. Then, through nginx:
#
#   1. the Postman collection with Newman, every answer checked against the
#      OpenAPI document (scripts/check-responses.py);
#   2. scripts/topology-checks.py: a client rotating over the instances hits
#      the per-address limit and the login backoff at the same count as
#      against one; X-Forwarded-For from nginx separates two clients while a
#      spoofed entry does not; a token signed by one instance verifies on the
#      others and through the JWKS with a third-party library (PyJWT); an
#      instance stopped mid-load costs no failed request; each email goes out
#      once.
#
#   scripts/topology-test.sh [path/to/vectra]     (default: target/debug/vectra)
#
# Needs: PostgreSQL 15 server binaries (VECTRA_PG_BIN, else pg_config --bindir),
# nginx, pgbouncer, wrk, python3 with PyJWT and cryptography, newman (installed
# by scripts/run-newman.sh's rule). As root, PostgreSQL and PgBouncer run as
# the `postgres` user. Writes "total failed" Newman assertion counts to
# $TOPOLOGY_STATS when set. Exit status: 0 when everything held.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

BIN=$(realpath "${1:-target/debug/vectra}")
[ -x "$BIN" ] || { echo "topology: $BIN not built (cargo build)" >&2; exit 1; }
PG_BIN=${VECTRA_PG_BIN:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
[ -x "$PG_BIN/initdb" ] || { echo "topology: no initdb in $PG_BIN (install postgresql-15)" >&2; exit 1; }
for tool in nginx pgbouncer wrk python3; do
    command -v "$tool" >/dev/null || { echo "topology: $tool is not installed" >&2; exit 1; }
done
python3 -c 'import jwt, cryptography' 2>/dev/null \
    || { echo "topology: python3 needs PyJWT and cryptography (pip install pyjwt cryptography)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/vectra-topology.XXXXXX)
chmod 755 "$WORK"
PIDS=()
log() { printf 'topology: %s\n' "$*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
cleanup() {
    local status=$?
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    # pgbouncer runs under runuser, which does not pass the signal on: stop it
    # by its own pid file (it was left running after every run otherwise).
    [ -f "$WORK/bouncer/pgbouncer.pid" ] && kill "$(cat "$WORK/bouncer/pgbouncer.pid")" 2>/dev/null || true
    [ -d "$WORK/pg/data" ] && as_postgres "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m fast stop >/dev/null 2>&1 || true
    if [ "$status" -ne 0 ]; then
        for f in "$WORK"/*.log "$WORK"/bouncer/*.log; do
            [ -f "$f" ] || continue
            echo "----- $(basename "$f") (last 40 lines)"
            tail -n 40 "$f"
        done
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT

PG_PORT=$(free_port); BOUNCER_PORT=$(free_port); NGINX_PORT=$(free_port)
SMTP_PORT=$(free_port); MAIL_PORT=$(free_port)
API_PORTS=("$(free_port)" "$(free_port)" "$(free_port)")
AUTH_PASSWORD=topology-authenticator-password

log "PostgreSQL on 127.0.0.1:$PG_PORT"
mkdir -p "$WORK/pg"
[ "$(id -u)" -eq 0 ] && chown postgres "$WORK/pg"
echo postgres > "$WORK/pg/pw"
[ "$(id -u)" -eq 0 ] && chown postgres "$WORK/pg/pw"
as_postgres "$PG_BIN/initdb" -D "$WORK/pg/data" -U postgres --pwfile="$WORK/pg/pw" \
    --auth-local=trust --auth-host=scram-sha-256 >"$WORK/initdb.log" 2>&1
as_postgres "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/server.log" -w \
    -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100" start >/dev/null
PGPASSWORD=postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "create database vectra" >/dev/null
ADMIN_URL="postgres://postgres:postgres@127.0.0.1:$PG_PORT/vectra"
log "migrating"
DATABASE_ADMIN_URL=$ADMIN_URL \
    DATABASE_URL="postgres://vectra_authenticator:$AUTH_PASSWORD@127.0.0.1:$PG_PORT/vectra" \
    RUST_LOG=warn "$BIN" migrate >"$WORK/migrate.log" 2>&1

log "PgBouncer (transaction mode, 2 server connections) on 127.0.0.1:$BOUNCER_PORT"
mkdir -p "$WORK/bouncer"
cat >"$WORK/bouncer/pgbouncer.ini" <<EOF
[databases]
vectra = host=127.0.0.1 port=$PG_PORT dbname=vectra
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $WORK/bouncer/userlist.txt
pool_mode = transaction
default_pool_size = 2
max_client_conn = 200
logfile = $WORK/bouncer/pgbouncer.log
pidfile = $WORK/bouncer/pgbouncer.pid
EOF
echo "\"vectra_authenticator\" \"$AUTH_PASSWORD\"" >"$WORK/bouncer/userlist.txt"
chmod 600 "$WORK/bouncer/userlist.txt"
[ "$(id -u)" -eq 0 ] && chown -R postgres "$WORK/bouncer"
as_postgres pgbouncer "$WORK/bouncer/pgbouncer.ini" >"$WORK/pgbouncer-stdout.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do
    (echo >"/dev/tcp/127.0.0.1/$BOUNCER_PORT") 2>/dev/null && break
    sleep 0.1
done

log "mail catcher: SMTP $SMTP_PORT, API $MAIL_PORT"
MAIL_DELAY_MS=100 python3 scripts/mail-catcher.py "$SMTP_PORT" "$MAIL_PORT" >"$WORK/mail.log" 2>&1 &
PIDS+=($!)

openssl genpkey -algorithm ed25519 -out "$WORK/jwt.pem" 2>/dev/null
INSTANCE_PIDS=("" "" "")
start_instance() { # index, extra NAME=value…
    local i=$1
    shift
    env DATABASE_URL="postgres://vectra_authenticator:$AUTH_PASSWORD@127.0.0.1:$BOUNCER_PORT/vectra" \
        DATABASE_PREPARED_STATEMENTS=false DATABASE_POOL_SIZE=4 WORKER_THREADS=1 \
        JWT_PRIVATE_KEY_FILE="$WORK/jwt.pem" \
        BIND_ADDR="127.0.0.1:${API_PORTS[$i]}" PUBLIC_BASE_URL="http://127.0.0.1:$NGINX_PORT" \
        SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" TRUSTED_PROXIES=127.0.0.1/32 \
        OUTBOX_POLL_INTERVAL=200ms DRAIN_DELAY=1s SHUTDOWN_TIMEOUT=10s RUST_LOG=warn "$@" \
        "$BIN" serve >>"$WORK/api$i.log" 2>&1 &
    INSTANCE_PIDS[$i]=$!
    PIDS+=($!)
}
wait_ready() { # port
    for _ in $(seq 1 300); do
        curl -sf "http://127.0.0.1:$1/ready" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "topology: 127.0.0.1:$1 not ready" >&2
    return 1
}
start_all() { # extra NAME=value…
    for i in 0 1 2; do start_instance "$i" "$@"; done
    for port in "${API_PORTS[@]}"; do wait_ready "$port"; done
}
stop_all() {
    for pid in "${INSTANCE_PIDS[@]}"; do
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${INSTANCE_PIDS[@]}"; do
        [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
    done
}

log "nginx (round robin over ${API_PORTS[*]}) on 127.0.0.1:$NGINX_PORT"
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    client_max_body_size 2m;
    upstream vectra {
        server 127.0.0.1:${API_PORTS[0]} max_fails=1 fail_timeout=5s;
        server 127.0.0.1:${API_PORTS[1]} max_fails=1 fail_timeout=5s;
        server 127.0.0.1:${API_PORTS[2]} max_fails=1 fail_timeout=5s;
        keepalive 16;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            proxy_pass http://vectra;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_next_upstream error timeout http_502;
            proxy_next_upstream_tries 3;
        }
    }
}
EOF
nginx -c "$WORK/nginx.conf" -p "$WORK/nginx" >"$WORK/nginx-stdout.log" 2>&1 &
PIDS+=($!)

log "phase 1: the Postman collection through nginx (limits raised, as scripts/run-newman.sh does)"
start_all RATE_LIMIT_PER_MINUTE=1000
wait_ready "$NGINX_PORT"
newman_status=0
scripts/newman-run.sh "http://127.0.0.1:$NGINX_PORT" "http://127.0.0.1:$MAIL_PORT" "$WORK" \
    >"$WORK/newman.log" 2>&1 || newman_status=$?
tail -n 25 "$WORK/newman.log"
if [ -n "${TOPOLOGY_STATS:-}" ]; then
    python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["run"]["stats"]["assertions"]; print(a["total"], a["failed"])' \
        "$WORK/newman.json" >"$TOPOLOGY_STATS" 2>/dev/null || echo "0 1" >"$TOPOLOGY_STATS"
fi
[ "$newman_status" -eq 0 ] || { echo "topology: Newman failed through nginx" >&2; exit 1; }
# Every answer through the proxy, as the document describes it (the proxy
# adds or drops nothing the contract names).
curl -sf "http://127.0.0.1:$NGINX_PORT/api/v1/openapi.json" >"$WORK/openapi.json"
python3 scripts/check-responses.py "$WORK/openapi.json" "$WORK/responses.json" "http://127.0.0.1:$NGINX_PORT" \
    || { echo "topology: a response through nginx does not match the OpenAPI document" >&2; exit 1; }

log "phase 2: limits, addresses, tokens, a stop under load, the outbox (default limits)"
stop_all
start_all
export NGINX_URL="http://127.0.0.1:$NGINX_PORT" MAIL_URL="http://127.0.0.1:$MAIL_PORT" ADMIN_URL
export API_URLS="http://127.0.0.1:${API_PORTS[0]} http://127.0.0.1:${API_PORTS[1]} http://127.0.0.1:${API_PORTS[2]}"
export STOP_INSTANCE_PID=${INSTANCE_PIDS[1]} PG_BIN WORK
python3 scripts/topology-checks.py
log "all held"
