#!/usr/bin/env bash
# Build the PostgreSQL 15 + pgTAP image the integration tests run against.
#
# usage: scripts/build-test-image.sh [--debian|--registry]
#
#   --debian    (default) no container registry needed: bootstrap a Debian
#               bookworm root filesystem with mmdebstrap containing
#               postgresql-15 + postgresql-15-pgtap (from Debian's own apt
#               archive) and docker/test-postgres/entrypoint.sh, and turn it
#               into an image with `docker import`.  Needs root, mmdebstrap and
#               access to the Debian archive.  Takes about a minute.
#   --registry  `docker build` docker/test-postgres/Dockerfile, i.e. the
#               official postgres:15-bookworm image + postgresql-15-pgtap.
#               Needs a registry to pull from.
#
# Both produce the same tag and the same contract (POSTGRES_USER, POSTGRES_PASSWORD,
# POSTGRES_DB, `postgres -c ...` as command, port 5432, pgtap extension).
# `cargo test` runs this script itself when the image is missing
# (tests/api/harness/image.rs): --registry when a registry answers, else --debian.
#
# Environment:
#   VECTRA_TEST_PG_IMAGE   tag to build           (default vectra-test-postgres:15)
#   VECTRA_DEBIAN_MIRROR   Debian archive         (default http://deb.debian.org/debian)
#   VECTRA_DEBIAN_SECURITY security archive       (default http://deb.debian.org/debian-security)
#
# Prints the resulting image id on stdout (last line); progress goes to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAGE=${VECTRA_TEST_PG_IMAGE:-vectra-test-postgres:15}
MIRROR=${VECTRA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${VECTRA_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
SUITE=bookworm
PG_MAJOR=15
# Same uid/gid as the official image's postgres user.
PG_UID=999
PG_GID=999

log() { printf 'build-test-image: %s\n' "$*" >&2; }
die() { printf 'build-test-image: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit "${1:-2}"
}

MODE=debian
case "${1:-}" in
    ''|--debian) MODE=debian ;;
    --registry) MODE=registry ;;
    -h|--help) usage 0 ;;
    *) log "unknown argument: $1"; usage 2 ;;
