#!/usr/bin/env python3
"""Signs up the callers a contract test needs against a fresh `vectra dev`
(its mailbox at /dev/mailbox.json) and gives them data to list:

  scripts/api-fixtures.py http://127.0.0.1:18081 > tokens.json

prints {"owner": token, "member": token, "platform_admin": token}. The owner
registers and verifies, invites a member who accepts, and creates a campaign,
leads, a meeting and a notification; the platform admin (PLATFORM_ADMIN_EMAIL,
admin@vectra.io by default) registers and verifies.
"""
import json
import sys
import time
import urllib.error
import urllib.request

BASE = sys.argv[1].rstrip("/")
PASSWORD = "correct horse battery staple"
ADMIN_EMAIL = sys.argv[2] if len(sys.argv) > 2 else "admin@vectra.io"


def call(method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req) as r:
            text = r.read().decode()
            return r.status, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode() or "null")


def expect(status, answer, wanted, what):
    if status != wanted:
        sys.exit(f"api-fixtures: {what}: {status} {answer}")
    return answer


def token_from_mail(to, marker):
    for _ in range(100):
        _, mails = call("GET", "/dev/mailbox.json")
        for m in mails or []:
            if m["to"][0]["address"] == to and marker in m["text"]:
                return m["text"].split("token=")[1].split()[0]
        time.sleep(0.2)
    sys.exit(f"api-fixtures: no {marker} email to {to}")


def verified(email, full_name, organization_name=None):
    body = {"email": email, "password": PASSWORD, "full_name": full_name}
    if organization_name:
        body["organization_name"] = organization_name
    expect(*call("POST", "/api/v1/auth/register", body), 202, f"register {email}")
    token = token_from_mail(email, "/verify-email?token=")
    return expect(*call("POST", "/api/v1/auth/verify-email", {"token": token}), 200, "verify")["access_token"]


owner = verified("owner@contract.test", "Olive Owner", "Contract Co")
invitation = expect(*call("POST", "/api/v1/user/organizations/me/users/invite",
                          {"email": "member@contract.test", "role": "member"}, owner), 201, "invite")
member = expect(*call("POST", "/api/v1/auth/accept-invitation",
                      {"token": token_from_mail("member@contract.test", "/accept-invitation?token="),
                       "password": PASSWORD, "full_name": "Mel Member"}), 201, "accept")["access_token"]
campaign = expect(*call("POST", "/api/v1/user/campaigns", {"name": "Spring"}, owner), 201, "campaign")
lead = expect(*call("POST", "/api/v1/user/leads",
                    {"email": "lea@prospect.test", "full_name": "Lea", "campaign_id": campaign["id"]}, owner), 201, "lead")
expect(*call("POST", "/api/v1/user/leads/import",
             [{"email": f"p{i}@prospect.test", "company": "Acme"} for i in range(5)], owner), 201, "import")
expect(*call("POST", "/api/v1/user/meetings",
             {"lead_id": lead["id"], "scheduled_at": "2030-01-01T10:00:00Z"}, owner), 201, "meeting")
expect(*call("POST", "/api/v1/user/notifications/send",
             {"type": "org_owner_to_members", "recipients": "all", "subject": "Hello", "body": "Welcome"}, owner),
       202, "notification")
admin = verified(ADMIN_EMAIL, "Pat Admin")
print(json.dumps({"owner": owner, "member": member, "platform_admin": admin}))
