#!/usr/bin/env bash
# Squawk over the migrations, each as the runner applies it (.squawk.toml
# says which rules are off, which migrations are frozen, and why): in one
# transaction, or outside one when its first line is `-- vectra: no transaction`.
#
#   scripts/lint-migrations.sh
#
# Installs squawk-cli from npm when it is missing. Exit status: non-zero on
# any finding.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SQUAWK_VERSION=2.66.0
if ! command -v squawk >/dev/null 2>&1 || [ "$(squawk --version)" != "squawk $SQUAWK_VERSION" ]; then
    echo "lint-migrations: installing squawk-cli@$SQUAWK_VERSION"
    npm install -g --no-audit --no-fund "squawk-cli@$SQUAWK_VERSION" >/dev/null
fi

in_tx=() no_tx=()
for f in sql/migrations/V*.sql; do
    if [ "$(head -1 "$f")" = "-- vectra: no transaction" ]; then no_tx+=("$f"); else in_tx+=("$f"); fi
done
status=0
squawk --config .squawk.toml --no-error-on-unmatched-pattern --assume-in-transaction "${in_tx[@]}" || status=1
if [ "${#no_tx[@]}" -gt 0 ]; then
    squawk --config .squawk.toml --no-error-on-unmatched-pattern --no-assume-in-transaction "${no_tx[@]}" || status=1
fi
[ "$status" -eq 0 ] && echo "lint-migrations: no finding"
exit "$status"
