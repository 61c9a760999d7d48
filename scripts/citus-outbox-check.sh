#!/usr/bin/env bash
# The outbox on a Citus cluster: rows due in many organizations (so on every
# shard) are claimed by three claimers at once, as three instances' outbox
# workers would, beside the running service's own worker. Every row must be
# claimed exactly once: no claimer returns a row another returned, and every
# row ends with one attempt.
#
#   PGPASSWORD=<superuser's> scripts/citus-outbox-check.sh <coordinator port>
#
# Used by scripts/citus-test.sh; works on plain PostgreSQL too.
set -euo pipefail

PORT=$1
ROWS=${OUTBOX_CHECK_ROWS:-300}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
q() { psql -X -q -At -h 127.0.0.1 -p "$PORT" -U postgres -d vectra -v ON_ERROR_STOP=1 "$@"; }

# Rows of every organization there is (and the platform's), due now.
q -c "insert into public.email_outbox (organization_id, to_email, template, context)
      select o.id, 'outbox-check-' || g || '@example.test', 'verify-email', '{}'
        from generate_series(1, $ROWS) g
        cross join lateral (select id from (select id from public.organizations
                                            union all select app.platform_org_id()) os
                             order by md5(id::text || g) limit 1) o"
orgs=$(q -c "select count(distinct organization_id) from public.email_outbox where to_email like 'outbox-check-%'")
shards=$(q -c "select count(distinct get_shard_id_for_distribution_column('public.email_outbox', organization_id))
                 from public.email_outbox where to_email like 'outbox-check-%'" 2>/dev/null || echo 1)
echo "outbox-check: $ROWS rows due in $orgs organizations ($shards shards)"

claim() { # claim <n>: batches of 7 until a batch comes back empty
    local out=$dir/claimer-$1
    : >"$out"
    while :; do
        local got
        got=$(q -c "set role vectra_worker" -c "select id from auth.outbox_claim(7, interval '1 hour')
                                                 where to_email like 'outbox-check-%'" || echo "ERROR")
        [ "$got" = "ERROR" ] && { echo "outbox-check: claimer $1: a claim failed" >&2; echo ERROR >>"$out"; return 1; }
        [ -z "$got" ] && [ "$(q -c "select count(*) from public.email_outbox
                                     where to_email like 'outbox-check-%' and status = 'pending'")" = 0 ] && return 0
        [ -n "$got" ] && printf '%s\n' "$got" >>"$out"
    done
}
claim 1 & p1=$!
claim 2 & p2=$!
claim 3 & p3=$!
ok=0
wait $p1 || ok=1
wait $p2 || ok=1
wait $p3 || ok=1

cat "$dir"/claimer-* >"$dir/all"
ours=$(wc -l <"$dir/all")
dupes=$(sort "$dir/all" | uniq -d | wc -l)
read -r total once <<<"$(q -F ' ' -c "select count(*), count(*) filter (where attempts = 1 and status <> 'pending')
                                        from public.email_outbox where to_email like 'outbox-check-%'")"
echo "outbox-check: the three claimers took $ours rows ($(for f in "$dir"/claimer-*; do wc -l <"$f"; done | paste -sd/)), the service's worker the rest; taken twice: $dupes; rows claimed exactly once: $once of $total"
q -c "delete from public.email_outbox where to_email like 'outbox-check-%'" >/dev/null
[ "$ok" -eq 0 ] && [ "$dupes" -eq 0 ] && [ "$once" -eq "$total" ] && [ "$total" -eq "$ROWS" ]
