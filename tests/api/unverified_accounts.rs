//! Unverified accounts, as a squatter would use them: registering someone
//! else's address must not keep its owner out of the organization that
//! invites them, gives no power to write, and does not last.

use serde_json::json;

use crate::harness::{PASSWORD, TestApp};
use crate::organization::team;

const ORG: &str = "/api/v1/user/organizations/me";

#[tokio::test]
async fn an_unverified_account_reads_but_writes_nothing() {
    let app = TestApp::spawn().await;
    app.register("eve@example.com", PASSWORD, "Squat")
        .await
        .expect(202);
    let eve = app.login("eve@example.com", PASSWORD).await;
    app.get(ORG, Some(&eve.access)).await.expect(200);
    app.get("/api/v1/user/campaigns", Some(&eve.access))
        .await
        .expect(200);
    let refused = "Verify your email address first: until then this account can only read";
    for (path, body) in [
        ("/api/v1/user/campaigns", json!({"name": "Spring"})),
        ("/api/v1/user/leads", json!({"email": "victim@example.com"})),
        (
            "/api/v1/user/notifications/send",
            json!({"type": "org_owner_to_members", "recipients": "all", "subject": "s", "body": "b"}),
        ),
        (
            "/api/v1/user/organizations/me/users/invite",
            json!({"email": "victim@example.com", "role": "member"}),
        ),
    ] {
        let r = app.post(path, body, Some(&eve.access)).await;
        r.problem(403, refused);
    }
    app.patch(ORG, json!({"name": "Renamed"}), Some(&eve.access))
        .await
        .problem(403, refused);
    assert_eq!(
        app.count("select count(*) from campaigns").await
            + app.count("select count(*) from leads").await
            + app.count("select count(*) from invitations").await
            + app.count("select count(*) from notifications").await,
        0
    );
    // Its own account it manages: a new link, its sessions.
    app.post(
        "/api/v1/auth/send-verification-email",
        json!({}),
        Some(&eve.access),
    )
    .await
    .expect(202);
    app.get("/api/v1/user/sessions", Some(&eve.access))
        .await
        .expect(200);
}

#[tokio::test]
async fn an_invitation_wins_over_an_unverified_account_of_its_address() {
    let app = TestApp::spawn().await;
    let bigcorp = team(&app, "bigcorp").await;
    // Someone registers the new hire's address first, and never verifies it.
    app.register("newhire@bigcorp.example", PASSWORD, "Squat")
        .await
        .expect(202);
    let squatter = app.login("newhire@bigcorp.example", PASSWORD).await;
    let squat_org: uuid::Uuid = app
        .get(ORG, Some(&squatter.access))
        .await
        .expect(200)
        .str("/id")
        .parse()
        .expect("uuid");
    app.settle_outbox().await;
    app.mail.clear();
    // The employer invites the address; its owner follows the link.
    app.post(
        &format!("{ORG}/users/invite"),
        json!({"email": "newhire@bigcorp.example", "role": "member"}),
        Some(&bigcorp.owner.access),
    )
    .await
    .expect(201);
    let link = app.mail.last_to("newhire@bigcorp.example").await;
    let joined = app
        .post(
            "/api/v1/auth/accept-invitation",
            json!({"token": link.token(), "password": "another fine password", "full_name": "New Hire"}),
            None,
        )
        .await
        .expect(201);
    let me = app
        .get("/api/v1/user/me", Some(&joined.str("/access_token")))
        .await
        .expect(200);
    assert_eq!(me.body["organization"]["id"], bigcorp.org_id.to_string());
    assert_eq!(me.body["email_verified"], true, "{me:?}");
    // The squatter's account and its empty organization are gone, audited.
    app.get("/api/v1/user/me", Some(&squatter.access))
        .await
        .problem(401, "Session not found");
    assert_eq!(
        app.count(&format!(
            "select count(*) from organizations where id = '{squat_org}'"
        ))
        .await,
        0
    );
    let audit = app
        .db
        .admin()
        .await
        .query_one(
            "select organization_id = app.platform_org_id(), data from audit_log
              where action = 'account.remove_unverified'",
            &[],
        )
        .await
        .expect("one audit entry");
    // A platform entry: its organization is gone.
    let (platform, data): (bool, serde_json::Value) = (audit.get(0), audit.get(1));
    assert!(platform);
    assert_eq!(data["email"], "newhire@bigcorp.example");
    assert_eq!(data["organization_name"], "Squat");
    assert_eq!(data["reason"], "invitation.accept");
    assert_eq!(
        app.count(
            "select count(*) from audit_log where action = 'invitation.accept'
                and data ? 'replaced_unverified_account'"
        )
        .await,
        1
    );

    // A verified account is another matter: it stays, and the invitation
    // cannot be accepted over it.
    let ann = app.verified_owner("ann@acme.test", "Acme").await;
    app.settle_outbox().await;
    app.mail.clear();
    app.post(
        &format!("{ORG}/users/invite"),
        json!({"email": "ann@acme.test", "role": "member"}),
        Some(&bigcorp.owner.access),
    )
    .await
    .expect(201);
    let link = app.mail.last_to("ann@acme.test").await;
    app.post(
        "/api/v1/auth/accept-invitation",
        json!({"token": link.token(), "password": "another fine password", "full_name": "Ann"}),
        None,
    )
    .await
    .problem(409, "A user with this email already exists");
    app.get("/api/v1/user/me", Some(&ann.access))
        .await
        .expect(200);
}

