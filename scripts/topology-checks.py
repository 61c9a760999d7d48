#!/usr/bin/env python3
"""The checks of scripts/topology-test.sh, against three instances behind
nginx (NGINX_URL), each also reachable directly (API_URLS), the mail catcher
(MAIL_URL) and the database (ADMIN_URL, through psql in PG_BIN).

Clients are told apart by their source address: 127.0.0.2, 127.0.0.3 … on
the loopback, as nginx sees them (it forwards them in X-Forwarded-For; the
instances trust 127.0.0.1, nginx's own address, only)."""
import http.client
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse

import jwt  # PyJWT: an independent verifier of the access tokens

NGINX = os.environ["NGINX_URL"]
APIS = os.environ["API_URLS"].split()
MAIL = os.environ["MAIL_URL"]
ADMIN_URL = os.environ["ADMIN_URL"]
PG_BIN = os.environ["PG_BIN"]
WORK = os.environ["WORK"]
failures = []


def check(ok, what):
    print(("ok      " if ok else "FAILED  ") + what, flush=True)
    if not ok:
        failures.append(what)


def request(base, method, path, body=None, token=None, source="127.0.0.1", headers=None):
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30, source_address=(source, 0))
    h = {"content-type": "application/json"} if body is not None else {}
    if token:
        h["authorization"] = f"Bearer {token}"
    h.update(headers or {})
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = conn.getresponse()
    raw = r.read()
    conn.close()
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = raw.decode(errors="replace")
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data


def psql(sql):
    out = subprocess.run(
        [f"{PG_BIN}/psql", ADMIN_URL, "-Atqc", sql], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def login(base, email, password, source):
    return request(base, "POST", "/api/v1/auth/login", {"email": email, "password": password}, source=source)


def mails_to(address):
    _, _, mails = request(MAIL, "GET", "/email")
    return [m for m in mails if any(t["address"] == address for t in m["to"])]


def verified_user(email, org):
    status, _, _ = request(NGINX, "POST", "/api/v1/auth/register",
                           {"email": email, "password": "correct horse battery", "full_name": "Topo Logy",
                            "organization_name": org}, source="127.0.0.9")
    assert status == 202, status
    for _ in range(100):
        found = mails_to(email)
        if found:
            break
        time.sleep(0.1)
    token = re.search(r"token=([A-Za-z0-9_-]+)", found[-1]["text"]).group(1)
    status, _, tokens = request(NGINX, "POST", "/api/v1/auth/verify-email", {"token": token}, source="127.0.0.9")
    assert status == 200, (status, tokens)
    return tokens


# What this phase sends, apart from what the collection sent before.
request(MAIL, "DELETE", "/email/all")
phase_started = psql("select now()")

# 1. The per-address limit (RATE_LIMIT_PER_MINUTE=10), one client going round
#    robin over the three instances: ten attempts in all, not thirty. (Each
#    attempt names another email, so that the email's own backoff stays out.)
statuses = [login(NGINX, f"nobody{i}@topology.test", "wrong password!", "127.0.0.2")[0] for i in range(11)]
check(statuses == [401] * 10 + [429],
      f"one client through nginx: 10 attempts, then 429, over three instances ({statuses})")
status, headers, _ = login(NGINX, "nobody@topology.test", "wrong password!", "127.0.0.2")
check(status == 429 and int(headers.get("retry-after", "0")) >= 1, "the 429 carries Retry-After")
# 2. X-Forwarded-For: nginx separates two clients; a spoofed entry does not.
status, _, _ = request(NGINX, "POST", "/api/v1/auth/login", {"email": "someone@topology.test", "password": "x" * 10},
                       source="127.0.0.2", headers={"x-forwarded-for": "127.0.0.3"})
check(status == 429, f"a spoofed X-Forwarded-For does not escape the limit ({status})")
status, _, _ = login(NGINX, "someone@topology.test", "wrong password!", "127.0.0.3")
check(status == 401, f"another client behind the same proxy has its own limit ({status})")

# 3. The login backoff per email (LOGIN_FAILURES_BEFORE_BACKOFF=5), round robin.
verified_user("ann@topology.test", "Topology")
statuses = [login(NGINX, "ann@topology.test", "wrong password!", "127.0.0.4")[0] for _ in range(7)]
check(statuses == [401] * 6 + [429],
      f"one email over three instances: 5 free failures, the 6th makes the next wait ({statuses})")

# 4. Sessions record the client, not nginx.
time.sleep(1.2)  # the wait the sixth failure set
status, _, _ = login(NGINX, "ann@topology.test", "correct horse battery", "127.0.0.5")
check(status == 200, f"the right password, once the wait is over ({status})")
ip = psql("select host(ip) from sessions order by created_at desc limit 1")
check(ip == "127.0.0.5", f"the session records the client's address, not the proxy's ({ip})")

# 5. A token signed by one instance verifies on every other, and with PyJWT
#    against the published keys.
status, _, direct = login(APIS[0], "ann@topology.test", "correct horse battery", "127.0.0.6")
check(status == 200, f"sign in on instance 1 ({status})")
token = direct["access_token"]
for i, base in enumerate(APIS):
    status, _, me = request(base, "GET", "/api/v1/user/me", token=token)
    check(status == 200 and me["email"] == "ann@topology.test", f"instance {i + 1} accepts it ({status})")
status, headers, jwks = request(NGINX, "GET", "/.well-known/jwks.json")
check(status == 200 and jwks["keys"] and all("d" not in k for k in jwks["keys"]),
      "the JWKS publishes public keys only")
header = jwt.get_unverified_header(token)
key = next((k for k in jwks["keys"] if k.get("kid") == header.get("kid")), None)
check(key is not None and header["alg"] == "EdDSA", f"the token names a published key ({header})")
if key is not None:
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["EdDSA"], options={"verify_aud": False})
    check(claims["sub"] == direct["user"]["id"], "PyJWT verifies it with the JWKS alone")
    try:
        jwt.decode(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"), jwt.PyJWK(key).key,
                   algorithms=["EdDSA"], options={"verify_aud": False})
        check(False, "PyJWT refuses a tampered token")
    except jwt.InvalidTokenError:
        check(True, "PyJWT refuses a tampered token")

