#!/usr/bin/env python3
"""Turns the service's `vectra::sql` trace lines (JSON logs, one request
transaction each: the context statement and the route's statement with the
values it bound) into pgbench scripts that send exactly that:

  capture.py LOG NAME OUTDIR   ->  OUTDIR/NAME.seq.sql, OUTDIR/NAME.pipe.sql

from the last transaction in LOG that sent the route's statement (the one most
of them sent: the service's background work, as vectra_worker, may show in
between). Sequential: four statements, one round trip
each. Pipelined: the same four inside \\startpipeline … \\endpipeline, as the
service sends them (one round trip)."""
import json
import re
import sys

log, name, outdir = sys.argv[1:4]
events = []
for line in open(log):
    line = line.strip()
    if not line.startswith("{"):
        continue
    try:
        event = json.loads(line)
    except ValueError:
        continue
    if event.get("target") == "vectra::sql":
        events.append(event)
events = [e for e in events if '"vectra_worker"' not in e["context_params"]] or events
if not events:
    sys.exit(f"capture: no vectra::sql trace in {log}")
texts = [e["statement"] for e in events]
last = [e for e in events if e["statement"] == max(set(texts), key=texts.count)][-1]

TOKEN = re.compile(r'\s*(Some\(|None|"(?:[^"\\]|\\.)*"|true|false|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|-?\d+(?:\.\d+)?|\(|\)|\[|\]|,)')


def literals(debug):
    """Debug output of the bound values -> SQL literals, in order."""
    out, pos, depth_some = [], 0, 0
    while pos < len(debug):
        m = TOKEN.match(debug, pos)
        if not m:
            sys.exit(f"capture: cannot read {debug[pos:]!r}")
        tok = m.group(1)
        pos = m.end()
        if tok in ("(", ")", "[", "]", ","):
            continue
        if tok == "Some(":
            continue
        if tok == "None":
            out.append("NULL")
        elif tok.startswith('"'):
            out.append("'" + json.loads(tok).replace("'", "''") + "'")
        elif re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", tok):
            out.append(f"'{tok}'")
        else:
            out.append(tok)
    return out


def bind(sql, values):
    return re.sub(r"\$(\d+)", lambda m: values[int(m.group(1)) - 1], sql)


context_values = literals(last["context_params"])
context_sql = last["context"]
n_context = len(re.findall(r"\$\d+", context_sql))
context = bind(context_sql, context_values[:max(n_context, 1)])
statement = bind(last["statement"], literals(last["params"]))
body = f"begin;\n{context};\n{statement};\ncommit;\n"
open(f"{outdir}/{name}.seq.sql", "w").write(body)
open(f"{outdir}/{name}.pipe.sql", "w").write(f"\\startpipeline\n{body}\\endpipeline\n")
print(statement)
