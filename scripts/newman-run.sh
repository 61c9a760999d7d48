#!/usr/bin/env bash
# The Postman collection against a running service, for scripts/run-newman.sh
# and scripts/topology-test.sh:
#
#   scripts/newman-run.sh BASE_URL MAIL_URL OUTDIR
#
# Installs Newman (NEWMAN_VERSION) when missing, runs the collection
# (scripts/newman-capture.js: Newman's cli and json reporters) and writes
# OUTDIR/newman.json (Newman's json export: the statistics) and
# OUTDIR/responses.json (every request the run made, the items' scripts'
# included, with its response: what scripts/check-responses.py checks).
# Exit status: Newman's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

NEWMAN_VERSION=6.2.2
if ! command -v newman >/dev/null 2>&1 || [ "$(newman --version)" != "$NEWMAN_VERSION" ]; then
    echo "newman-run: installing newman@$NEWMAN_VERSION"
    npm install -g --no-audit --no-fund "newman@$NEWMAN_VERSION" >/dev/null
fi
exec node scripts/newman-capture.js postman/Vectra_API_Collection.json postman/Vectra_API.postman_environment.json \
    "$3/newman.json" "$3/responses.json" "base_url=$1" "mail_url=$2"
