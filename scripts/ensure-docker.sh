#!/usr/bin/env bash
# Make sure a working Docker daemon is reachable.
#
#   * installs docker.io from Debian if the `docker` CLI or `dockerd` is missing
#     (needs root);
#   * if `docker info` fails, starts `dockerd` in the background
#     (nohup + setsid, log in $DOCKERD_LOG, default /tmp/dockerd.log) and waits
#     up to $DOCKERD_WAIT seconds (default 60) for it to answer.
#
# Idempotent: when the daemon already answers it does nothing.  It never stops
# or restarts a daemon that is already running.
#
# When dockerd cannot set up iptables (some nested-container sandboxes), it is
# retried once with --iptables=false; published ports then still work through
# docker-proxy, which is all the test-suite needs.
set -euo pipefail

DOCKERD_LOG=${DOCKERD_LOG:-/tmp/dockerd.log}
DOCKERD_WAIT=${DOCKERD_WAIT:-60}

log() { printf 'ensure-docker: %s\n' "$*" >&2; }
die() { printf 'ensure-docker: ERROR: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# --- 1. the binaries --------------------------------------------------------
if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
    is_root || die "docker/dockerd not installed and not running as root; install the 'docker.io' package"
    log "installing docker.io with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends docker.io </dev/null
    command -v docker >/dev/null 2>&1 || die "docker CLI still missing after installing docker.io"
    command -v dockerd >/dev/null 2>&1 || die "dockerd still missing after installing docker.io"
fi

docker_ok() { docker info >/dev/null 2>&1; }

if docker_ok; then
    log "docker daemon is up ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
    exit 0
fi

# Only look at the default local socket from here on: a DOCKER_HOST pointing
# elsewhere is not something we can start.
if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST}" != "unix:///var/run/docker.sock" ]; then
    die "DOCKER_HOST=${DOCKER_HOST} does not answer 'docker info'; refusing to start a local dockerd for it"
fi
is_root || die "docker daemon is not running and we are not root, cannot start dockerd"

# Wait for `docker info` for up to $1 seconds while the dockerd with pid $2
# (may be empty = not ours) is alive.  Returns 0 when the daemon answers.
wait_for_docker() {
    local deadline=$((SECONDS + $1)) pid=${2:-}
    while [ "$SECONDS" -lt "$deadline" ]; do
        docker_ok && return 0
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            return 2   # our dockerd died
        fi
        sleep 1
    done
    docker_ok
}

start_dockerd() {
    log "starting dockerd $* (log: ${DOCKERD_LOG})"
    printf '\n===== %s: dockerd %s =====\n' "$(date -Is)" "$*" >>"$DOCKERD_LOG"
    # setsid + nohup: the daemon must outlive this script and its job/session.
    setsid nohup dockerd "$@" >>"$DOCKERD_LOG" 2>&1 </dev/null &
    DOCKERD_PID=$!
}

# A dockerd that is already starting (e.g. a concurrent call) is just waited for.
if pid=$(pidof dockerd 2>/dev/null) && [ -n "$pid" ]; then
    log "dockerd already running (pid ${pid}), waiting for it to answer"
    wait_for_docker "$DOCKERD_WAIT" "" && { log "docker daemon is up"; exit 0; }
    die "dockerd (pid ${pid}) is running but 'docker info' still fails after ${DOCKERD_WAIT}s; see ${DOCKERD_LOG}"
fi

# Stale pid file from a daemon that is gone (e.g. machine snapshot) blocks startup.
if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid 2>/dev/null)" 2>/dev/null; then
    rm -f /var/run/docker.pid
fi

start_dockerd
rc=0
wait_for_docker "$DOCKERD_WAIT" "$DOCKERD_PID" || rc=$?
if [ "$rc" -eq 2 ] && tail -n 30 "$DOCKERD_LOG" | grep -qi 'iptables'; then
    log "dockerd exited because of iptables; retrying with --iptables=false --ip6tables=false"
    rm -f /var/run/docker.pid
    start_dockerd --iptables=false --ip6tables=false
    rc=0
    wait_for_docker "$DOCKERD_WAIT" "$DOCKERD_PID" || rc=$?
fi
if [ "$rc" -ne 0 ]; then
    log "last lines of ${DOCKERD_LOG}:"
    tail -n 30 "$DOCKERD_LOG" >&2 || true
    die "docker daemon did not become ready within ${DOCKERD_WAIT}s"
fi
log "docker daemon is up ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
