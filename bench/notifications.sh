#!/usr/bin/env bash
# A 1,000-recipient send: how long POST /user/notifications/send takes (the
# set-based queueing), and how fast the outbox worker then delivers to a
# local SMTP sink (scripts/smtp-sink.py). Release build, fresh database.
# Usage: bench/notifications.sh [RECIPIENTS]   (at most 1000 per list)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N=${1:-1000}
. bench/serve.sh
SINK_PORT=${SINK_PORT:-18026}
python3 scripts/smtp-sink.py "$SINK_PORT" >/tmp/vectra-bench-sink.log 2>&1 &
sink=$!
trap 'kill $sink 2>/dev/null; bench_cleanup' EXIT
bench_serve SMTP_URL=smtp://127.0.0.1:$SINK_PORT OUTBOX_POLL_INTERVAL=200ms RATE_LIMIT_PER_MINUTE=100000
token=$(bench_owner owner@bench.test)
psql "$DATABASE_ADMIN_URL" -qc "update users set email_verified_at = now() where email = 'owner@bench.test'"
token=$(curl -fs -H 'content-type: application/json' -d '{"email":"owner@bench.test","password":"bench password 1"}' \
    "$api/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
outbox() { psql "$DATABASE_ADMIN_URL" -qAtc "select count(*) filter (where status = 'sent') || ' ' || count(*) filter (where status in ('pending', 'sending')) from email_outbox where template = 'notification'"; }
body() {
    python3 -c "import json,sys; print(json.dumps({'type': 'org_to_prospects', 'subject': sys.argv[2], 'body': 'Hello,\n\nOur spring range is out.',
        'body_html': '<p>Hello,</p><p>Our <b>spring</b> range is out.</p>', 'action_url': 'https://shop.example/spring', 'action_text': 'See it',
        'recipients': ['p%d@prospects.example' % i for i in range(int(sys.argv[1]))]}))" "$N" "$1"
}
for run in 1 2 3; do
    body "Spring $run" >/tmp/vectra-bench-body.json
    before=$(outbox | cut -d' ' -f1)
    t=$(curl -s -o /tmp/vectra-bench-answer.json -w '%{http_code} %{time_total}' -H "authorization: Bearer $token" \
        -H 'content-type: application/json' --data @/tmp/vectra-bench-body.json "$api/user/notifications/send")
    start=$(date +%s.%N)
    while [ "$(outbox | cut -d' ' -f2)" != 0 ]; do sleep 0.05; done
    end=$(date +%s.%N)
    sent=$(( $(outbox | cut -d' ' -f1) - before ))
    printf 'run %s: POST send %s (%s recipients) in %.0f ms; worker delivered %s in %.2f s = %.0f emails/s\n' \
        "$run" "${t%% *}" "$(python3 -c 'import json; print(json.load(open("/tmp/vectra-bench-answer.json"))["recipient_count"])')" \
        "$(echo "${t##* } * 1000" | bc)" "$sent" "$(echo "$end - $start" | bc)" "$(echo "$sent / ($end - $start)" | bc -l)"
done
bench_rss
