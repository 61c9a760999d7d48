# Sourced by the HTTP benchmark scripts: a fresh database on a local
# PostgreSQL 15 and a release build of `vectra serve` against it.
#
#   VECTRA_BENCH_DATABASE_URL  superuser URL (default: Debian's cluster, started if needed)
#   BENCH_PORT                 port of the service (default 18095)
#
# After `bench_serve [VAR=value …]`: $api is the API's base URL, $pid the
# server's process id, $DATABASE_ADMIN_URL the database. `bench_stop` stops
# the server; the database is dropped at exit.

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
if [ -z "${VECTRA_BENCH_DATABASE_URL:-}" ]; then
    pg_ctlcluster 15 main start 2>/dev/null || true
    su postgres -c "psql -qc \"alter user postgres password 'postgres'\"" >/dev/null
    VECTRA_BENCH_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres
fi
BENCH_PORT=${BENCH_PORT:-18095}
bench_base=${VECTRA_BENCH_DATABASE_URL%/*}
bench_db=vectra_bench_$$
psql "$VECTRA_BENCH_DATABASE_URL" -qc "create database $bench_db"
bench_cleanup() {
    bench_stop
    psql "$VECTRA_BENCH_DATABASE_URL" -qc "drop database if exists $bench_db with (force)" || true
}
trap bench_cleanup EXIT

cargo build --release -q --bin vectra
export DATABASE_ADMIN_URL="$bench_base/$bench_db"
export DATABASE_URL="postgres://vectra_authenticator:bench-password@${bench_base#*@}/$bench_db"
export JWT_SECRET=bench-secret-bench-secret-bench-0123456789
export BIND_ADDR=127.0.0.1:$BENCH_PORT RUST_LOG=${RUST_LOG:-warn}
export SMTP_URL=smtp://127.0.0.1:9 OUTBOX_POLL_INTERVAL=60s
api=http://127.0.0.1:$BENCH_PORT/api/v1

# Starts the server with extra environment (VAR=value …), waits until ready.
bench_serve() {
    env "$@" target/release/vectra serve >>/tmp/vectra-bench.log 2>&1 &
    pid=$!
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$BENCH_PORT/ready" >/dev/null && return 0; sleep 0.1; done
    echo "the server did not become ready; see /tmp/vectra-bench.log" >&2
    exit 1
}

bench_stop() {
    if [ -n "${pid:-}" ]; then
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
        pid=
    fi
}

# Resident memory of the server: now and peak, in MB.
bench_rss() { awk '/VmRSS|VmHWM/ {printf "%s %.0f MB  ", $1, $2/1024}' "/proc/$pid/status"; echo; }

# A signed-in owner of a new organization: prints its access token.
bench_owner() {
    local email=$1
    curl -fs -H 'content-type: application/json' \
        -d "{\"email\":\"$email\",\"password\":\"bench password 1\",\"full_name\":\"Bench\",\"organization_name\":\"Org $email\"}" \
        "$api/auth/register" >/dev/null
    curl -fs -H 'content-type: application/json' -d "{\"email\":\"$email\",\"password\":\"bench password 1\"}" \
        "$api/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
