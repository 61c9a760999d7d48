//! `/api/v1/user/organizations/me/*`: the team console, each rule allowed and
//! denied for each role, and every route aimed at another tenant's ids.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{PASSWORD, Reply, TestApp, Tokens};

const ORG: &str = "/api/v1/user/organizations/me";

/// An organization with one user of each role, all signed in.
pub struct Team {
    pub org_id: Uuid,
    pub owner: Tokens,
    pub admin: Tokens,
    pub manager: Tokens,
    pub member: Tokens,
}

impl Team {
    pub fn by_role(&self) -> [(&'static str, &Tokens); 4] {
        [
            ("owner", &self.owner),
            ("admin", &self.admin),
            ("manager", &self.manager),
            ("member", &self.member),
        ]
    }
}

/// Invites `email` as `role` with `by`'s token and accepts through the
/// emailed link; returns the newcomer's tokens.
pub async fn join(app: &TestApp, by: &Tokens, email: &str, role: &str) -> Tokens {
    app.post(
        &format!("{ORG}/users/invite"),
        json!({"email": email, "role": role}),
        Some(&by.access),
    )
    .await
    .expect(201);
    let mail = app.mail.last_to(email).await;
    let r = app
        .post(
            "/api/v1/auth/accept-invitation",
            json!({"token": mail.token(), "password": PASSWORD, "full_name": format!("The {role}")}),
            None,
        )
        .await
        .expect(201);
    Tokens {
        access: r.str("/access_token"),
        refresh: r.str("/refresh_token"),
        user_id: r.str("/user/id").parse().expect("uuid"),
    }
}

pub async fn team(app: &TestApp, slug: &str) -> Team {
    let owner = app
        .verified_owner(&format!("owner@{slug}.test"), slug)
        .await;
    let admin = join(app, &owner, &format!("admin@{slug}.test"), "admin").await;
    let manager = join(app, &owner, &format!("manager@{slug}.test"), "manager").await;
    let member = join(app, &owner, &format!("member@{slug}.test"), "member").await;
    let me = app
        .get("/api/v1/user/me", Some(&owner.access))
        .await
        .expect(200);
    Team {
        org_id: me.str("/organization/id").parse().expect("uuid"),
        owner,
        admin,
        manager,
        member,
    }
}

fn emails(r: &Reply) -> Vec<String> {
    r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["email"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// An audit entry without its id and time: what the test can know in advance.
fn entry(e: &Value) -> Value {
    let mut e = e.clone();
    let object = e.as_object_mut().expect("an audit entry");
    assert!(object.remove("id").is_some_and(|id| id.is_string()), "{e}");
    assert!(object.remove("created_at").is_some_and(|t| t.is_string()));
    e
}

/// The entries of an audit-log page, newest first, as `entry` shows them.
fn entries(log: &Reply) -> Vec<Value> {
    log.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(entry)
        .collect()
}

/// A digest of everything of one organization, to prove nothing changed.
async fn fingerprint(app: &TestApp, org: Uuid) -> String {
    app.db
        .admin()
        .await
        .query_one(
            "select md5(coalesce((select string_agg(t::text, ',' order by t::text) from organizations t where id = $1), '')
                     || coalesce((select string_agg(u::text, ',' order by u::text) from users u where organization_id = $1), '')
                     || coalesce((select string_agg(i::text, ',' order by i::text) from invitations i where organization_id = $1), '')
                     || coalesce((select string_agg(s::text, ',' order by s::text) from sessions s
                                   join users u on u.id = s.user_id where u.organization_id = $1), ''))",
            &[&org],
        )
        .await
        .expect("fingerprint")
        .get(0)
}

#[tokio::test]
async fn organization_settings_by_role() {
    let app = TestApp::spawn().await;
    let t = team(&app, "acme").await;
    for (role, who) in t.by_role() {
        let r = app.get(ORG, Some(&who.access)).await.expect(200);
        assert_eq!(r.body["slug"], "acme", "{role}");
    }
    for (_, who) in [("manager", &t.manager), ("member", &t.member)] {
        app.patch(ORG, json!({"name": "Taken"}), Some(&who.access))
            .await
            .problem(403, "This action requires one of the roles: owner, admin");
    }
    let before = fingerprint(&app, t.org_id).await;
    let r = app
        .patch(
            ORG,
            json!({"name": "Acme", "plan": "enterprise", "status": "suspended", "slug": "x"}),
            Some(&t.admin.access),
        )
        .await
        .invalid(&[
            (
                "plan",
                "is managed by the platform admin and cannot be changed here",
            ),
            (
                "status",
                "is managed by the platform admin and cannot be changed here",
            ),
            ("slug", "is not an editable field (name, settings)"),
        ]);
    assert_eq!(r.str("/detail"), "The request has invalid fields");
    app.patch(ORG, json!({"plan": "pro"}), Some(&t.owner.access))
        .await
        .problem(
            422,
            "plan: is managed by the platform admin and cannot be changed here",
        );
    for (bad, field, message) in [
        (json!({"name": ""}), "name", "is required"),
        (json!({"name": 42}), "name", "must be a string"),
        (
            json!({"name": "Tab\there"}),
            "name",
            "must not contain control or invisible formatting characters",
        ),
        (
            json!({"settings": [1, 2]}),
            "settings",
            "must be a JSON object",
        ),
        (
            json!({"settings": {"blob": "x".repeat(20_000)}}),
            "settings",
            "must be at most 16 KiB",
        ),
        (json!({}), "body", "send name and/or settings"),
    ] {
        app.patch(ORG, bad.clone(), Some(&t.owner.access))
            .await
            .invalid(&[(field, message)]);
    }
    app.patch_raw(ORG, "[1]", &t.owner.access)
        .await
        .invalid(&[("body", "must be an object")]);
    assert_eq!(
        before,
        fingerprint(&app, t.org_id).await,
        "a refused update changed something"
    );

    let r = app
        .patch(
            ORG,
            json!({"name": "Acme Industries", "settings": {"timezone": "Europe/Paris"}}),
            Some(&t.admin.access),
        )
        .await
        .expect(200);
    assert_eq!(r.body["name"], "Acme Industries");
    assert_eq!(r.body["settings"]["timezone"], "Europe/Paris");
    assert_eq!(r.body["plan"], "free");
    // Owners are told; the admin who did it is not an owner and is not.
    // (The owner's first email was its verification link.)
    // Queued by the update itself: one notice, to the only owner.
    assert_eq!(
        app.count("select count(*) from email_outbox where template = 'organization-update'")
            .await,
        1
    );
    assert_eq!(
        app.outbox_count("owner@acme.test", "organization-update")
            .await,
        1
    );
    let mails = app.mail.delivered_to("owner@acme.test").await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    let notice = mails[1].clone();
    assert!(
        notice.subject.contains("Acme Industries"),
        "{}",
        notice.subject
    );
    assert!(
        notice
            .text
            .contains("The admin changed the name and settings"),
        "{}",
        notice.text
    );
    // The admin's only email is its invitation (all due mail was delivered).
    let to_admin = app.mail.to("admin@acme.test");
    assert_eq!(to_admin.len(), 1, "{to_admin:?}");
    assert!(to_admin[0].subject.contains("invited you"), "{to_admin:?}");
    let log = app
        .get(
            &format!("{ORG}/audit-log?action=organization.update"),
            Some(&t.owner.access),
        )
        .await
        .expect(200);
    assert_eq!(log.body["total"], 1);
    assert_eq!(
        entries(&log),
        vec![json!({
            "action": "organization.update",
            "actor_id": t.admin.user_id.to_string(),
            "actor_name": "The admin",
            "target_type": "organization",
            "target_id": t.org_id.to_string(),
            "data": {
                "name": {"from": "acme", "to": "Acme Industries"},
                "settings": {"from": {}, "to": {"timezone": "Europe/Paris"}},
            },
        })]
    );
}

#[tokio::test]
async fn listing_users_pages_filters_and_searches() {
    let app = TestApp::spawn().await;
    let t = team(&app, "acme").await;
    app.get(&format!("{ORG}/users"), Some(&t.member.access))
        .await
        .problem(
            403,
            "This action requires one of the roles: owner, admin, manager",
        );
    for who in [&t.owner, &t.admin, &t.manager] {
        let r = app
            .get(&format!("{ORG}/users"), Some(&who.access))
            .await
            .expect(200);
        assert_eq!(r.body["total"], 4);
        assert_eq!(r.body["page"], 1);
        assert_eq!(r.body["per_page"], 20);
        // Stable order: by creation.
        assert_eq!(
            emails(&r),
            vec![
                "owner@acme.test",
                "admin@acme.test",
                "manager@acme.test",
                "member@acme.test"
            ]
        );
        assert!(r.body["items"][0].get("password_hash").is_none());
    }
    let p1 = app
        .get(&format!("{ORG}/users?per_page=3"), Some(&t.owner.access))
        .await
        .expect(200);
    let p2 = app
        .get(
            &format!("{ORG}/users?per_page=3&page=2"),
            Some(&t.owner.access),
        )
        .await
        .expect(200);
    assert_eq!((emails(&p1).len(), emails(&p2).len()), (3, 1));
    assert_eq!(p2.body["total"], 4);
    assert_eq!(emails(&p2), vec!["member@acme.test"]);
    let r = app
        .get(&format!("{ORG}/users?role=manager"), Some(&t.owner.access))
        .await
        .expect(200);
    assert_eq!(emails(&r), vec!["manager@acme.test"]);
    let r = app
        .get(&format!("{ORG}/users?search=ADMIN"), Some(&t.owner.access))
        .await
        .expect(200);
    assert_eq!(emails(&r), vec!["admin@acme.test"]);
    let r = app
        .get(&format!("{ORG}/users?search=%25"), Some(&t.owner.access))
        .await
        .expect(200);
    assert_eq!(r.body["total"], 0, "% is matched literally");
    for (query, field) in [
        ("page=0", "page"),
        ("page=2147483647", "page"),
        ("per_page=101", "per_page"),
        ("per_page=abc", "per_page"),
        ("role=platform_admin", "role"),
        ("role=boss", "role"),
        ("status=gone", "status"),
    ] {
        let r = app
            .get(&format!("{ORG}/users?{query}"), Some(&t.owner.access))
            .await
            .expect(422);
        assert_eq!(r.fields(), vec![field], "{query}: {r:?}");
        assert_eq!(
            r.str("/detail"),
            format!("{field}: {}", r.str("/errors/0/message")),
            "{query}"
        );
    }
}

#[tokio::test]
async fn inviting_follows_the_ladder_and_never_shows_the_token() {
    let app = TestApp::spawn().await;
    let t = team(&app, "acme").await;
    for who in [&t.manager, &t.member] {
        app.post(
            &format!("{ORG}/users/invite"),
            json!({"email": "x@acme.test", "role": "member"}),
            Some(&who.access),
        )
        .await
        .problem(403, "This action requires one of the roles: owner, admin");
    }
    app.post(
        &format!("{ORG}/users/invite"),
        json!({"email": "boss@acme.test", "role": "owner"}),
        Some(&t.admin.access),
    )
    .await
    .problem(403, "You cannot invite someone with a role above your own");
    app.post(
        &format!("{ORG}/users/invite"),
        json!({"email": "x@acme.test", "role": "platform_admin"}),
        Some(&t.owner.access),
    )
    .await
    .invalid(&[("role", "platform_admin is never granted in an organization")]);
    app.post(
        &format!("{ORG}/users/invite"),
        json!({"email": "not-an-email", "role": "member"}),
        Some(&t.owner.access),
    )
    .await
    .invalid(&[("email", "must be an email address")]);
    app.post(
        &format!("{ORG}/users/invite"),
        json!({"email": "Member@Acme.test", "role": "member"}),
        Some(&t.owner.access),
    )
    .await
    .problem(
        409,
        "This person already has an account in the organization",
    );

    let r = app
        .post(
            &format!("{ORG}/users/invite"),
            json!({"email": "New@Example.com", "role": "manager"}),
            Some(&t.admin.access),
        )
        .await
        .expect(201);
    assert_eq!(r.body["email"], "new@example.com");
    assert_eq!(r.body["role"], "manager");
    assert_eq!(r.body["status"], "pending");
    assert_eq!(r.body["invited_by"], t.admin.user_id.to_string());
    let body = r.body.to_string();
    assert!(
        !body.contains("token"),
        "the invitation leaks a token: {body}"
    );
    let expires = time::OffsetDateTime::parse(
        &r.str("/expires_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("time");
    let days = (expires - time::OffsetDateTime::now_utc()).whole_hours();
    assert!((167..=168).contains(&days), "expires in {days} h");
    let id = r.str("/id");

    let r = app
        .post(
            &format!("{ORG}/users/invite"),
            json!({"email": "new@example.com", "role": "member"}),
            Some(&t.owner.access),
        )
        .await
        .problem(
            409,
            "A pending invitation for this email already exists; resend it instead",
        );
    assert!(
        r.str("/hint")
            .contains(&format!("/invitations/{id}/resend")),
        "{r:?}"
    );

    // Nothing refused above queued an email; the invitation queued one.
    assert_eq!(
        app.count(
            "select count(*) from email_outbox where to_email in ('x@acme.test', 'boss@acme.test')"
        )
        .await,
        0
    );
    assert_eq!(app.outbox_count("member@acme.test", "invite-user").await, 1);
    assert_eq!(app.outbox_count("new@example.com", "invite-user").await, 1);
    let mails = app.mail.delivered_to("new@example.com").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = mails[0].clone();
    assert!(
        mail.subject.contains("The admin invited you to join acme"),
        "{}",
        mail.subject
    );
    assert!(
        mail.link()
            .starts_with("http://app.vectra.test/accept-invitation?token=")
    );
    assert!(mail.text.contains("as manager"));
}

#[tokio::test]
async fn role_changes_follow_the_ladder() {
    let app = TestApp::spawn().await;
    let t = team(&app, "acme").await;
    let role_of = |who: &Tokens| format!("{ORG}/users/{}/role", who.user_id);
    for who in [&t.manager, &t.member] {
        app.patch(
            &role_of(&t.member),
            json!({"role": "manager"}),
            Some(&who.access),
        )
        .await
        .problem(403, "This action requires one of the roles: owner, admin");
    }
    app.patch(
        &role_of(&t.owner),
        json!({"role": "member"}),
        Some(&t.admin.access),
    )
    .await
    .problem(403, "Only an owner can change an owner's role");
    app.patch(
        &role_of(&t.member),
        json!({"role": "owner"}),
        Some(&t.admin.access),
    )
    .await
    .problem(403, "You cannot grant a role above your own");
    app.patch(
        &role_of(&t.member),
        json!({"role": "platform_admin"}),
        Some(&t.owner.access),
    )
    .await
    .invalid(&[("role", "platform_admin is never granted in an organization")]);
    app.patch(
        &format!("{ORG}/users/{}/role", Uuid::new_v4()),
        json!({"role": "member"}),
        Some(&t.owner.access),
    )
    .await
    .problem(404, "User not found");
    // The last owner cannot step down.
    app.patch(
        &role_of(&t.owner),
        json!({"role": "admin"}),
        Some(&t.owner.access),
    )
    .await
    .problem(409, "The organization must keep at least one active owner");

    // The admin promotes the member to manager: the member's old token is stale.
    let r = app
        .patch(
            &role_of(&t.member),
            json!({"role": "manager"}),
            Some(&t.admin.access),
        )
        .await
        .expect(200);
    assert_eq!(r.body["role"], "manager");
    app.get("/api/v1/user/me", Some(&t.member.access))
        .await
        .problem(401, "Token no longer matches the account");
    let refreshed = app
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": t.member.refresh}),
            None,
        )
        .await
        .expect(200);
    assert_eq!(refreshed.body["user"]["role"], "manager");
    let users = app
        .get(
            &format!("{ORG}/users"),
            Some(&refreshed.str("/access_token")),
        )
        .await
        .expect(200);
    assert_eq!(users.body["total"], 4);

    // With a second owner, an owner may step down.
    app.patch(
        &role_of(&t.admin),
        json!({"role": "owner"}),
        Some(&t.owner.access),
    )
    .await
    .expect(200);
    app.patch(
        &role_of(&t.owner),
        json!({"role": "member"}),
        Some(&t.owner.access),
    )
    .await
    .expect(200);
    // The former owner is a member now: its token is stale, and members do
    // not read the log anyway.
    app.get(
        &format!("{ORG}/audit-log?action=user.role_change"),
        Some(&t.owner.access),
    )
    .await
    .problem(401, "Token no longer matches the account");
    // The new owner reads the three changes, newest first.
    let admin = app
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": t.admin.refresh}),
            None,
        )
        .await
        .expect(200);
    let log = app
        .get(
            &format!("{ORG}/audit-log?action=user.role_change"),
            Some(&admin.str("/access_token")),
        )
        .await
        .expect(200);
    let change = |actor: &Tokens, name: &str, target: (&Tokens, &str), from: &str, to: &str| {
        json!({
            "action": "user.role_change",
            "actor_id": actor.user_id.to_string(),
            "actor_name": name,
            "target_type": "user",
            "target_id": target.0.user_id.to_string(),
            "data": {"email": target.1, "from": from, "to": to},
        })
    };
    let owner = (&t.owner, "owner@acme.test");
    let (admin, member) = (
        (&t.admin, "admin@acme.test"),
        (&t.member, "member@acme.test"),
    );
    assert_eq!(
        entries(&log),
        vec![
            change(&t.owner, "Test User", owner, "owner", "member"),
            change(&t.owner, "Test User", admin, "admin", "owner"),
            change(&t.admin, "The admin", member, "member", "manager"),
        ]
    );
}

#[tokio::test]
async fn removal_follows_the_ladder_and_ends_sessions() {
    let app = TestApp::spawn().await;
    let t = team(&app, "acme").await;
    let user = |who: &Tokens| format!("{ORG}/users/{}", who.user_id);
    for who in [&t.manager, &t.member] {
        app.delete(&user(&t.member), Some(&who.access))
            .await
            .problem(403, "This action requires one of the roles: owner, admin");
    }
    app.delete(&user(&t.owner), Some(&t.admin.access))
        .await
        .problem(403, "Only an owner can remove an owner");
    app.delete(&user(&t.owner), Some(&t.owner.access))
        .await
        .problem(409, "The organization must keep at least one active owner");

    app.delete(&user(&t.member), Some(&t.admin.access))
        .await
        .expect(204);
    // Its session was revoked with the removal.
    app.assert_session_revoked(&t.member).await;
    app.post(
        "/api/v1/auth/login",
        json!({"email": "member@acme.test", "password": PASSWORD}),
        None,
    )
    .await
    .problem(403, "This account has been removed from its organization");
    app.delete(&user(&t.member), Some(&t.admin.access))
        .await
        .problem(404, "User not found");

    let r = app
        .get(&format!("{ORG}/users"), Some(&t.owner.access))
        .await
        .expect(200);
    assert!(!emails(&r).contains(&"member@acme.test".to_owned()));
    let r = app
        .get(
            &format!("{ORG}/users?status=removed"),
            Some(&t.owner.access),
        )
        .await
        .expect(200);
    assert_eq!(emails(&r), vec!["member@acme.test"]);
    assert!(r.body["items"][0]["deleted_at"].is_string());
    let log = app
        .get(
            &format!("{ORG}/audit-log?action=user.remove"),
            Some(&t.owner.access),
        )
        .await
        .expect(200);
    assert_eq!(
        entries(&log),
        vec![json!({
            "action": "user.remove",
            "actor_id": t.admin.user_id.to_string(),
            "actor_name": "The admin",
            "target_type": "user",
            "target_id": t.member.user_id.to_string(),
            "data": {"email": "member@acme.test", "role": "member", "sessions_revoked": 1},
        })]
    );
}

#[tokio::test]
async fn invitations_are_listed_revoked_and_resent() {
    let app = TestApp::spawn().await;
    let t = team(&app, "acme").await;
    let a = app
        .post(
            &format!("{ORG}/users/invite"),
            json!({"email": "a@example.com", "role": "member"}),
            Some(&t.owner.access),
        )
        .await
        .expect(201);
    let b = app
        .post(
            &format!("{ORG}/users/invite"),
            json!({"email": "b@example.com", "role": "admin"}),
            Some(&t.owner.access),
        )
        .await
        .expect(201);
    for who in [&t.manager, &t.member] {
        app.get(&format!("{ORG}/invitations"), Some(&who.access))
            .await
            .problem(403, "This action requires one of the roles: owner, admin");
    }
    let r = app
        .get(&format!("{ORG}/invitations"), Some(&t.admin.access))
        .await
        .expect(200);
    // Pending only (the team's own, accepted, are not), newest first.
    assert_eq!(r.body["total"], 2);
    assert_eq!(emails(&r), vec!["b@example.com", "a@example.com"]);

    // Revoke: the link dies.
    let first_a = app.mail.last_to("a@example.com").await;
    app.delete(
        &format!("{ORG}/invitations/{}", a.str("/id")),
        Some(&t.member.access),
    )
    .await
    .problem(403, "This action requires one of the roles: owner, admin");
    app.delete(
        &format!("{ORG}/invitations/{}", a.str("/id")),
        Some(&t.admin.access),
    )
    .await
    .expect(204);
    app.delete(
        &format!("{ORG}/invitations/{}", a.str("/id")),
        Some(&t.admin.access),
    )
    .await
    .problem(409, "This invitation has been revoked");
    app.post(
        "/api/v1/auth/accept-invitation",
        json!({"token": first_a.token(), "password": PASSWORD, "full_name": "A"}),
        None,
    )
    .await
    .problem(400, "Invalid or expired invitation");

    // Resend: a new link, the old one dead.
    let first_b = app.mail.last_to("b@example.com").await;
    let r = app
        .post(
            &format!("{ORG}/invitations/{}/resend", b.str("/id")),
            json!({}),
            Some(&t.admin.access),
        )
        .await
        .expect(200);
    assert_eq!(r.body["status"], "pending");
    // The resend queued a second email; delivered, b has exactly two.
    assert_eq!(app.outbox_count("b@example.com", "invite-user").await, 2);
    let mails = app.mail.delivered_to("b@example.com").await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert_ne!(mails[1].token(), first_b.token());
    app.post(
        "/api/v1/auth/accept-invitation",
        json!({"token": first_b.token(), "password": PASSWORD, "full_name": "B"}),
        None,
    )
    .await
    .problem(400, "Invalid or expired invitation");
    let joined = app
        .post(
            "/api/v1/auth/accept-invitation",
            json!({"token": mails[1].token(), "password": PASSWORD, "full_name": "B"}),
            None,
        )
        .await
        .expect(201);
    assert_eq!(joined.body["user"]["role"], "admin");
    app.post(
        &format!("{ORG}/invitations/{}/resend", b.str("/id")),
        json!({}),
        Some(&t.admin.access),
    )
    .await
    .problem(409, "This invitation has already been accepted");
    let r = app
        .get(&format!("{ORG}/invitations"), Some(&t.owner.access))
        .await
        .expect(200);
    assert_eq!(r.body["total"], 0);
    let log = app
        .get(&format!("{ORG}/audit-log"), Some(&t.owner.access))
        .await
        .expect(200);
    // Newest first: this test's five entries, then the team's seven
    // (three accepted, three created, the registration).
    let log = entries(&log);
    assert_eq!(log.len(), 12, "{log:?}");
    let (a_id, b_id) = (a.str("/id"), b.str("/id"));
    let by = |actor: &Tokens, name: &str| (actor.user_id.to_string(), name.to_owned());
    let (owner, admin) = (by(&t.owner, "Test User"), by(&t.admin, "The admin"));
    let b_user = joined.str("/user/id");
    let expected = [
        (
            "invitation.accept",
            (b_user.clone(), "B".to_owned()),
            b_id.as_str(),
        ),
        ("invitation.resend", admin.clone(), b_id.as_str()),
        ("invitation.revoke", admin.clone(), a_id.as_str()),
        ("invitation.create", owner.clone(), b_id.as_str()),
        ("invitation.create", owner.clone(), a_id.as_str()),
    ];
    for (e, (action, (actor_id, actor_name), target)) in log.iter().zip(expected) {
        assert_eq!(
            (&e["action"], &e["actor_id"], &e["actor_name"]),
            (&json!(action), &json!(actor_id), &json!(actor_name)),
            "{e}"
        );
        assert_eq!(e["target_type"], "invitation", "{e}");
        assert_eq!(e["target_id"], target, "{e}");
    }
    assert_eq!(
        log[4]["data"],
        json!({"email": "a@example.com", "role": "member"})
    );
    assert_eq!(
        log[3]["data"],
        json!({"email": "b@example.com", "role": "admin"})
    );
}

#[tokio::test]
async fn the_audit_log_is_for_owners_and_admins_of_the_organization() {
    let app = TestApp::spawn().await;
    let a = team(&app, "alpha").await;
    let b = team(&app, "beta").await;
    for who in [&a.manager, &a.member] {
        app.get(&format!("{ORG}/audit-log"), Some(&who.access))
            .await
            .problem(403, "This action requires one of the roles: owner, admin");
    }
    let log = app
        .get(
            &format!("{ORG}/audit-log?per_page=100"),
            Some(&a.admin.access),
        )
        .await
        .expect(200);
    let total = log.body["total"].as_i64().unwrap_or(0);
    // register + 3 invitations created + 3 accepted.
    assert_eq!(total, 7, "{log:?}");
    let b_users: Vec<String> = [&b.owner, &b.admin, &b.manager, &b.member]
        .iter()
        .map(|t| t.user_id.to_string())
        .collect();
    for entry in log.body["items"].as_array().expect("items") {
        assert!(
            !b_users.contains(&entry["actor_id"].as_str().unwrap_or("").to_owned()),
            "B's entry in A's log: {entry}"
        );
    }
    let page = app
        .get(
            &format!("{ORG}/audit-log?per_page=2&page=2"),
            Some(&a.owner.access),
        )
        .await
        .expect(200);
    // The second page of two is the third and fourth entries of the full list.
    assert_eq!(
        page.body["items"],
        json!(log.body["items"].as_array().expect("items")[2..4])
    );
    assert_eq!(page.body["total"], total);
    let accepted = app
        .get(
            &format!("{ORG}/audit-log?action=invitation.accept"),
            Some(&a.owner.access),
        )
        .await
        .expect(200);
    assert_eq!(accepted.body["total"], 3);
}

#[tokio::test]
async fn another_tenants_ids_are_not_found_and_left_alone() {
    let app = TestApp::spawn().await;
    let a = team(&app, "alpha").await;
    let b = team(&app, "beta").await;
    let b_invite = app
        .post(
            &format!("{ORG}/users/invite"),
            json!({"email": "guest@beta.test", "role": "member"}),
            Some(&b.owner.access),
        )
        .await
        .expect(201)
        .str("/id");
    let before = fingerprint(&app, b.org_id).await;
    for attacker in [&a.owner, &a.admin] {
        for target in [&b.owner, &b.admin, &b.manager, &b.member] {
            app.patch(
                &format!("{ORG}/users/{}/role", target.user_id),
                json!({"role": "member"}),
                Some(&attacker.access),
            )
            .await
            .problem(404, "User not found");
            app.delete(
                &format!("{ORG}/users/{}", target.user_id),
                Some(&attacker.access),
            )
            .await
            .problem(404, "User not found");
        }
        app.delete(
            &format!("{ORG}/invitations/{b_invite}"),
            Some(&attacker.access),
        )
        .await
        .problem(404, "Invitation not found");
        app.post(
            &format!("{ORG}/invitations/{b_invite}/resend"),
            json!({}),
            Some(&attacker.access),
        )
        .await
        .problem(404, "Invitation not found");
        let users = app
            .get(&format!("{ORG}/users?per_page=100"), Some(&attacker.access))
            .await
            .expect(200);
        assert!(
            emails(&users).iter().all(|e| e.ends_with("@alpha.test")),
            "{users:?}"
        );
        let invitations = app
            .get(&format!("{ORG}/invitations"), Some(&attacker.access))
            .await
            .expect(200);
        assert_eq!(invitations.body["total"], 0);
        let search = app
            .get(&format!("{ORG}/users?search=beta"), Some(&attacker.access))
            .await
            .expect(200);
        assert_eq!(search.body["total"], 0);
    }
    assert_eq!(before, fingerprint(&app, b.org_id).await, "B changed");
    // No resend was queued for B's invitee, and one email reached them.
    assert_eq!(app.outbox_count("guest@beta.test", "invite-user").await, 1);
    assert_eq!(app.mail.delivered_to("guest@beta.test").await.len(), 1);
}

#[tokio::test]
async fn a_team_comes_together_and_a_removed_member_is_locked_out() {
    let app = TestApp::spawn().await;
    let owner = app.verified_owner("olive@acme.test", "Acme").await;
    let ann = join(&app, &owner, "ann@acme.test", "member").await;
    let bob = join(&app, &owner, "bob@acme.test", "member").await;
    // The invitee appears in the list with the invited role.
    let list = app
        .get(&format!("{ORG}/users?role=member"), Some(&owner.access))
        .await
        .expect(200);
    assert_eq!(emails(&list), vec!["ann@acme.test", "bob@acme.test"]);

    app.patch(
        &format!("{ORG}/users/{}/role", ann.user_id),
        json!({"role": "admin"}),
        Some(&owner.access),
    )
    .await
    .expect(200);
    let ann = app.login("ann@acme.test", PASSWORD).await;
    app.delete(&format!("{ORG}/users/{}", bob.user_id), Some(&ann.access))
        .await
        .expect(204);
    app.get("/api/v1/user/me", Some(&bob.access))
        .await
        .problem(401, "Session revoked");
    app.get(ORG, Some(&bob.access))
        .await
        .problem(401, "Session revoked");
    let list = app
        .get(&format!("{ORG}/users"), Some(&owner.access))
        .await
        .expect(200);
    let roles: Vec<(String, String)> = list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u: &Value| {
            (
                u["email"].as_str().unwrap_or("").to_owned(),
                u["role"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        vec![
            ("olive@acme.test".to_owned(), "owner".to_owned()),
            ("ann@acme.test".to_owned(), "admin".to_owned())
        ]
    );
}