# 6. An instance stopped in the middle of a load (and of the outbox's work):
#    nginx tries the next one, the client sees no failed request, and the
#    emails queued just before are each delivered once.
status, _, owner = login(NGINX, "ann@topology.test", "correct horse battery", "127.0.0.7")
check(status == 200, f"the owner signs in ({status})")
leads = [{"email": f"prospect{i}@topology.test"} for i in range(40)]
status, _, _ = request(NGINX, "POST", "/api/v1/user/leads/import", leads, token=owner["access_token"])
check(status == 201, f"40 leads imported ({status})")
stop_pid = int(os.environ["STOP_INSTANCE_PID"])
wrk = subprocess.Popen(
    ["wrk", "-t2", "-c16", "-d8s", "-H", f"Authorization: Bearer {token}", f"{NGINX}/api/v1/user/me"],
    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
time.sleep(2.5)
# Queued just before the stop: the catcher takes 100 ms a message, so the
# stopping instance's worker is in the middle of its round.
status, _, queued = request(NGINX, "POST", "/api/v1/user/notifications/send",
                            {"type": "org_to_prospects", "recipients": "all", "subject": "Spring offer",
                             "body": "Our spring range."}, token=owner["access_token"])
check(status == 202 and queued["recipient_count"] == 40, f"40 emails queued ({status})")
time.sleep(0.5)
os.kill(stop_pid, 15)
out = wrk.communicate()[0]
print(out, flush=True)
done = re.search(r"(\d+) requests in", out)
check(done is not None and int(done.group(1)) > 100, "the load ran")
check("Non-2xx" not in out and "Socket errors" not in out,
      "no failed request while an instance stopped (SIGTERM) under load")

# 7. Every email of this phase went out once: what the outbox marked sent is
#    what the catcher received, nothing twice, nothing left behind (three
#    workers competed for every row, one of them stopped on the way).
deadline = time.time() + 30
while time.time() < deadline and psql(
        "select count(*) from email_outbox where status in ('pending', 'sending')") != "0":
    time.sleep(0.2)
left = psql("select count(*) from email_outbox where status in ('pending', 'sending')")
check(left == "0", f"nothing left pending or sending ({left})")
sent = int(psql(f"select count(*) from email_outbox where status = 'sent' and created_at >= '{phase_started}'"))
_, _, mails = request(MAIL, "GET", "/email")
check(sent >= 41 and len(mails) == sent, f"each email once: {sent} sent by the outbox, {len(mails)} received")
seen = [(tuple(t["address"] for t in m["to"]), m["subject"], m["text"]) for m in mails]
check(len(set(seen)) == len(seen), "no message arrived twice")
spring = sorted(t["address"] for m in mails if m["subject"] == "Spring offer" for t in m["to"])
check(spring == sorted(f"prospect{i}@topology.test" for i in range(40)), "every prospect got the offer once")

if failures:
    print(f"\n{len(failures)} check(s) failed:", *failures, sep="\n  ")
    sys.exit(1)
