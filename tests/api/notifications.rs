//! Notifications: the sender × type matrix, whom each type reaches, the
//! tenant boundary, sanitized HTML, idempotent sends, one-click unsubscribe,
//! and an SMTP outage that delays mail without losing or doubling it.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::platform_admin;
use crate::harness::{Reply, TestApp, Tokens};
use crate::organization::{Team, team};

const SEND: &str = "/api/v1/user/notifications/send";
const ADMIN_SEND: &str = "/api/v1/admin/notifications/send";

fn note(kind: &str, recipients: Value, subject: &str) -> Value {
    json!({"type": kind, "recipients": recipients, "subject": subject, "body": format!("Body of {subject}"),
           "action_url": "https://shop.example/offer", "action_text": "See the offer"})
}

/// Who received the mail with this subject, sorted.
fn received(app: &TestApp, subject: &str) -> Vec<String> {
    let mut to: Vec<String> = app
        .mail
        .all()
        .into_iter()
        .filter(|m| m.subject.ends_with(subject))
        .flat_map(|m| m.to)
        .collect();
    to.sort();
    to
}

/// The one mail to `to` with this subject, once all due mail is delivered.
async fn mail_with(app: &TestApp, to: &str, subject: &str) -> crate::harness::smtp::Mail {
    let mut found: Vec<_> = app
        .mail
        .delivered_to(to)
        .await
        .into_iter()
        .filter(|m| m.subject == subject)
        .collect();
    assert_eq!(found.len(), 1, "mails {subject:?} to {to}: {found:?}");
    found.remove(0)
}

async fn leads(app: &TestApp, org: Uuid, emails: &[(&str, &str)]) {
    let admin = app.db.admin().await;
    for (email, status) in emails {
        admin
            .execute(
                "insert into leads (organization_id, email, status) values ($1, $2, $3::text::lead_status)",
                &[&org, email, status],
            )
            .await
            .expect("lead");
    }
}

async fn send_as(app: &TestApp, path: &str, who: &Tokens, body: Value) -> Reply {
    app.post(path, body, Some(&who.access)).await
}

struct World {
    app: TestApp,
    pa: Tokens,
    acme: Team,
    globex: Team,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let pa = platform_admin(&app).await;
    let acme = team(&app, "acme").await;
    let globex = team(&app, "globex").await;
    leads(
        &app,
        acme.org_id,
        &[
            ("lea@prospect.test", "new"),
            ("leo@prospect.test", "qualified"),
            ("lost@prospect.test", "lost"),
        ],
    )
    .await;
    leads(&app, globex.org_id, &[("gil@prospect.test", "new")]).await;
    app.settle_outbox().await;
    World {
        app,
        pa,
        acme,
        globex,
    }
}

