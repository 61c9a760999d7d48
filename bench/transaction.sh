#!/usr/bin/env bash
# Benchmarks of the request transaction against a local PostgreSQL 15.
# Uses VECTRA_BENCH_DATABASE_URL if set; otherwise starts Debian's cluster
# (pg_ctlcluster 15 main start) and uses its postgres superuser.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -z "${VECTRA_BENCH_DATABASE_URL:-}" ]; then
    if command -v pg_ctlcluster >/dev/null 2>&1; then
        pg_ctlcluster 15 main start 2>/dev/null || true
        su postgres -c "psql -qc \"alter user postgres password 'postgres'\"" >/dev/null
    fi
    export VECTRA_BENCH_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres
fi
cargo bench --bench request_transaction
