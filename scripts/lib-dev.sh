# Sourced by scripts/run-newman.sh and scripts/run-schemathesis.sh: starts
# `vectra dev` on 127.0.0.1:$PORT with its own PostgreSQL cluster in a
# temporary directory ($WORK), waits until it is ready, and stops it (and
# deletes $WORK) when the calling script exits.
#
#   start_dev <binary> <port> [vectra dev arguments…]   (extra environment: DEV_ENV)

start_dev() {
    local bin=$1 port=$2
    shift 2
    [ -x "$bin" ] || { echo "$0: $bin not built (cargo build)" >&2; exit 1; }
    WORK=$(mktemp -d)
    trap stop_dev EXIT
    # shellcheck disable=SC2086 # DEV_ENV is a list of NAME=value words.
    env BIND_ADDR="127.0.0.1:$port" RUST_LOG=warn ${DEV_ENV:-} \
        "$bin" dev --dir "$WORK/.vectra" "$@" >"$WORK/dev.log" 2>&1 &
    DEV_PID=$!
    for _ in $(seq 1 600); do
        curl -sf "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && return 0
        kill -0 "$DEV_PID" 2>/dev/null || { cat "$WORK/dev.log"; echo "$0: vectra dev exited" >&2; exit 1; }
        sleep 0.2
    done
    cat "$WORK/dev.log"
    echo "$0: vectra dev not ready after 120 s" >&2
    exit 1
}

stop_dev() {
    if [ -n "${DEV_PID:-}" ] && kill -0 "$DEV_PID" 2>/dev/null; then
        kill -TERM "$DEV_PID"
        wait "$DEV_PID" || true
    fi
    [ -n "${WORK:-}" ] && rm -rf "$WORK"
}