#[tokio::test]
async fn every_sender_may_send_its_types_and_only_those() {
    let World { app, pa, acme, .. } = world().await;
    let before = app.count("select count(*) from notifications").await;
    // Managers and members send nothing; a type of the other endpoint is
    // refused naming the caller's own; the platform admin is not an
    // organization user, and organization users never pass the admin gate.
    for kind in ["org_to_prospects", "org_owner_to_members"] {
        for who in [&acme.manager, &acme.member] {
            send_as(&app, SEND, who, note(kind, json!("all"), "No"))
                .await
                .problem(403, "This action requires one of the roles: owner, admin");
        }
        send_as(&app, SEND, &pa, note(kind, json!("all"), "No"))
            .await
            .problem(403, "Organization user access required");
        send_as(&app, ADMIN_SEND, &pa, note(kind, json!("all"), "No"))
            .await
            .problem(
                403,
                &format!("The platform admin sends vectra_to_users, vectra_to_org_owner or system_alerts; {kind} is an organization's"),
            );
    }
    for kind in ["vectra_to_users", "vectra_to_org_owner", "system_alerts"] {
        for who in [&acme.owner, &acme.admin] {
            send_as(&app, SEND, who, note(kind, json!("all"), "No"))
                .await
                .problem(
                    403,
                    &format!("An organization sends org_to_prospects or org_owner_to_members; {kind} is the platform admin's"),
                );
        }
        for (_, who) in acme.by_role() {
            send_as(&app, ADMIN_SEND, who, note(kind, json!("all"), "No"))
                .await
                .problem(403, "Platform admin access required");
        }
    }
    app.post(SEND, note("org_to_prospects", json!("all"), "No"), None)
        .await
        .expect(401);
    assert_eq!(
        app.count("select count(*) from notifications").await,
        before,
        "nothing was recorded"
    );
    assert_eq!(
        app.count("select count(*) from email_outbox where template = 'notification'")
            .await,
        0
    );

    // Allowed: 202, and the emails arrive.
    for (who, kind, subject) in [
        (&acme.owner, "org_owner_to_members", "Owner to members"),
        (&acme.admin, "org_to_prospects", "Admin to prospects"),
    ] {
        let r = send_as(&app, SEND, who, note(kind, json!("all"), subject))
            .await
            .expect(202);
        assert_eq!(r.body["type"], kind);
        assert_eq!(r.body["status"], "queued");
        assert!(r.str("/id").parse::<Uuid>().is_ok());
    }
    for (kind, subject) in [
        ("vectra_to_users", "Platform news"),
        ("vectra_to_org_owner", "To owners"),
        ("system_alerts", "Maintenance"),
    ] {
        send_as(&app, ADMIN_SEND, &pa, note(kind, json!("all"), subject))
            .await
            .expect(202);
    }
    app.settle_outbox().await;
    assert_eq!(
        received(&app, "Owner to members"),
        ["admin@acme.test", "manager@acme.test", "member@acme.test"]
    );
    assert_eq!(
        received(&app, "Admin to prospects"),
        ["lea@prospect.test", "leo@prospect.test"]
    );
    let members_mail = app
        .mail
        .to("member@acme.test")
        .into_iter()
        .find(|m| m.subject == "Owner to members")
        .expect("mail");
    assert!(
        members_mail.text.contains("Body of Owner to members"),
        "{}",
        members_mail.text
    );
    assert!(
        members_mail
            .text
            .contains("See the offer: https://shop.example/offer"),
        "{}",
        members_mail.text
    );
    assert!(
        members_mail.html.contains("shop.example") && members_mail.html.contains("See the offer"),
        "{}",
        members_mail.html
    );
    assert!(
        members_mail.header("List-Unsubscribe").is_none(),
        "operational mail has no unsubscribe link"
    );
    let prospect_mail = mail_with(&app, "lea@prospect.test", "Admin to prospects").await;
    assert!(
        prospect_mail
            .text
            .contains("You receive this email from acme"),
        "{}",
        prospect_mail.text
    );
    let link = prospect_mail
        .header("List-Unsubscribe")
        .expect("List-Unsubscribe");
    assert!(
        link.starts_with("<http://app.vectra.test/api/v1/unsubscribe?token="),
        "{link}"
    );
    assert_eq!(
        prospect_mail.header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let announcement = app
        .mail
        .to("member@globex.test")
        .into_iter()
        .find(|m| m.subject == "Platform news")
        .expect("announcement");
    assert!(announcement.header("List-Unsubscribe").is_some());
    let alert = app
        .mail
        .to("member@globex.test")
        .into_iter()
        .find(|m| m.subject.ends_with("Maintenance"))
        .expect("alert");
    assert_eq!(alert.subject, "[Alert] Maintenance");
    assert!(alert.html.contains("role=\"alert\""), "{}", alert.html);
    assert!(alert.header("List-Unsubscribe").is_none());
    assert_eq!(
        received(&app, "To owners"),
        ["owner@acme.test", "owner@globex.test"]
    );
}

#[tokio::test]
async fn recipients_resolve_for_every_type() {
    let World {
        app,
        pa,
        acme,
        globex,
    } = world().await;
    // A suspended member and a removed one are nobody's "all".
    app.patch(
        &format!("/api/v1/admin/users/{}", acme.manager.user_id),
        json!({"status": "suspended"}),
        Some(&pa.access),
    )
    .await
    .expect(200);
    let detail = |id: String| {
        let app = &app;
        let token = pa.access.clone();
        async move {
            let r = app
                .get(&format!("/api/v1/admin/notifications/{id}"), Some(&token))
                .await
                .expect(200);
            r.body["recipients"]["items"]
                .as_array()
                .expect("recipients")
                .iter()
                .map(|x| x["email"].as_str().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let r = send_as(
        &app,
        SEND,
        &acme.owner,
        note("org_owner_to_members", json!("all"), "A"),
    )
    .await
    .expect(202);
    assert_eq!(
        detail(r.str("/id")).await,
        ["admin@acme.test", "member@acme.test"]
    );
    let r = send_as(
        &app,
        SEND,
        &acme.owner,
        note(
            "org_owner_to_members",
            json!(["MEMBER@acme.test", "member@acme.test"]),
            "B",
        ),
    )
    .await
    .expect(202);
    assert_eq!(
        r.body["recipient_count"], 1,
        "deduplicated case-insensitively"
    );
    // Another organization's member, an unknown address and a suspended member
    // read alike: not active members here.
    let r = send_as(
        &app,
        SEND,
        &acme.owner,
        note(
            "org_owner_to_members",
            json!(["member@globex.test", "nobody@x.test", "manager@acme.test"]),
            "C",
        ),
    )
    .await
    .expect(422);
    assert_eq!(
        r.body["errors"][0]["message"],
        "not active members of this organization: manager@acme.test, member@globex.test, nobody@x.test"
    );
    let r = send_as(
        &app,
        SEND,
        &acme.owner,
        note("org_to_prospects", json!("all"), "D"),
    )
    .await
    .expect(202);
    assert_eq!(
        detail(r.str("/id")).await,
        ["lea@prospect.test", "leo@prospect.test"],
        "leads not lost, of acme only"
    );
    // Listed prospects must be the organization's leads (a lost one may be
    // named): never an arbitrary address, nor another tenant's lead.
    let r = send_as(
        &app,
        SEND,
        &acme.owner,
        note(
            "org_to_prospects",
            json!([
                "new@prospect.test",
                "gil@prospect.test",
                "LOST@prospect.test"
            ]),
            "E",
        ),
    )
    .await
    .expect(422);
    assert_eq!(
        r.body["errors"],
        json!([{"field": "recipients", "message": "not leads of this organization: gil@prospect.test, new@prospect.test"}])
    );
    let r = send_as(
        &app,
        SEND,
        &acme.owner,
        note("org_to_prospects", json!(["LOST@prospect.test"]), "E"),
    )
    .await
    .expect(202);
    assert_eq!(detail(r.str("/id")).await, ["lost@prospect.test"]);

    let r = send_as(
        &app,
        ADMIN_SEND,
        &pa,
        note("vectra_to_users", json!("all"), "F"),
    )
    .await
    .expect(202);
    let mut everyone = vec![
        "admin@acme.test",
        "member@acme.test",
        "owner@acme.test",
        "ops@vectra.test",
    ];
    everyone.extend([
        "admin@globex.test",
        "manager@globex.test",
        "member@globex.test",
        "owner@globex.test",
    ]);
    everyone.sort_unstable();
    assert_eq!(
        detail(r.str("/id")).await,
        everyone,
        "active users, the platform admin included"
    );
    send_as(
        &app,
        ADMIN_SEND,
        &pa,
        note(
            "vectra_to_users",
            json!(["owner@acme.test", "ghost@x.test"]),
            "G",
        ),
    )
    .await
    .expect(422);
    let r = send_as(
        &app,
        ADMIN_SEND,
        &pa,
        json!({"type": "vectra_to_org_owner", "organization_ids": [globex.org_id],
                                                  "subject": "H", "body": "b"}),
    )
    .await
    .expect(202);
    assert_eq!(detail(r.str("/id")).await, ["owner@globex.test"]);
    let r = send_as(
        &app,
        ADMIN_SEND,
        &pa,
        json!({"type": "vectra_to_org_owner", "organization_ids": [Uuid::nil()],
                                                  "subject": "I", "body": "b"}),
    )
    .await
    .expect(422);
    assert_eq!(r.body["errors"][0]["field"], "organization_ids");
    send_as(
        &app,
        ADMIN_SEND,
        &pa,
        note("vectra_to_org_owner", json!(["owner@acme.test"]), "J"),
    )
    .await
    .expect(422);
    app.patch(
        &format!("/api/v1/admin/organizations/{}", globex.org_id),
        json!({"status": "suspended"}),
        Some(&pa.access),
    )
    .await
    .expect(200);
    let r = send_as(
        &app,
        ADMIN_SEND,
        &pa,
        note("vectra_to_org_owner", json!("all"), "K"),
    )
    .await
    .expect(202);
    assert_eq!(
        detail(r.str("/id")).await,
        ["owner@acme.test"],
        "owners of active organizations"
    );
    let r = send_as(
        &app,
        ADMIN_SEND,
        &pa,
        note("system_alerts", json!(["member@globex.test"]), "L"),
    )
    .await
    .expect(202);
    assert_eq!(
        detail(r.str("/id")).await,
        ["member@globex.test"],
        "listed users, whatever their organization"
    );
}

#[tokio::test]
async fn one_organization_never_sees_anothers_notifications() {
    let World {
        app,
        pa,
        acme,
        globex,
    } = world().await;
    let a = send_as(
        &app,
        SEND,
        &acme.owner,
        note("org_owner_to_members", json!("all"), "Acme only"),
    )
    .await
    .expect(202);
    send_as(
        &app,
        SEND,
        &globex.owner,
        note("org_owner_to_members", json!("all"), "Globex only"),
    )
    .await
    .expect(202);
    app.settle_outbox().await;
    let r = app
        .get("/api/v1/user/notifications", Some(&globex.owner.access))
        .await
        .expect(200);
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["items"][0]["subject"], "Globex only");
    app.get(
        &format!("/api/v1/user/notifications/{}", a.str("/id")),
        Some(&globex.owner.access),
    )
    .await
    .problem(404, "Notification not found");
    for who in [&acme.manager, &acme.member] {
        app.get("/api/v1/user/notifications", Some(&who.access))
            .await
            .problem(403, "This action requires one of the roles: owner, admin");
    }
    // The owner's own history, with delivery counts and each recipient.
    let r = app
        .get(
            "/api/v1/user/notifications?type=org_owner_to_members",
            Some(&acme.owner.access),
        )
        .await
        .expect(200);
    assert_eq!(r.body["total"], 1);
    assert_eq!(
        r.body["items"][0]["delivery"],
        json!({"pending": 0, "sending": 0, "sent": 3, "failed": 0, "cancelled": 0})
    );
    let d = app
        .get(
            &format!("/api/v1/user/notifications/{}", a.str("/id")),
            Some(&acme.admin.access),
        )
        .await
        .expect(200);
    assert_eq!(d.body["body"], "Body of Acme only");
    assert_eq!(
        d.body["recipients"]["items"][0],
        json!({"email": "admin@acme.test", "status": "sent", "attempts": 1,
                                               "last_error": null, "sent_at": d.body["recipients"]["items"][0]["sent_at"]})
    );
    app.get(
        "/api/v1/user/notifications?type=bogus",
        Some(&acme.owner.access),
    )
    .await
    .expect(422);
    // The platform admin sees both, and can filter by organization.
    let r = app
        .get("/api/v1/admin/notifications", Some(&pa.access))
        .await
        .expect(200);
    assert_eq!(r.body["total"], 2);
    let r = app
        .get(
            &format!(
                "/api/v1/admin/notifications?organization_id={}",
                acme.org_id
            ),
            Some(&pa.access),
        )
        .await
        .expect(200);
    assert_eq!(r.body["items"][0]["subject"], "Acme only");
    assert_eq!(r.body["total"], 1);
}

#[tokio::test]
async fn html_is_sanitized_and_fields_are_checked() {
    let World { app, acme, .. } = world().await;
    let r = send_as(
        &app,
        SEND,
        &acme.owner,
        json!({"type": "org_owner_to_members", "recipients": ["member@acme.test"], "subject": "Clean", "body": "Plain",
               "body_html": "<p>Hi <b>team</b></p><script>alert(1)</script><img src=x onerror=alert(2)><a href=\"javascript:alert(3)\">x</a>"}),
    )
    .await
    .expect(202);
    let stored = app
        .get(
            &format!("/api/v1/user/notifications/{}", r.str("/id")),
            Some(&acme.owner.access),
        )
        .await
        .expect(200);
    let mail = mail_with(&app, "member@acme.test", "Clean").await;
    for html in [stored.str("/body_html"), mail.html.clone()] {
        assert!(html.contains("<p>Hi <b>team</b></p>"), "{html}");
        for needle in ["<script", "onerror", "javascript:"] {
            assert!(!html.contains(needle), "{needle} in {html}");
        }
    }
    // Every bad field at once, and nothing queued.
    let before = app.count("select count(*) from email_outbox").await;
    let r = send_as(
        &app,
        SEND,
        &acme.owner,
        json!({"type": "org_to_prospects", "recipients": ["ok@x.test", "not an email"], "subject": "",
               "body": "x".repeat(20_001), "action_url": "javascript:alert(1)", "colour": "red"}),
    )
    .await
    .expect(422);
    assert_eq!(
        r.fields(),
        [
            "action_text",
            "action_url",
            "body",
            "colour",
            "recipients",
            "subject"
        ]
    );
    for recipients in [
        json!([]),
        json!("everyone"),
        json!(
            (0..1001)
                .map(|i| format!("u{i}@x.test"))
                .collect::<Vec<_>>()
        ),
    ] {
        let r = send_as(
            &app,
            SEND,
            &acme.owner,
            note("org_to_prospects", recipients, "Bad"),
        )
        .await
        .expect(422);
        assert_eq!(r.body["errors"][0]["field"], "recipients");
    }
    let r = send_as(&app, SEND, &acme.owner, json!({"type": "org_to_prospects", "recipients": "all", "subject": "s", "body": "b", "action_text": "Go"}))
        .await
        .expect(422);
    assert_eq!(r.body["errors"][0]["field"], "action_text");
    let r = app
        .send_with(
            app.http
                .post(app.url(SEND))
                .bearer_auth(&acme.owner.access)
                .header("Idempotency-Key", "")
                .json(&note("org_to_prospects", json!("all"), "s")),
        )
        .await
        .expect(422);
    assert_eq!(r.body["errors"][0]["field"], "Idempotency-Key");
    send_as(
        &app,
        SEND,
        &acme.owner,
        json!({"type": "org_to_prospects", "recipients": "all", "subject": "a\u{0}b", "body": "b"}),
    )
    .await
    .expect(422);
    assert_eq!(app.count("select count(*) from email_outbox").await, before);
}

#[tokio::test]
async fn an_idempotency_key_never_sends_twice() {
    let World {
        app, acme, globex, ..
    } = world().await;
    let post = |who: &Tokens, key: &str, body: Value| {
        app.send_with(
            app.http
                .post(app.url(SEND))
                .bearer_auth(&who.access)
                .header("Idempotency-Key", key)
                .json(&body),
        )
    };
    let body = note("org_owner_to_members", json!("all"), "Once");
    let (a, b) = tokio::join!(
        post(&acme.owner, "send-1", body.clone()),
        post(&acme.owner, "send-1", body.clone())
    );
    let (a, b) = (a.expect(202), b.expect(202));
    assert_eq!(a.body, b.body, "two concurrent tries, one send");
    let c = post(&acme.owner, "send-1", body.clone()).await.expect(202);
    assert_eq!(c.body, a.body, "a retry answers the first 202");
    post(
        &acme.owner,
        "send-1",
        note("org_owner_to_members", json!("all"), "Other"),
    )
    .await
    .problem(
        422,
        "Idempotency-Key: already used for a different request in the last 24 hours",
    );
    // Another sender's key is its own.
    let d = post(&globex.owner, "send-1", body.clone())
        .await
        .expect(202);
    assert_ne!(d.body["id"], a.body["id"]);
    app.settle_outbox().await;
    assert_eq!(
        app.count("select count(*) from notifications where subject = 'Once'")
            .await,
        2
    );
    assert_eq!(
        received(&app, "Once")
            .iter()
            .filter(|t| t.ends_with("@acme.test"))
            .count(),
        3,
        "each acme member once"
    );
    // After 24 hours the key is free again.
    app.db.admin().await
        .execute("update notifications set created_at = now() - interval '25 hours' where subject = 'Once'", &[])
        .await
        .expect("age");
    let e = post(&acme.owner, "send-1", body).await.expect(202);
    assert_ne!(e.body["id"], a.body["id"]);
}

#[tokio::test]
async fn one_click_unsubscribe_suppresses_later_sends() {
    let World {
        app,
        pa,
        acme,
        globex,
    } = world().await;
    send_as(
        &app,
        SEND,
        &acme.owner,
        note("org_to_prospects", json!("all"), "First offer"),
    )
    .await
    .expect(202);
    let mail = mail_with(&app, "lea@prospect.test", "First offer").await;
    let path = mail.unsubscribe_path();
    // GET shows the question, changes nothing.
    let page = app.http.get(app.url(&path)).send().await.expect("get");
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/html")
    );
    let text = page.text().await.expect("page");
    assert!(
        text.contains("Stop sending emails from acme to <strong>lea@prospect.test</strong>"),
        "{text}"
    );
    assert!(text.contains("<form method=\"post\""), "{text}");
    assert_eq!(
        app.count("select count(*) from lead_suppressions where email = 'lea@prospect.test'")
            .await,
        0
    );
    // A mail client's one-click POST (RFC 8058), no login.
    let done = app
        .http
        .post(app.url(&path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("post");
    assert_eq!(done.status(), 200);
    assert!(
        done.text()
            .await
            .expect("page")
            .contains("will receive no more emails from acme")
    );
    // The next send skips the address; other organizations may still write to it.
    let r = send_as(
        &app,
        SEND,
        &acme.owner,
        note("org_to_prospects", json!("all"), "Second offer"),
    )
    .await
    .expect(202);
    assert_eq!(
        (
            r.body["recipient_count"].clone(),
            r.body["suppressed_count"].clone()
        ),
        (json!(1), json!(1))
    );
    // Another organization with the same prospect keeps mailing it.
    leads(&app, globex.org_id, &[("lea@prospect.test", "new")]).await;
    send_as(
        &app,
        SEND,
        &globex.owner,
        note(
            "org_to_prospects",
            json!(["lea@prospect.test"]),
            "Globex offer",
        ),
    )
    .await
    .expect(202);
    app.settle_outbox().await;
    assert_eq!(received(&app, "Second offer"), ["leo@prospect.test"]);
    assert_eq!(received(&app, "Globex offer"), ["lea@prospect.test"]);
    // Tampered and missing tokens.
    let tampered = format!("{}x", path);
    app.send_with(app.http.post(app.url(&tampered)))
        .await
        .problem(400, "Invalid unsubscribe link");
    app.get("/api/v1/unsubscribe", None)
        .await
        .problem(400, "Invalid unsubscribe link");
    app.get("/api/v1/unsubscribe?token=a.b.c", None)
        .await
        .problem(400, "Invalid unsubscribe link");

    // Users opt out of announcements, not of alerts.
    send_as(
        &app,
        ADMIN_SEND,
        &pa,
        note("vectra_to_users", json!(["member@globex.test"]), "News 1"),
    )
    .await
    .expect(202);
    let mail = mail_with(&app, "member@globex.test", "News 1").await;
    let path = mail.unsubscribe_path();
    app.send_with(app.http.post(app.url(&path))).await;
    let r = send_as(
        &app,
        ADMIN_SEND,
        &pa,
        note("vectra_to_users", json!(["member@globex.test"]), "News 2"),
    )
    .await
    .expect(202);
    assert_eq!(r.body["suppressed_count"], 1);
    send_as(
        &app,
        ADMIN_SEND,
        &pa,
        note("system_alerts", json!(["member@globex.test"]), "Alert 1"),
    )
    .await
    .expect(202);
    app.settle_outbox().await;
    assert!(received(&app, "News 2").is_empty());
    assert_eq!(received(&app, "Alert 1"), ["member@globex.test"]);
}

#[tokio::test]
async fn an_smtp_outage_delays_mail_but_never_loses_or_doubles_it() {
    let World { app, acme, .. } = world().await;
    app.mail.stop();
    let r = send_as(
        &app,
        SEND,
        &acme.owner,
        note("org_owner_to_members", json!("all"), "Through the outage"),
    )
    .await
    .expect(202);
    assert_eq!(r.body["recipient_count"], 3);
    // Queued by the request: three rows, none tried yet.
    let rows = |sql: &'static str| app.count(sql);
    assert_eq!(
        rows("select count(*) from email_outbox where template = 'notification' and status = 'pending' and attempts = 0").await,
        3
    );
    // A round tries each, fails and reschedules: nothing is lost meanwhile.
    assert_eq!(app.deliver_mail().await, 3);
    assert_eq!(
        rows("select count(*) from email_outbox where template = 'notification' and status = 'pending'
                and attempts = 1 and last_error is not null and next_attempt_at > now()").await,
        3,
        "every row waiting for another try, with its error"
    );
    assert_eq!(app.deliver_mail().await, 0, "retried before its backoff");
    app.mail.restart().await;
    // The backoff has passed (moved back in time): the retries deliver.
    app.db
        .admin()
        .await
        .execute(
            "update email_outbox set next_attempt_at = now() where template = 'notification'",
            &[],
        )
        .await
        .expect("make the retries due");
    assert_eq!(app.deliver_mail().await, 3);
    assert_eq!(
        received(&app, "Through the outage"),
        ["admin@acme.test", "manager@acme.test", "member@acme.test"],
        "exactly once each"
    );
    assert_eq!(app.deliver_mail().await, 0, "something left to send");
    let d = app
        .get(
            &format!("/api/v1/user/notifications/{}", r.str("/id")),
            Some(&acme.owner.access),
        )
        .await
        .expect(200);
    assert_eq!(d.body["delivery"]["sent"], 3);
    assert!(
        d.body["recipients"]["items"]
            .as_array()
            .expect("recipients")
            .iter()
            .all(|x| x["attempts"] == 2),
        "{d:?}"
    );
}

#[tokio::test]
async fn an_organization_has_a_daily_quota_and_a_long_send_is_paged() {
    let World { app, pa, acme, .. } = world().await;
    app.db
        .admin()
        .await
        .execute(
            "update auth.settings set notification_emails_per_organization_per_day = 3",
            &[],
        )
        .await
        .expect("quota");
    let two = json!(["lea@prospect.test", "leo@prospect.test"]);
    let first = send_as(
        &app,
        SEND,
        &acme.owner,
        note("org_to_prospects", two.clone(), "One"),
    )
    .await
    .expect(202);
    // Two of three used: two more would pass the quota, four never fit.
    let r = send_as(&app, SEND, &acme.owner, note("org_to_prospects", two, "Two"))
        .await
        .problem(
            429,
            "This organization has sent 2 notification emails in the last 24 hours (at most 3); try again later",
        );
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((86_000..=86_400).contains(&retry), "Retry-After {retry}");
    let four = json!(["a@p.test", "b@p.test", "c@p.test", "d@p.test"]);
    leads(
        &app,
        acme.org_id,
        &[
            ("a@p.test", "new"),
            ("b@p.test", "new"),
            ("c@p.test", "new"),
            ("d@p.test", "new"),
        ],
    )
    .await;
    let r = send_as(
        &app,
        SEND,
        &acme.owner,
        note("org_to_prospects", four, "Four"),
    )
    .await
    .expect(422);
    assert_eq!(
        r.body["errors"],
        json!([{"field": "recipients", "message": "4 addresses, more than this organization's 3 per day"}])
    );
    assert_eq!(
        app.count("select count(*) from notifications where subject in ('Two', 'Four')")
            .await,
        0
    );
    // The platform admin's announcements do not count against it.
    send_as(
        &app,
        ADMIN_SEND,
        &pa,
        note(
            "vectra_to_users",
            json!(["owner@acme.test", "admin@acme.test"]),
            "News",
        ),
    )
    .await
    .expect(202);

    // The recipients of one notification, a page at a time, by address.
    let id = first.str("/id");
    let page = app
        .get(
            &format!("/api/v1/user/notifications/{id}?page=2&per_page=1"),
            Some(&acme.owner.access),
        )
        .await
        .expect(200);
    assert_eq!(page.body["recipients"]["total"], 2);
    assert_eq!(
        page.body["recipients"]["items"].as_array().unwrap().len(),
        1
    );
    assert_eq!(
        page.body["recipients"]["items"][0]["email"],
        "leo@prospect.test"
    );
    app.get(
        &format!("/api/v1/user/notifications/{id}?per_page=500"),
        Some(&acme.owner.access),
    )
    .await
    .expect(422);

    // HTML stored by direct SQL comes back sanitized.
    app.db
        .admin()
        .await
        .execute(
            "update notifications set body_html = '<p>Hi</p><img src=x onerror=alert(1)><script>alert(2)</script>' where id = $1",
            &[&Uuid::parse_str(&id).unwrap()],
        )
        .await
        .expect("raw html");
    for (path, token) in [
        (
            format!("/api/v1/user/notifications/{id}"),
            &acme.owner.access,
        ),
        (format!("/api/v1/admin/notifications/{id}"), &pa.access),
    ] {
        let d = app.get(&path, Some(token)).await.expect(200);
        let html = d.str("/body_html");
        assert!(html.starts_with("<p>Hi</p>"), "{html}");
        assert!(
            !html.contains("onerror") && !html.contains("script"),
            "{html}"
        );
    }
}
