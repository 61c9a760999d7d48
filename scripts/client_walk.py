#!/usr/bin/env python3
"""A short real flow with a client generated from the OpenAPI document.

    python3 scripts/client_walk.py <base URL> <path of the generated package's parent>

The client is the one `openapi-python-client` generated from the document
the service serves (scripts/client-walk.sh generates it): every call below
goes through its functions and models, and every answer must parse into the
model its status documents. Register, verify the email with the link from
the dev mailbox, sign in, read /user/me, create a lead, list the leads.
Prints one line per step and "client walk: N passed, N failed".
"""
import json
import re
import sys
import time
import urllib.request
import uuid

BASE, PARENT = sys.argv[1], sys.argv[2]
sys.path.insert(0, PARENT)

from vectra_api_client import AuthenticatedClient, Client  # noqa: E402
from vectra_api_client.api.auth import post_auth_login, post_auth_register, post_auth_verify_email  # noqa: E402
from vectra_api_client.api.prospecting import get_user_leads, post_user_leads  # noqa: E402
from vectra_api_client.api.user import get_user_me  # noqa: E402
from vectra_api_client.models import (  # noqa: E402
    Detail, Lead, LeadBody, LeadPage, LoginBody, Problem, Profile, RegisterBody, TokenBody, Tokens,
)

passed = failed = 0


def step(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok    %s" % name)
    else:
        failed += 1
        print("FAIL  %s %s" % (name, detail))
    return ok


def parsed(name, response, status, model):
    """The answer's model, when its status and type are the documented ones."""
    ok = response.status_code == status and isinstance(response.parsed, model)
    step("%s: %d %s" % (name, status, model.__name__), ok,
         "(got %s %r: %s)" % (response.status_code, type(response.parsed).__name__,
                              response.content[:300]))
    if not ok:
        summary()
    return response.parsed


def mailbox_token(address):
    """The token of the newest email to `address` in the dev mailbox."""
    for _ in range(100):
        with urllib.request.urlopen(BASE + "/dev/mailbox.json") as r:
            mails = json.load(r)
        for mail in mails:
            if any(t["address"] == address for t in mail["to"]):
                m = re.search(r"token=([A-Za-z0-9_-]+)", mail["text"])
                if m:
                    return m.group(1)
        time.sleep(0.1)
    return None


def summary():
    print("client walk: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


email = "walk-%s@example.com" % uuid.uuid4().hex[:12]
password = "correct horse battery staple"
anonymous = Client(base_url=BASE, raise_on_unexpected_status=True)

r = post_auth_register.sync_detailed(client=anonymous, body=RegisterBody(
    email=email, password=password, full_name="Walker Client", organization_name="Client Walkers"))
parsed("register", r, 202, Detail)

token = mailbox_token(email)
step("the dev mailbox holds the verification link", token is not None)
if token is None:
    summary()
tokens = parsed("verify-email", post_auth_verify_email.sync_detailed(
    client=anonymous, body=TokenBody(token=token)), 200, Tokens)
step("verify-email signs the new owner in", tokens.user.email == email and tokens.user.email_verified)

tokens = parsed("login", post_auth_login.sync_detailed(
    client=anonymous, body=LoginBody(email=email, password=password)), 200, Tokens)
step("a bearer token pair", tokens.token_type == "bearer" and tokens.expires_in > 0)
client = AuthenticatedClient(base_url=BASE, token=tokens.access_token, raise_on_unexpected_status=True)

me = parsed("/user/me", get_user_me.sync_detailed(client=client), 200, Profile)
step("the profile is the owner's, in its organization",
     me.email == email and str(me.role) == "owner" and me.organization.name == "Client Walkers")

lead = parsed("create a lead", post_user_leads.sync_detailed(client=client, body=LeadBody(
    email="lea@prospect.example.com", full_name="Lea Stone", company="Stone & Co")), 201, Lead)
step("the lead is new, in no campaign", str(lead.status) == "new" and lead.campaign_id is None)

page = parsed("list the leads", get_user_leads.sync_detailed(client=client, per_page=10), 200, LeadPage)
step("the list holds the lead", page.total == 1 and [l.id for l in page.items] == [lead.id])

problem = parsed("a bad id is a problem", get_user_leads.sync_detailed(client=client, campaign_id="nope"),
                 422, Problem)
step("the problem names the field", [e.field for e in problem.errors] == ["campaign_id"])

summary()
