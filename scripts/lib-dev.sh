# Sourced by the scripts and benchmarks that need a running service
# (scripts/run-newman.sh, run-schemathesis.sh, client-walk.sh, citus-test.sh,
# citus-rebalance.sh, bench/run.sh, bench/big-tenant.sh): starts `vectra dev`
# on 127.0.0.1:<port> with its own PostgreSQL cluster (or Citus cluster,
# --citus) in a temporary directory ($WORK), waits until it is ready, and
# stops it when the calling script exits.
#
#   start_dev <binary> <port> [vectra dev arguments…]
#       Extra environment: DEV_ENV, NAME=value words (they come after the
#       defaults, so RUST_LOG=… in DEV_ENV wins). The first call creates
#       $WORK (unless the caller set it) and the exit hook; a call after
#       stop_dev reuses $WORK, so `vectra dev` finds the same cluster (pass
#       --reset for a fresh one). The service's output is appended to
#       $WORK/dev.log; $DEV_PID is its process. Refuses a port that something
#       already answers on (another run?), rather than measuring or testing it.
#   stop_dev
#       Stops the service (SIGTERM: it stops its clusters too); $WORK stays.
#   dev_cleanup
#       stop_dev, then removes $WORK unless DEV_KEEP is set. The exit hook;
#       a caller with its own EXIT trap calls it from there.

start_dev() {
    local bin=$1 port=$2
    shift 2
    [ -x "$bin" ] || { echo "$0: $bin not built (cargo build)" >&2; exit 1; }
    if curl -sf "http://127.0.0.1:$port/ready" >/dev/null 2>&1; then
        echo "$0: something already answers on port $port (another run?): stop it or choose another port" >&2
        exit 1
    fi
    if [ -z "${WORK:-}" ]; then
        WORK=$(mktemp -d)
        chmod 755 "$WORK"   # as root, the cluster's own OS user must reach .vectra/
        trap dev_cleanup EXIT
    fi
    # shellcheck disable=SC2086 # DEV_ENV is a list of NAME=value words.
    env BIND_ADDR="127.0.0.1:$port" RUST_LOG=warn ${DEV_ENV:-} \
        "$bin" dev --dir "$WORK/.vectra" "$@" >>"$WORK/dev.log" 2>&1 &
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
    DEV_PID=
}

dev_cleanup() {
    stop_dev
    if [ -n "${WORK:-}" ] && [ -z "${DEV_KEEP:-}" ]; then rm -rf "$WORK"; fi
}

# dev_state KEY: a value of the running cluster's .vectra/dev.json (port,
# superuser_password, authenticator_password, worker_ports, …).
dev_state() {
    python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))[sys.argv[2]]
print(" ".join(map(str, v)) if isinstance(v, list) else v)' "$WORK/.vectra/dev.json" "$1"
}