esac
[ $# -le 1 ] || { log "too many arguments"; usage 2; }

"$ROOT/scripts/ensure-docker.sh"

start=$SECONDS

if [ "$MODE" = registry ]; then
    log "docker build -t $IMAGE docker/test-postgres"
    docker build -t "$IMAGE" "$ROOT/docker/test-postgres" >&2
    docker image inspect --format '{{.Id}}' "$IMAGE"
    exit 0
fi

# ---------------------------------------------------------------- --debian --
[ "$(id -u)" -eq 0 ] || die "--debian needs root (mmdebstrap root mode + docker import)"
if ! command -v mmdebstrap >/dev/null 2>&1; then
    log "installing mmdebstrap"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends mmdebstrap </dev/null >&2
fi
ENTRYPOINT_SRC="$ROOT/docker/test-postgres/entrypoint.sh"
[ -f "$ENTRYPOINT_SRC" ] || die "missing $ENTRYPOINT_SRC"

# Room first: the root filesystem (with apt's downloads) and its tarball live
# under TMPDIR at the same time, about 700 MiB at the peak; the imported image
# takes about 360 MiB more under Docker's root. Out of room, mmdebstrap fails
# half-way, so say so before starting.
need_room() {  # DIR MIB WHAT
    local avail
    avail=$(df -Pm "$1" 2>/dev/null | awk 'NR == 2 { print $4 }')
    [ -z "$avail" ] || [ "$avail" -ge "$2" ] \
        || die "only ${avail} MiB free in $1 (about $2 MiB needed for $3): free some disk space (cargo clean, docker system prune) or set TMPDIR to a roomier place"
}
need_room "${TMPDIR:-/tmp}" 1200 "the Debian root filesystem and its tarball"
need_room "$(docker info --format '{{.DockerRootDir}}' 2>/dev/null || echo /var/lib/docker)" 600 "the imported image"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vectra-test-image.XXXXXX")
chmod 0755 "$WORK"   # apt's _apt sandbox user must be able to enter it
cleanup() {
    local rc=$?
    # If mmdebstrap died half-way its chroot (under $WORK) may still have
    # /dev, /proc, /sys mounted: never rm -rf through a mount point.
    local m
    awk -v w="$WORK" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r \
        | while IFS= read -r m; do umount -l "$m" 2>/dev/null || true; done
    if awk -v w="$WORK" 'index($2, w) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
        log "WARNING: mounts left under $WORK, not removing it"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
# mmdebstrap runs in a session of its own (below): an interruption is passed on
# to it, and the cleanup waits for it to end before removing its directory.
MMDEBSTRAP_PID=
interrupted() {
    if [ -n "$MMDEBSTRAP_PID" ]; then
        kill -TERM -- "-$MMDEBSTRAP_PID" 2>/dev/null || true
        wait "$MMDEBSTRAP_PID" 2>/dev/null || true
    fi
    exit 130
}
trap interrupted INT TERM

# Hooks run by mmdebstrap with the chroot directory as "$1".
#
# essential-hook (after the Essential:yes packages, before postgresql-*):
#   * the postgres user/group with the official image's uid/gid 999 (adduser in
#     postgresql-common's postinst then finds the system user and keeps it);
#   * no "main" cluster: the entrypoint runs initdb into $PGDATA itself.
ESSENTIAL_HOOK=$(cat <<EOF
set -e
grep -q '^postgres:' "\$1/etc/group"  || echo 'postgres:x:${PG_GID}:' >>"\$1/etc/group"
grep -q '^postgres:' "\$1/etc/passwd" || echo 'postgres:x:${PG_UID}:${PG_GID}:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash' >>"\$1/etc/passwd"
mkdir -p "\$1/etc/postgresql-common/createcluster.d"
echo 'create_main_cluster = false' >"\$1/etc/postgresql-common/createcluster.d/00-vectra-no-main-cluster.conf"
EOF
)
# customize-hook (after everything is installed):
CUSTOMIZE_HOOK=$(cat <<EOF
set -e
# /run: mmdebstrap's own /run cleanup is skipped (--skip=cleanup/run) so that
# /var/run/postgresql (the socket directory) survives for non-root starts
# (docker run --user 999); clear the rest of /run here instead.
find "\$1/run" -mindepth 1 -maxdepth 1 ! -name lock ! -name postgresql -exec rm -rf {} +
# in case a cluster got created anyway
rm -rf "\$1/etc/postgresql/${PG_MAJOR}/main" "\$1/var/lib/postgresql/${PG_MAJOR}/main"
chmod 0755 "\$1/usr/local/bin/docker-entrypoint.sh"
mkdir -p "\$1/docker-entrypoint-initdb.d" "\$1/var/lib/postgresql/data" "\$1/var/run/postgresql"
chown ${PG_UID}:${PG_GID} "\$1/var/lib/postgresql" "\$1/var/lib/postgresql/data"
chmod 0700 "\$1/var/lib/postgresql/data"
chown ${PG_UID}:${PG_GID} "\$1/var/run/postgresql"
chmod 03775 "\$1/var/run/postgresql"
# sanity checks, so a broken image fails here rather than in the tests
test "\$(chroot "\$1" id -u postgres)" = ${PG_UID}
test -x "\$1/usr/lib/postgresql/${PG_MAJOR}/bin/postgres"
test -x "\$1/usr/bin/setpriv"
test -f "\$1/usr/share/postgresql/${PG_MAJOR}/extension/pgtap.control"
EOF
)

log "bootstrapping Debian $SUITE with postgresql-$PG_MAJOR + pgtap (mmdebstrap)"
# The tarball goes to a file rather than straight into a pipe: mmdebstrap has
# then finished (and cleaned its chroot) before docker import starts, and a
# failure of either step is reported cleanly.
# Docs, man pages and translations are not needed in a test image.
#
# setsid: when mmdebstrap fails while writing the tarball (a full disk, say) it
# sends SIGHUP to its whole process group to stop its helpers. Without a
# session of its own that group is its caller's: the test binary, and the
# whole of .ci/run, which then died silently (exit 129) instead of reporting
# the failure.
TMPDIR="$WORK" setsid --wait mmdebstrap \
    --mode=root \
    --variant=apt \
    --format=tar \
    --skip=cleanup/run \
    --include="postgresql-$PG_MAJOR,postgresql-$PG_MAJOR-pgtap" \
    --aptopt='Acquire::Languages "none"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --essential-hook="$ESSENTIAL_HOOK" \
    --customize-hook="upload $ENTRYPOINT_SRC /usr/local/bin/docker-entrypoint.sh" \
    --customize-hook="$CUSTOMIZE_HOOK" \
    "$SUITE" "$WORK/rootfs.tar" \
    "deb $MIRROR $SUITE main" \
    "deb $MIRROR $SUITE-updates main" \
    "deb $SECURITY_MIRROR $SUITE-security main" \
    </dev/null >&2 &
MMDEBSTRAP_PID=$!
mm_status=0
wait "$MMDEBSTRAP_PID" || mm_status=$?
MMDEBSTRAP_PID=
[ "$mm_status" -eq 0 ] || die "mmdebstrap failed (exit $mm_status); its messages are above"
[ -s "$WORK/rootfs.tar" ] || die "mmdebstrap left no tarball"

old_id=$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
log "docker import -> $IMAGE ($(( $(stat -c %s "$WORK/rootfs.tar") / 1024 / 1024 )) MiB tarball)"
docker import \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    --change 'CMD ["postgres"]' \
    --change "ENV PATH=/usr/lib/postgresql/$PG_MAJOR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV PG_MAJOR=$PG_MAJOR" \
    --change 'ENV PGDATA=/var/lib/postgresql/data' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'EXPOSE 5432' \
    --change 'USER root' \
    --change 'WORKDIR /' \
    --change 'LABEL org.opencontainers.image.title=vectra-test-postgres org.opencontainers.image.description="PostgreSQL 15 + pgTAP from Debian bookworm (scripts/build-test-image.sh --debian)"' \
    --message "vectra-test-postgres: Debian $SUITE postgresql-$PG_MAJOR + pgtap" \
    - "$IMAGE" <"$WORK/rootfs.tar" >/dev/null
rm -f "$WORK/rootfs.tar"

# `docker import --change` does not accept STOPSIGNAL (docker 20.10), so it is
# added by a metadata-only build on top of the local image (nothing is pulled:
# the legacy builder uses the local base image).  SIGINT = fast shutdown, as in
# the official image; SIGTERM would wait for connected clients.
printf 'FROM %s\nSTOPSIGNAL SIGINT\n' "$IMAGE" \
    | DOCKER_BUILDKIT=0 docker build --quiet -t "$IMAGE" - >/dev/null 2>"$WORK/stopsignal.log" \
    || { cat "$WORK/stopsignal.log" >&2; die "adding STOPSIGNAL failed"; }

id=$(docker image inspect --format '{{.Id}}' "$IMAGE")
# The previous build, now untagged, is dropped (kept if a container uses it).
if [ -n "$old_id" ] && [ "$old_id" != "$id" ]; then
    docker image rm "$old_id" >/dev/null 2>&1 || log "note: previous image $old_id still in use, left in place"
fi
size=$(docker image inspect --format '{{.Size}}' "$IMAGE")
log "built $IMAGE in $((SECONDS - start))s, $((size / 1024 / 1024)) MiB"
echo "$id"