/// An upgrade removes nobody at once, and never an organization's data: an
/// account registered before the rule counts its period from the upgrade,
/// and one whose organization holds data (written while unverified accounts
/// still could) stays, locked to reading.
#[tokio::test]
async fn the_expiry_spares_accounts_from_before_it_and_any_data() {
    let app = TestApp::spawn().await;
    app.register("founder@customer.test", PASSWORD, "Customer Ltd")
        .await
        .expect(202);
    app.register("data@customer.test", PASSWORD, "Data Ltd")
        .await
        .expect(202);
    let admin = app.db.admin().await;
    admin
        .batch_execute(
            "update users set created_at = now() - interval '30 days';
             update organizations set created_at = now() - interval '30 days';
             insert into leads (organization_id, email)
             select organization_id, 'lead@prospect.test' from users where email = 'data@customer.test'",
        )
        .await
        .expect("backdate");
    let sweep = || async {
        vectra::db::calls::expire_unverified_accounts(
            &app.db.db(1),
            &vectra::db::Actor::Worker,
            100,
        )
        .await
        .expect("sweep")
    };
    // The rule is new here (the migration just ran): a month-old account waits.
    assert_eq!(sweep().await, 0);
    // A week after the upgrade, the empty one goes; the one with data stays.
    admin
        .batch_execute("update auth.settings set unverified_since = now() - interval '8 days'")
        .await
        .expect("age the rule");
    assert_eq!(sweep().await, 1);
    assert_eq!(
        app.count("select count(*) from users where email = 'data@customer.test'")
            .await,
        1
    );
    assert_eq!(app.count("select count(*) from leads").await, 1);
    // And an invitation does not take it over either.
    let bigcorp = team(&app, "bigcorp").await;
    app.settle_outbox().await;
    app.post(
        &format!("{ORG}/users/invite"),
        json!({"email": "data@customer.test", "role": "member"}),
        Some(&bigcorp.owner.access),
    )
    .await
    .expect(201);
    let link = app.mail.last_to("data@customer.test").await;
    app.post(
        "/api/v1/auth/accept-invitation",
        json!({"token": link.token(), "password": "another fine password", "full_name": "Dee"}),
        None,
    )
    .await
    .problem(409, "A user with this email already exists");
    assert_eq!(app.count("select count(*) from leads").await, 1);
}

/// The console's invitations (an organization's first owner) give way to
/// an unverified squatter too.
#[tokio::test]
async fn the_consoles_invitation_is_not_blocked_by_a_squatter() {
    let app = TestApp::spawn().await;
    let pa = crate::auth::platform_admin(&app).await;
    app.register("ceo@victimcorp.test", PASSWORD, "Squat")
        .await
        .expect(202);
    app.settle_outbox().await;
    app.mail.clear();
    let created = app
        .post(
            "/api/v1/admin/organizations",
            json!({"name": "VictimCorp", "owner_email": "ceo@victimcorp.test"}),
            Some(&pa.access),
        )
        .await
        .expect(201);
    let link = app.mail.last_to("ceo@victimcorp.test").await;
    let owner = app
        .post(
            "/api/v1/auth/accept-invitation",
            json!({"token": link.token(), "password": "another fine password", "full_name": "The CEO"}),
            None,
        )
        .await
        .expect(201);
    let me = app
        .get("/api/v1/user/me", Some(&owner.str("/access_token")))
        .await
        .expect(200);
    assert_eq!(me.body["organization"]["id"], created.body["id"]);
    assert_eq!(me.body["role"], "owner");
    assert_eq!(
        app.count("select count(*) from organizations where name = 'Squat'")
            .await,
        0
    );
}

#[tokio::test]
async fn unverified_accounts_expire() {
    let app = TestApp::spawn().await;
    for (email, org) in [
        ("old@example.com", "Old"),
        ("young@example.com", "Young"),
        ("colleague@example.com", "Shared"),
    ] {
        app.register(email, PASSWORD, org).await.expect(202);
    }
    app.verified_owner("verified@example.com", "Verified").await;
    let admin = app.db.admin().await;
    // A deployment that has expired unverified accounts for a month.
    admin
        .batch_execute(
            "update auth.settings set unverified_since = now() - interval '30 days';
             update users set created_at = now() - interval '8 days'
              where email in ('old@example.com', 'colleague@example.com', 'verified@example.com');
             insert into users (organization_id, email, password_hash, full_name, role, email_verified_at)
             select organization_id, 'someone@example.com', 'h', 'Someone', 'member', now()
               from users where email = 'colleague@example.com'",
        )
        .await
        .expect("age the accounts");
    // The worker's sweep, as the worker runs it.
    let removed = vectra::db::calls::expire_unverified_accounts(
        &app.db.db(1),
        &vectra::db::Actor::Worker,
        100,
    )
    .await
    .expect("sweep");
    assert_eq!(removed, 1);
    let left: Vec<String> = admin
        .query("select email from users order by email", &[])
        .await
        .expect("users")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        left,
        [
            "colleague@example.com",
            "someone@example.com",
            "verified@example.com",
            "young@example.com"
        ]
    );
    assert_eq!(
        app.count("select count(*) from organizations where name = 'Old'")
            .await,
        0
    );
    // The address is free again.
    app.register("old@example.com", PASSWORD, "Old again")
        .await
        .expect(202);
    assert_eq!(
        app.count("select count(*) from users where email = 'old@example.com'")
            .await,
        1
    );
}
