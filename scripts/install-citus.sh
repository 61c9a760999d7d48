#!/usr/bin/env bash
# Installs Citus for the PostgreSQL that `pg_config` names, from source, when
# it is not installed yet: CI, and any machine without Citus's packages.
#
#   CITUS_SOURCE=<dir holding citus-13.2.2.tar.gz [and citus-13.2.2-pg15.patch]> scripts/install-citus.sh
#
# CITUS_SOURCE defaults to ../shared/vendor next to the repository, or
# /work/shared/vendor (this project's CI machine: no registry carries Citus
# there). Elsewhere, prefer
# Citus's own packages (docs/scale-out.md). About 1 to 3 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VERSION=${CITUS_VERSION:-13.2.2}
PG_MAJOR=${PG_MAJOR:-15}
# pg_config and the server's headers: postgresql-server-dev at the server's
# minor version (both installed or upgraded together).
if [ -z "${PG_CONFIG:-}" ] && command -v dpkg >/dev/null 2>&1 \
   && ! dpkg -s "postgresql-server-dev-$PG_MAJOR" >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || { echo "install-citus: postgresql-server-dev-$PG_MAJOR is missing (and not root)" >&2; exit 1; }
    apt-get update -q
    apt-get install -y -q --no-install-recommends "postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR" </dev/null
fi
if [ -z "${PG_CONFIG:-}" ]; then
    PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
    [ -x "$PG_CONFIG" ] || PG_CONFIG=$(command -v pg_config)
fi
pkglibdir=$("$PG_CONFIG" --pkglibdir)
if [ -f "$pkglibdir/citus.so" ]; then
    echo "install-citus: Citus is installed ($pkglibdir/citus.so)"
    exit 0
fi
# The folder beside the repository's (this project's machines), or the
# workspace's shared folder when the repository is checked out elsewhere.
if [ -z "${CITUS_SOURCE:-}" ]; then
    for d in "$(cd .. && pwd)/shared/vendor" /work/shared/vendor; do
        [ -f "$d/citus-$VERSION.tar.gz" ] && { CITUS_SOURCE=$d; break; }
    done
fi
SOURCE=${CITUS_SOURCE:-$(cd .. && pwd)/shared/vendor}
tarball="$SOURCE/citus-$VERSION.tar.gz"
[ -f "$tarball" ] || { echo "install-citus: no $tarball (set CITUS_SOURCE, or install Citus's packages)" >&2; exit 1; }

# The headers and libraries it builds against (no libcurl: nothing is sent anywhere).
need=()
for p in liblz4-dev libzstd-dev libkrb5-dev libssl-dev libxslt1-dev libpam0g-dev libreadline-dev zlib1g-dev libicu-dev make gcc; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
    apt-get update -q && apt-get install -y -q --no-install-recommends "${need[@]}" </dev/null
fi

build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
tar xzf "$tarball" -C "$build"
cd "$build/citus-$VERSION"
patch_file="$SOURCE/citus-$VERSION-pg15.patch"
if [ -f "$patch_file" ] && [ "$("$PG_CONFIG" --version | awk '{print $2}' | cut -d. -f1)" = 15 ]; then
    patch -p1 <"$patch_file" >/dev/null
fi
start=$(date +%s)
./configure PG_CONFIG="$PG_CONFIG" --without-libcurl >"$build/configure.log" 2>&1 \
    || { tail -20 "$build/configure.log"; exit 1; }
make -j"$(nproc)" >"$build/make.log" 2>&1 || { tail -30 "$build/make.log"; exit 1; }
make install >"$build/install.log" 2>&1 || { tail -20 "$build/install.log"; exit 1; }
echo "install-citus: Citus $VERSION built and installed in $(( $(date +%s) - start )) s ($pkglibdir)"
