//! Tenant mail as an attacker would use it: a suspended organization's
//! campaign still going out, an organization relaying to any address under
//! the platform's name, fresh sign-ups multiplying the quota, and
//! suppression dodged with plus-addressing.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::platform_admin;
use crate::harness::{Reply, TestApp, Tokens};
use crate::organization::team;

const SEND: &str = "/api/v1/user/notifications/send";
const ADMIN: &str = "/api/v1/admin";

fn note(kind: &str, recipients: Value, subject: &str) -> Value {
    json!({"type": kind, "recipients": recipients, "subject": subject, "body": format!("Body of {subject}")})
}

async fn leads(app: &TestApp, org: Uuid, emails: &[&str]) {
    let admin = app.db.admin().await;
    for email in emails {
        admin
            .execute(
                "insert into leads (organization_id, email) values ($1, $2)",
                &[&org, email],
            )
            .await
            .expect("lead");
    }
}

async fn send(app: &TestApp, who: &Tokens, body: Value) -> Reply {
    app.post(SEND, body, Some(&who.access)).await
}

fn received(app: &TestApp, subject: &str) -> usize {
    app.mail
        .all()
        .iter()
        .filter(|m| m.subject == subject)
        .count()
}

#[tokio::test]
async fn mail_of_a_suspended_organization_or_sender_is_withheld_and_never_replayed() {
    let app = TestApp::spawn().await;
    let pa = platform_admin(&app).await;
    let acme = team(&app, "acme").await;
    let prospects = ["p1@prospect.test", "p2@prospect.test", "p3@prospect.test"];
    leads(&app, acme.org_id, &prospects).await;
    app.settle_outbox().await;
    app.mail.clear();

    // The owner queues a campaign; the platform admin suspends the
    // organization before the worker gets to it.
    let campaign = send(
        &app,
        &acme.owner,
        note("org_to_prospects", json!("all"), "Spring"),
    )
    .await
    .expect(202)
    .str("/id");
    let org = format!("{ADMIN}/organizations/{}", acme.org_id);
    app.patch(&org, json!({"status": "suspended"}), Some(&pa.access))
        .await
        .expect(200);
    app.deliver_mail().await;
    assert_eq!(
        received(&app, "Spring"),
        0,
        "a suspended organization's mail went out"
    );
    // The platform's own notice to the owner still goes.
    assert!(
        app.mail
            .to("owner@acme.test")
            .iter()
            .any(|m| m.text.contains("status: active → suspended")),
        "{:?}",
        app.mail.all()
    );
    // Visible to the platform admin: per notification and in the console.
    let detail = app
        .get(
            &format!("{ADMIN}/notifications/{campaign}"),
            Some(&pa.access),
        )
        .await
        .expect(200);
    assert_eq!(
        detail.body["delivery"],
        json!({"pending": 0, "sending": 0, "sent": 0, "failed": 0, "cancelled": 3})
    );
    for r in detail.body["recipients"]["items"]
        .as_array()
        .expect("items")
    {
        assert_eq!(r["status"], "cancelled", "{r}");
        assert_eq!(r["last_error"], "withheld: the organization is suspended");
        assert_eq!(r["sent_at"], Value::Null);
    }
    let metrics = app
        .get(&format!("{ADMIN}/system/metrics"), Some(&pa.access))
        .await
        .expect(200);
    assert_eq!(metrics.body["outbox"]["cancelled"], 3, "{:?}", metrics.body);

    // Reactivated, the organization's stale campaign is not replayed.
    app.patch(&org, json!({"status": "active"}), Some(&pa.access))
        .await
        .expect(200);
    app.deliver_mail().await;
    assert_eq!(
        received(&app, "Spring"),
        0,
        "a cancelled campaign was replayed"
    );
    assert_eq!(
        app.count("select count(*) from email_outbox where status = 'cancelled'")
            .await,
        3
    );

    // A suspended sender's mail is withheld too; the organization's other
    // senders are not.
    send(
        &app,
        &acme.admin,
        note("org_owner_to_members", json!("all"), "From the admin"),
    )
    .await
    .expect(202);
    send(
        &app,
        &acme.owner,
        note("org_owner_to_members", json!("all"), "From the owner"),
    )
    .await
    .expect(202);
    app.patch(
        &format!("{ADMIN}/users/{}", acme.admin.user_id),
        json!({"status": "suspended"}),
        Some(&pa.access),
    )
    .await
    .expect(200);
    app.deliver_mail().await;
    assert_eq!(received(&app, "From the admin"), 0);
    assert_eq!(received(&app, "From the owner"), 3);
    assert_eq!(
        app.count(
            "select count(*) from email_outbox e join notifications n on n.id = e.notification_id
              where n.subject = 'From the admin' and e.status = 'cancelled'
                and e.last_error = 'withheld: the sender''s account is suspended'"
        )
        .await,
        3
    );

    // A deleted organization's mail, the same.
    let globex = team(&app, "globex").await;
    leads(&app, globex.org_id, &["g@prospect.test"]).await;
    app.settle_outbox().await;
    send(
        &app,
        &globex.owner,
        note("org_to_prospects", json!("all"), "Globex"),
    )
    .await
    .expect(202);
    app.delete(
        &format!("{ADMIN}/organizations/{}", globex.org_id),
        Some(&pa.access),
    )
    .await
    .expect(200);
    app.deliver_mail().await;
    assert_eq!(received(&app, "Globex"), 0);
    assert_eq!(
        app.count(
            "select count(*) from email_outbox where to_email = 'g@prospect.test'
                and status = 'cancelled' and last_error = 'withheld: the organization is deleted'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn an_organization_cannot_pass_for_the_platform() {
    let app = TestApp::spawn().await;
    // The platform's name is not an organization's, however it is written.
    for name in [
        "Vectra Security Team",
        "V e c t r a",
        "ｖｅｃｔｒａ support",
        "The-VECTRA-team",
        "Véctra Billing",
        "VECTRÅ",
        "V\u{0435}ctra",
    ] {
        app.register("eve@example.com", crate::harness::PASSWORD, name)
            .await
            .invalid(&[(
                "organization_name",
                "Vectra is the platform's name; choose another",
            )]);
    }
    app.register(
        "eve@example.com",
        crate::harness::PASSWORD,
        "[Alert] Security Team",
    )
    .await
    .invalid(&[(
        "organization_name",
        "\"[Alert]\" marks the platform's own alerts; choose another",
    )]);
    // Nor a person's name, which invitations and greetings show.
    app.post(
        "/api/v1/auth/register",
        json!({"email": "eve@example.com", "password": crate::harness::PASSWORD,
               "full_name": "[Alert] Vectra Security", "organization_name": "Eve Co"}),
        None,
    )
    .await
    .expect(422);
    assert_eq!(app.count("select count(*) from organizations").await, 0);
    let acme = team(&app, "acme").await;
    app.patch(
        "/api/v1/user/organizations/me",
        json!({"name": "Vectra Billing"}),
        Some(&acme.owner.access),
    )
    .await
    .invalid(&[("name", "Vectra is the platform's name; choose another")]);
    leads(&app, acme.org_id, &["p1@prospect.test"]).await;
    // Nor the platform's alerts in a subject.
    for subject in [
        "[Alert] Your account will be suspended",
        "[ ALERT ] Action needed",
        "Your Vectra invoice",
        "Security notice from V.E.C.T.R.A",
        "Your Véctra account",
    ] {
        send(
            &app,
            &acme.owner,
            note("org_to_prospects", json!(["p1@prospect.test"]), subject),
        )
        .await
        .invalid(&[(
            "subject",
            "must not hold \"[Alert]\" or the platform's name (Vectra): they mark the platform's own mail",
        )]);
    }
    // Invisible characters cannot split the marker.
    for subject in [
        "[Al\u{200B}ert] Action needed",
        "[Alert\u{00AD}] x",
        "Hi\u{2060}",
    ] {
        send(
            &app,
            &acme.owner,
            note("org_to_prospects", json!(["p1@prospect.test"]), subject),
        )
        .await
        .invalid(&[(
            "subject",
            "must not contain control or invisible formatting characters",
        )]);
    }
    assert_eq!(app.count("select count(*) from notifications").await, 0);

    // What goes out says who sent it, and answers to the sender.
    send(
        &app,
        &acme.owner,
        note(
            "org_to_prospects",
            json!(["p1@prospect.test"]),
            "Spring offer",
        ),
    )
    .await
    .expect(202);
    let pa = platform_admin(&app).await;
    app.post(
        &format!("{ADMIN}/notifications/send"),
        note("vectra_to_users", json!(["owner@acme.test"]), "Maintenance"),
        Some(&pa.access),
    )
    .await
    .expect(202);
    app.settle_outbox().await;
    let offer = app.mail.last_to("p1@prospect.test").await;
    assert_eq!(
        offer.header("From"),
        Some("\"acme via Vectra\" <no-reply@vectra.local>"),
        "{:?}",
        offer.headers
    );
    assert_eq!(offer.header("Reply-To"), Some("owner@acme.test"));
    let ours = app.mail.last_to("owner@acme.test").await;
    assert_eq!(ours.subject, "Maintenance");
    assert_eq!(ours.header("From"), Some("Vectra <no-reply@vectra.local>"));
    assert_eq!(ours.header("Reply-To"), None);
}

#[tokio::test]
async fn new_organizations_share_one_daily_allowance() {
    let app = TestApp::spawn().await;
    let acme = team(&app, "acme").await;
    let globex = team(&app, "globex").await;
    leads(&app, acme.org_id, &["a1@p.test", "a2@p.test"]).await;
    leads(
        &app,
        globex.org_id,
        &["g1@p.test", "g2@p.test", "g3@p.test", "g4@p.test"],
    )
    .await;
    app.db
        .admin()
        .await
        .execute(
            "update auth.settings set new_organizations_notification_emails_per_day = 3",
            &[],
        )
        .await
        .expect("allowance");
    send(
        &app,
        &acme.owner,
        note("org_to_prospects", json!("all"), "A"),
    )
    .await
    .expect(202);
    // Signing up again buys nothing: Globex is as young, and shares it.
    let r = send(
        &app,
        &globex.owner,
        note("org_to_prospects", json!(["g1@p.test", "g2@p.test"]), "G"),
    )
    .await
    .problem(
        429,
        "Organizations less than a day old have sent 2 notification emails in the last 24 hours (at most 3 together); try again later",
    );
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((86_000..=86_400).contains(&retry), "Retry-After {retry}");
    send(
        &app,
        &globex.owner,
        note("org_to_prospects", json!("all"), "G"),
    )
    .await
    .invalid(&[(
        "recipients",
        "4 addresses, more than an organization less than a day old may send (3)",
    )]);
    // A day old, Globex has its own quota only.
    app.db
        .admin()
        .await
        .execute(
            "update organizations set created_at = now() - interval '2 days' where id = $1",
            &[&globex.org_id],
        )
        .await
        .expect("age");
    send(
        &app,
        &globex.owner,
        note("org_to_prospects", json!("all"), "G"),
    )
    .await
    .expect(202);
    assert_eq!(app.count("select count(*) from notifications").await, 2);
}

#[tokio::test]
async fn suppression_holds_across_plus_addressing() {
    let app = TestApp::spawn().await;
    let acme = team(&app, "acme").await;
    leads(
        &app,
        acme.org_id,
        &[
            "ann+news@prospect.test",
            "ann@prospect.test",
            "bob@prospect.test",
        ],
    )
    .await;
    app.settle_outbox().await;
    send(
        &app,
        &acme.owner,
        note(
            "org_to_prospects",
            json!(["ann+news@prospect.test"]),
            "First",
        ),
    )
    .await
    .expect(202);
    let mail = app.mail.last_to("ann+news@prospect.test").await;
    let path = mail.unsubscribe_path();
    let done = app
        .http
        .post(app.url(&path))
        .send()
        .await
        .expect("unsubscribe");
    assert_eq!(done.status(), 200);
    // One mailbox, whichever spelling: both are skipped and counted.
    let r = send(
        &app,
        &acme.owner,
        note("org_to_prospects", json!("all"), "Second"),
    )
    .await
    .expect(202);
    assert_eq!(
        (
            r.body["recipient_count"].clone(),
            r.body["suppressed_count"].clone()
        ),
        (json!(1), json!(2))
    );
    app.settle_outbox().await;
    let to: Vec<String> = app
        .mail
        .all()
        .into_iter()
        .filter(|m| m.subject == "Second")
        .flat_map(|m| m.to)
        .collect();
    assert_eq!(to, ["bob@prospect.test"]);
}
