#!/usr/bin/env bash
# Proves that `cargo test` builds a missing test image by itself, once, even
# for two test processes started at the same moment (tests/api/harness/image.rs).
#
# usage: scripts/check-harness-builds-image.sh [TAG]
#
# TAG (default vectra-test-postgres:harness-check-<pid>) must not exist: it is
# the VECTRA_TEST_PG_IMAGE of two runs of the integration test binary started
# together, each running one test against the server of that image
# (harness::image::the_test_server_is_postgresql_15_with_pgtap). Checked: both
# pass, exactly one says it is building the image (the other waits for it),
# and the image exists afterwards. The harness picks the recipe (the
# registry's where one answers, Debian's otherwise), so this costs one image
# build: about a minute with a registry, a few minutes without.
#
# When the tag the tests use (VECTRA_TEST_PG_IMAGE, default
# vectra-test-postgres:15) is missing, the image just built is tagged as it
# too, so a fresh machine builds one image, not two. TAG itself is removed at
# the end, so the next run proves it again.
#
# Needs Docker (scripts/ensure-docker.sh) and cargo; VECTRA_TEST_DATABASE_URL
# is ignored (it would skip Docker altogether).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
MAIN=${VECTRA_TEST_PG_IMAGE:-vectra-test-postgres:15}
PROBE=${1:-vectra-test-postgres:harness-check-$$}
TEST=harness::image::the_test_server_is_postgresql_15_with_pgtap

log() { printf 'check-harness-builds-image: %s\n' "$*" >&2; }
die() { printf 'check-harness-builds-image: FAILED: %s\n' "$*" >&2; exit 1; }

[ "$PROBE" != "$MAIN" ] || die "TAG must differ from VECTRA_TEST_PG_IMAGE ($MAIN)"
if docker image inspect "$PROBE" >/dev/null 2>&1; then
    die "$PROBE exists already: give a tag that does not"
fi

WORK=$(mktemp -d)
cleanup() {
    docker image rm "$PROBE" >/dev/null 2>&1 || true
    # The harness's build log and lock file of this tag (image.rs, `paths`).
    rm -f "${TMPDIR:-/tmp}/vectra-test-image-$(printf '%s' "$PROBE" | tr -c 'a-zA-Z0-9' '-')".{log,lock}
    rm -rf "$WORK"
}
trap cleanup EXIT

log "building the test binary"
bin=$(cargo test --test api --no-run 2>&1 | tee "$WORK/build.log" \
    | sed -n 's/^ *Executable tests\/api\/main.rs (\(.*\))$/\1/p' | tail -n 1)
[ -n "$bin" ] && [ -x "$bin" ] || { cat "$WORK/build.log" >&2; die "no test binary"; }

log "two test processes at once, with the missing image $PROBE"
start=$SECONDS
pids=()
for i in 1 2; do
    env -u VECTRA_TEST_DATABASE_URL VECTRA_TEST_PG_IMAGE="$PROBE" \
        "$bin" --exact "$TEST" >"$WORK/run-$i.log" 2>&1 </dev/null &
    pids+=("$!")
done
failed=0
for i in 1 2; do
    if ! wait "${pids[$((i - 1))]}"; then failed=1; fi
    log "process $i:"
    grep -E '^vectra tests:|^test |^test result:' "$WORK/run-$i.log" | sed 's/^/    /' >&2 || true
done
if [ "$failed" -ne 0 ]; then
    for i in 1 2; do log "output of process $i:"; tail -n 40 "$WORK/run-$i.log" >&2; done
    die "a test process failed"
fi

builds=$(cat "$WORK"/run-*.log | grep -c '^vectra tests: the test image .* is missing: building it once' || true)
waits=$(cat "$WORK"/run-*.log | grep -c '^vectra tests: another test process is building' || true)
[ "$builds" -eq 1 ] || die "expected one build, saw $builds"
[ "$waits" -eq 1 ] || die "expected the other process to wait for the build, saw $waits waits"
docker image inspect "$PROBE" >/dev/null 2>&1 || die "$PROBE does not exist after the runs"
for i in 1 2; do
    grep -q '^test result: ok. 1 passed' "$WORK/run-$i.log" || die "process $i ran no test"
done
log "ok: one build, one wait, both passed ($((SECONDS - start)) s)"

if ! docker image inspect "$MAIN" >/dev/null 2>&1; then
    docker tag "$PROBE" "$MAIN"
    log "$MAIN was missing: tagged the image just built as it"
fi
