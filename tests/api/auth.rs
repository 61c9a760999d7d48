//! `/api/v1/auth`: every route's success path and its refusals, from the
//! client's side and the attacker's.

use serde_json::json;
use uuid::Uuid;

use crate::harness::{JWT_SECRET, PASSWORD, PLATFORM_ADMIN_EMAIL, TestApp, Tokens};

const REGISTERED: &str = "Check your email: the link in it confirms your address and signs you in";

#[tokio::test]
async fn register_creates_an_organization_its_owner_and_a_verification_email() {
    let app = TestApp::spawn().await;
    let r = app
        .register("Ann@Example.com", PASSWORD, "Acme Corp")
        .await
        .expect(202);
    assert_eq!(r.body, json!({ "detail": REGISTERED }));
    assert!(r.body.get("access_token").is_none());
    assert_eq!(
        app.count("select count(*) from users u join organizations o on o.id = u.organization_id
              where u.email = 'ann@example.com' and u.role = 'owner' and u.email_verified_at is null
                and o.name = 'Acme Corp' and o.slug = 'acme-corp' and o.plan = 'free' and o.status = 'active'"
        )
        .await,
        1
    );

    // The request queued one email, and only to the new owner.
    assert_eq!(app.count("select count(*) from email_outbox").await, 1);
    let mails = app.mail.delivered_to("ann@example.com").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = mails[0].clone();
    assert!(
        mail.subject.contains("Confirm your email"),
        "{}",
        mail.subject
    );
    let link = mail.link();
    assert!(
        link.starts_with("http://app.vectra.test/verify-email?token="),
        "{link}"
    );
    assert!(mail.html.contains(&format!("token={}", mail.token())));

    // Following the link signs the new user in.
    let verified = app
        .post(
            "/api/v1/auth/verify-email",
            json!({"token": mail.token()}),
            None,
        )
        .await
        .expect(200);
    assert_eq!(verified.body["token_type"], "bearer");
    assert_eq!(verified.body["user"]["email"], "ann@example.com");
    assert_eq!(verified.body["user"]["email_verified"], true);
    assert_eq!(verified.body["user"]["organization"]["slug"], "acme-corp");
    assert!(verified.body["user"].get("password_hash").is_none());
    let me = app
        .get("/api/v1/user/me", Some(&verified.str("/access_token")))
        .await
        .expect(200);
    assert_eq!(me.body["email"], "ann@example.com");
    // Single use.
    app.post(
        "/api/v1/auth/verify-email",
        json!({"token": mail.token()}),
        None,
    )
    .await
    .problem(400, "Invalid or expired token");
    // A second organization with the same name gets its own slug.
    app.register("bob@example.com", PASSWORD, "Acme Corp")
        .await
        .expect(202);
    assert_eq!(
        app.count("select count(*) from organizations where slug = 'acme-corp-2'")
            .await,
        1
    );
}

#[tokio::test]
async fn register_answers_the_same_for_an_existing_email_and_tells_its_owner() {
    let app = TestApp::spawn().await;
    let new = app
        .register("ann@example.com", PASSWORD, "Acme")
        .await
        .expect(202);
    assert_eq!(app.mail.delivered_to("ann@example.com").await.len(), 1);
    let users = app.count("select count(*) from users").await;
    let orgs = app.count("select count(*) from organizations").await;
    let existing = app
        .register("ANN@example.com", "another password", "Another Org")
        .await
        .expect(202);
    assert_eq!(new.body, existing.body, "the answer reveals the account");
    assert_eq!(
        new.headers.get("content-type"),
        existing.headers.get("content-type")
    );
    assert_eq!(app.count("select count(*) from users").await, users);
    assert_eq!(app.count("select count(*) from organizations").await, orgs);
    // Queued by the request itself, then delivered: one notice, no new link.
    assert_eq!(
        app.outbox_count("ann@example.com", "account-exists").await,
        1
    );
    assert_eq!(app.outbox_count("ann@example.com", "verify-email").await, 1);
    let mails = app.mail.delivered_to("ann@example.com").await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    let notice = mails[1].clone();
    assert_eq!(
        notice.subject,
        "Someone tried to sign up for Vectra with your email"
    );
    assert!(
        notice.subject.contains("tried to sign up"),
        "{}",
        notice.subject
    );
    assert!(
        notice.text.contains("http://app.vectra.test/login"),
        "{}",
        notice.text
    );
    assert!(
        notice
            .text
            .contains("http://app.vectra.test/forgot-password")
    );
    assert!(
        !notice.text.contains("token="),
        "no link in it signs anyone in"
    );
    // The password sent with the second attempt changed nothing.
    app.login("ann@example.com", PASSWORD).await;
    // A flood of attempts sends at most three notices an hour.
    for _ in 0..5 {
        app.register("ann@example.com", PASSWORD, "Acme")
            .await
            .expect(202);
    }
    assert_eq!(
        app.count("select count(*) from email_outbox where to_email = 'ann@example.com' and template = 'account-exists'"
        )
        .await,
        3
    );
}

#[tokio::test]
async fn register_refuses_bad_input_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let before = app.count("select count(*) from users").await;
    let r = app
        .post(
            "/api/v1/auth/register",
            json!({"email": "not-an-email", "password": "short", "full_name": "  ", "organization_name": ""}),
            None,
        )
        .await
        .problem(422, "The request has invalid fields");
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        fields,
        vec!["email", "password", "full_name", "organization_name"]
    );
    r.invalid(&[
        ("email", "must be an email address"),
        ("password", "must be at least 10 characters"),
        ("full_name", "is required"),
        ("organization_name", "is required"),
    ]);

    app.post(
        "/api/v1/auth/register",
        json!({"email": "ann@example.com", "password": "Ann@Example.com", "full_name": "Ann"}),
        None,
    )
    .await
    .invalid(&[
        ("password", "must not be your email address"),
        ("organization_name", "is required"),
    ]);

    // Missing fields and wrong types are 422 naming the field, bad JSON 400.
    app.post("/api/v1/auth/register", json!({"email": "a@b.co"}), None)
        .await
        .problem(422, "password: is required");
    app.post(
        "/api/v1/auth/register",
        json!({"email": 42, "password": PASSWORD, "full_name": "Ann"}),
        None,
    )
    .await
    .invalid(&[("email", "must be a string")]);
    let r = app
        .send_raw("/api/v1/auth/register", "{\"email\": ", "application/json")
        .await
        .expect(400);
    assert!(r.str("/detail").starts_with("Malformed JSON"), "{r:?}");
    app.send_raw(
        "/api/v1/auth/register",
        "email=a",
        "application/x-www-form-urlencoded",
    )
    .await
    .problem(
        415,
        "Expected a JSON body with Content-Type: application/json",
    );
    assert_eq!(app.count("select count(*) from users").await, before);
    assert_eq!(app.count("select count(*) from organizations").await, 0);

    app.register("ann@example.com", PASSWORD, "Acme")
        .await
        .expect(202);
    assert_eq!(app.count("select count(*) from organizations").await, 1);
}

#[tokio::test]
async fn the_platform_admin_email_registers_the_platform_admin() {
    let app = TestApp::spawn().await;
    app.post(
        "/api/v1/auth/register",
        json!({"email": PLATFORM_ADMIN_EMAIL.to_uppercase(), "password": PASSWORD, "full_name": "Pat"}),
        None,
    )
    .await
    .expect(202);
    assert_eq!(
        app.count(
            "select count(*) from users where role = 'platform_admin' and organization_id is null"
        )
        .await,
        1
    );
    assert_eq!(app.count("select count(*) from organizations").await, 0);

    // Until verified, the admin console refuses it and says why.
    let admin = app.login(PLATFORM_ADMIN_EMAIL, PASSWORD).await;
    let r = app
        .get("/api/v1/admin/organizations", Some(&admin.access))
        .await
        .problem(403, "Platform admin access requires a verified email");
    assert!(r.str("/hint").contains("send-verification-email"), "{r:?}");
    // Its own profile still works, and it can ask for the email again.
    let me = app
        .get("/api/v1/user/me", Some(&admin.access))
        .await
        .expect(200);
    assert_eq!(me.body["role"], "platform_admin");
    assert!(me.body["organization"].is_null());
    app.post(
        "/api/v1/auth/send-verification-email",
        json!({}),
        Some(&admin.access),
    )
    .await
    .expect(202);
    let mails = app.mail.delivered_to(PLATFORM_ADMIN_EMAIL).await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    // Both links work until one is used; using one spends the other.
    let verified = app
        .post(
            "/api/v1/auth/verify-email",
            json!({"token": mails[0].token()}),
            None,
        )
        .await
        .expect(200);
    assert_eq!(verified.body["user"]["role"], "platform_admin");
    app.post(
        "/api/v1/auth/verify-email",
        json!({"token": mails[1].token()}),
        None,
    )
    .await
    .problem(400, "Invalid or expired token");
    app.post(
        "/api/v1/auth/send-verification-email",
        json!({}),
        Some(&admin.access),
    )
    .await
    .problem(409, "Email already verified");
    // Verified: past the gate.
    let r = app
        .get("/api/v1/admin/organizations", Some(&admin.access))
        .await
        .expect(200);
    assert_eq!(r.body["total"], 0);
}

#[tokio::test]
async fn nobody_names_themselves_platform_admin_through_sql() {
    let app = TestApp::spawn().await;
    // A five-argument register once took the platform-admin email from its
    // caller; it is gone, and the database decides (`auth.settings`).
    let anon = app.db.as_role("vectra_anon", &[]).await;
    let err = anon
        .query(
            "select auth.register('evil@attacker.test', 'h', 'Eve', null, 'evil@attacker.test')",
            &[],
        )
        .await
        .expect_err("the old signature");
    assert_eq!(crate::harness::sqlstate(&err), "42883", "{err}");
    let err = anon
        .query(
            "select auth.register('evil@attacker.test', 'h', 'Eve', null)",
            &[],
        )
        .await
        .expect_err("an ordinary email without an organization");
    assert_eq!(crate::harness::sqlstate(&err), "VA422", "{err}");
    anon.query(
        "select auth.register('evil@attacker.test', 'h', 'Eve', 'Evil Corp')",
        &[],
    )
    .await
    .expect("an ordinary registration");
    anon.commit().await;
    assert_eq!(
        app.count(
            "select count(*) from users where email = 'evil@attacker.test' and role = 'owner'"
        )
        .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from users where role = 'platform_admin'")
            .await,
        0
    );
    // And no request role may rewrite the setting.
    for role in [
        "vectra_anon",
        "vectra_member",
        "vectra_platform_admin",
        "vectra_tenant_reader",
    ] {
        let session = app.db.as_role(role, &[]).await;
        let err = session
            .execute(
                "update auth.settings set platform_admin_email = 'evil@attacker.test'",
                &[],
            )
            .await
            .expect_err(role);
        assert_eq!(crate::harness::sqlstate(&err), "42501", "{role}: {err}");
    }
}

#[tokio::test]
async fn login_answers_tokens_and_the_user() {
    let app = TestApp::spawn().await;
    app.register("ann@example.com", PASSWORD, "Acme")
        .await
        .expect(202);
    let r = app
        .post(
            "/api/v1/auth/login",
            json!({"email": " ANN@example.com", "password": PASSWORD}),
            None,
        )
        .await
        .expect(200);
    assert_eq!(r.body["token_type"], "bearer");
    assert_eq!(r.body["expires_in"], 900);
    assert_eq!(r.body["user"]["email"], "ann@example.com");
    assert_eq!(r.str("/refresh_token").len(), 43);
    let claims = decode(&r.str("/access_token"));
    assert_eq!(claims["sub"], r.body["user"]["id"]);
    assert_eq!(claims["org"], r.body["user"]["organization"]["id"]);
    assert_eq!(claims["role"], "owner");
    assert_eq!(claims["iss"], "vectra");
    assert_eq!(claims["aud"], "vectra-api");
    assert_eq!(
        claims["exp"].as_i64().unwrap_or(0) - claims["iat"].as_i64().unwrap_or(0),
        900
    );
    assert!(Uuid::parse_str(claims["sid"].as_str().unwrap_or("")).is_ok());
    let me = app
        .get("/api/v1/user/me", Some(&r.str("/access_token")))
        .await
        .expect(200);
    assert_eq!(me.body["email"], "ann@example.com");
    assert_eq!(me.body["organization"]["slug"], "acme");
    let last_login: i64 = app
        .count("select count(*) from users where last_login_at is not null")
        .await;
    assert_eq!(last_login, 1);
}

use crate::harness::jwt_claims as decode;

#[tokio::test]
async fn login_does_not_reveal_which_emails_exist() {
    let app = TestApp::spawn().await;
    app.register("ann@example.com", PASSWORD, "Acme")
        .await
        .expect(202);
    let wrong_password = app
        .post(
            "/api/v1/auth/login",
            json!({"email": "ann@example.com", "password": "wrong password!"}),
            None,
        )
        .await
        .problem(401, "Invalid email or password");
    let unknown = app
        .post(
            "/api/v1/auth/login",
            json!({"email": "nobody@example.com", "password": "wrong password!"}),
            None,
        )
        .await
        .problem(401, "Invalid email or password");
    // The same body but for the request id each problem names.
    let without_instance = |mut body: serde_json::Value| {
        body.as_object_mut().map(|o| o.remove("instance"));
        body
    };
    assert_eq!(
        without_instance(wrong_password.body.clone()),
        without_instance(unknown.body.clone())
    );
    let malformed = app
        .post(
            "/api/v1/auth/login",
            json!({"email": "nobody", "password": "x"}),
            None,
        )
        .await
        .problem(401, "Invalid email or password");
    assert_eq!(
        without_instance(malformed.body.clone()),
        without_instance(unknown.body.clone())
    );
}

#[tokio::test]
async fn suspended_and_removed_accounts_learn_why_only_with_the_right_password() {
    let app = TestApp::spawn().await;
    app.register("ann@example.com", PASSWORD, "Acme")
        .await
        .expect(202);
    app.register("bob@example.com", PASSWORD, "Bobco")
        .await
        .expect(202);
    let admin = app.db.admin().await;
    let wrong = json!({"email": "ann@example.com", "password": "not the password"});
    let right = json!({"email": "ann@example.com", "password": PASSWORD});

    admin
        .execute(
            "update users set status = 'suspended' where email = 'ann@example.com'",
            &[],
        )
        .await
        .expect("suspend");
    app.post("/api/v1/auth/login", wrong.clone(), None)
        .await
        .problem(401, "Invalid email or password");
    app.post("/api/v1/auth/login", right.clone(), None)
        .await
        .problem(403, "This account is suspended");

    admin
        .execute("update users set status = 'removed', deleted_at = now() where email = 'ann@example.com'", &[])
        .await
        .expect("remove");
    app.post("/api/v1/auth/login", right.clone(), None)
        .await
        .problem(403, "This account has been removed from its organization");

    admin
        .execute(
            "update organizations set status = 'suspended' where slug = 'bobco'",
            &[],
        )
        .await
        .expect("suspend org");
    app.post(
        "/api/v1/auth/login",
        json!({"email": "bob@example.com", "password": PASSWORD}),
        None,
    )
    .await
    .problem(403, "This organization is suspended");
    admin
        .execute(
            "update organizations set status = 'deleted', deleted_at = now() where slug = 'bobco'",
            &[],
        )
        .await
        .expect("delete org");
    app.post(
        "/api/v1/auth/login",
        json!({"email": "bob@example.com", "password": PASSWORD}),
        None,
    )
    .await
    .problem(403, "This organization has been deleted");
    assert_eq!(
        app.count("select count(*) from sessions").await,
        0,
        "a refused login opened a session"
    );
}

fn forge(claims: serde_json::Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode")
}

#[tokio::test]
async fn forged_tampered_expired_and_revoked_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let ann = app.verified_owner("ann@example.com", "Acme").await;
    app.get("/api/v1/user/me", Some(&ann.access))
        .await
        .expect(200);
    let claims = decode(&ann.access);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();

    // Another key.
    let other_key = forge(claims.clone(), "some-other-secret-some-other-secret-1234");
    // Tampered payload: role escalated, signature kept.
    let mut parts: Vec<String> = ann.access.split('.').map(str::to_owned).collect();
    let mut escalated = claims.clone();
    escalated["role"] = json!("platform_admin");
    escalated["org"] = json!(null);
    use base64_like::encode_segment;
    parts[1] = encode_segment(&escalated);
    let tampered = parts.join(".");
    // Expired a second ago, correctly signed (no leeway).
    let mut expired = claims.clone();
    expired["iat"] = json!(now - 60);
    expired["exp"] = json!(now - 1);
    let expired = forge(expired, JWT_SECRET);
    // Wrong audience.
    let mut audience = claims.clone();
    audience["aud"] = json!("someone-else");
    let audience = forge(audience, JWT_SECRET);
    // alg=none.
    let none = format!(
        "{}.{}.",
        encode_segment(&json!({"alg": "none", "typ": "JWT"})),
        encode_segment(&claims)
    );

    for (what, token) in [
        ("other key", other_key.as_str()),
        ("tampered", tampered.as_str()),
        ("expired", expired.as_str()),
        ("audience", audience.as_str()),
        ("alg none", none.as_str()),
        ("garbage", "not.a.jwt"),
    ] {
        let r = app.get("/api/v1/user/me", Some(token)).await;
        assert_eq!(r.status, 401, "{what}: {r:?}");
        let r = r.problem(401, "Invalid or expired access token");
        assert!(r.headers.contains_key("www-authenticate"), "{what}");
    }
    app.get("/api/v1/user/me", None)
        .await
        .problem(401, "Missing bearer token");

    // Revoked by logout: the very next request is refused by the database.
    app.post("/api/v1/auth/logout", json!({}), Some(&ann.access))
        .await
        .expect(204);
    app.assert_session_revoked(&ann).await;
}

/// Base64url segments for hand-made JWTs.
mod base64_like {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    pub fn encode_segment(value: &serde_json::Value) -> String {
        let bytes = serde_json::to_vec(value).expect("json");
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
                << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}

/// Moves the last rotation of every session back in time, past the grace period.
async fn end_grace_period(app: &TestApp) {
    app.db
        .admin()
        .await
        .execute(
            "update sessions set rotated_at = rotated_at - interval '1 hour'",
            &[],
        )
        .await
        .expect("age the rotation");
}

#[tokio::test]
async fn refresh_rotates_and_a_replayed_token_revokes_the_session() {
    let app = TestApp::spawn().await;
    let ann = app.verified_owner("ann@example.com", "Acme").await;
    let first = app
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": ann.refresh}),
            None,
        )
        .await
        .expect(200);
    let second_refresh = first.str("/refresh_token");
    let second_access = first.str("/access_token");
    assert_ne!(second_refresh, ann.refresh);
    assert_eq!(second_refresh.len(), 43);
    assert_eq!(
        decode(&second_access)["sid"],
        decode(&ann.access)["sid"],
        "same session"
    );
    let me = app
        .get("/api/v1/user/me", Some(&second_access))
        .await
        .expect(200);
    assert_eq!(me.body["id"], ann.user_id.to_string());
    assert_eq!(me.body["email"], "ann@example.com");

    // The old refresh token again, after the grace period: an attacker
    // replaying a stolen token.
    end_grace_period(&app).await;
    app.post(
        "/api/v1/auth/refresh",
        json!({"refresh_token": ann.refresh}),
        None,
    )
    .await
    .problem(
        401,
        "Refresh token already used; the session has been revoked",
    );
    // The whole session is dead: its access tokens and its newest refresh token.
    app.get("/api/v1/user/me", Some(&second_access))
        .await
        .problem(401, "Session revoked");
    app.post(
        "/api/v1/auth/refresh",
        json!({"refresh_token": second_refresh}),
        None,
    )
    .await
    .problem(401, "Session revoked");
    app.post(
        "/api/v1/auth/refresh",
        json!({"refresh_token": "made-up-token"}),
        None,
    )
    .await
    .problem(401, "Invalid refresh token");
    // Another session of the same user is untouched.
    let other = app.login("ann@example.com", PASSWORD).await;
    let me = app
        .get("/api/v1/user/me", Some(&other.access))
        .await
        .expect(200);
    assert_eq!(me.body["id"], ann.user_id.to_string());
}

#[tokio::test]
async fn the_token_that_just_rotated_yields_the_same_successor_within_the_grace_period() {
    let app = TestApp::spawn().await;
    let ann = app.verified_owner("ann@example.com", "Acme").await;
    let body = json!({"refresh_token": ann.refresh});
    let tab_a = app
        .post("/api/v1/auth/refresh", body.clone(), None)
        .await
        .expect(200);
    // A second tab (or a retry after a lost answer) with the same token.
    let tab_b = app
        .post("/api/v1/auth/refresh", body.clone(), None)
        .await
        .expect(200);
    assert_eq!(tab_a.str("/refresh_token"), tab_b.str("/refresh_token"));
    app.get("/api/v1/user/me", Some(&tab_b.str("/access_token")))
        .await
        .expect(200);
    // The family goes on from the shared successor, once.
    let next = app
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": tab_a.str("/refresh_token")}),
            None,
        )
        .await
        .expect(200);
    // Two tokens back is a replay even within the grace period.
    app.post("/api/v1/auth/refresh", body, None).await.problem(
        401,
        "Refresh token already used; the session has been revoked",
    );
    app.get("/api/v1/user/me", Some(&next.str("/access_token")))
        .await
        .problem(401, "Session revoked");
}

/// Two refreshes of one token at the same moment: a transaction of the
/// test's holds the session row until both wait for it, so the second
/// really runs while the first rotates (and then finds the token rotated
/// within the grace period), every trial.
#[tokio::test]
async fn two_concurrent_refreshes_keep_the_user_signed_in() {
    let app = TestApp::spawn().await;
    for trial in 0..5 {
        let tokens = app
            .verified_owner(&format!("ann{trial}@example.com"), &format!("Acme {trial}"))
            .await;
        let body = json!({"refresh_token": tokens.refresh});
        let gate = app.db.admin().await;
        gate.batch_execute("begin").await.expect("begin");
        let held = gate
            .execute(
                "select 1 from sessions where user_id = $1 for update",
                &[&tokens.user_id],
            )
            .await
            .expect("hold the session");
        assert_eq!(held, 1);
        let (a, b, ()) = tokio::join!(
            app.post("/api/v1/auth/refresh", body.clone(), None),
            app.post("/api/v1/auth/refresh", body.clone(), None),
            async {
                app.db.wait_for_lock_waiters(2).await;
                gate.batch_execute("commit").await.expect("open the gate");
            }
        );
        let (a, b) = (a.expect(200), b.expect(200));
        assert_eq!(
            a.str("/refresh_token"),
            b.str("/refresh_token"),
            "trial {trial}"
        );
        for r in [&a, &b] {
            app.get("/api/v1/user/me", Some(&r.str("/access_token")))
                .await
                .expect(200);
        }
        app.post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": a.str("/refresh_token")}),
            None,
        )
        .await
        .expect(200);
    }
    assert_eq!(
        app.count("select count(*) from sessions where revoked_at is not null")
            .await,
        0
    );
}

#[tokio::test]
async fn change_password_keeps_this_session_and_ends_the_others() {
    let app = TestApp::spawn().await;
    let laptop = app.verified_owner("ann@example.com", "Acme").await;
    let phone = app.login("ann@example.com", PASSWORD).await;
    app.post(
        "/api/v1/auth/change-password",
        json!({"current_password": "not my password", "new_password": "a brand new secret"}),
        Some(&laptop.access),
    )
    .await
    .invalid(&[("current_password", "is incorrect")]);
    app.post(
        "/api/v1/auth/change-password",
        json!({"current_password": PASSWORD, "new_password": "short"}),
        Some(&laptop.access),
    )
    .await
    .invalid(&[("new_password", "must be at least 10 characters")]);
    // Refused: both sessions still work.
    app.get("/api/v1/user/me", Some(&phone.access))
        .await
        .expect(200);
    let r = app
        .post(
            "/api/v1/auth/change-password",
            json!({"current_password": PASSWORD, "new_password": "a brand new secret"}),
            Some(&laptop.access),
        )
        .await
        .expect(200);
    assert_eq!(r.body["sessions_revoked"], 1);
    app.get("/api/v1/user/me", Some(&laptop.access))
        .await
        .expect(200);
    app.get("/api/v1/user/me", Some(&phone.access))
        .await
        .problem(401, "Session revoked");
    app.post(
        "/api/v1/auth/login",
        json!({"email": "ann@example.com", "password": PASSWORD}),
        None,
    )
    .await
    .problem(401, "Invalid email or password");
    app.login("ann@example.com", "a brand new secret").await;
}

#[tokio::test]
async fn forgot_and_reset_password() {
    let app = TestApp::spawn().await;
    let ann = app.verified_owner("ann@example.com", "Acme").await;
    let known = app
        .post(
            "/api/v1/auth/forgot-password",
            json!({"email": "ann@example.com"}),
            None,
        )
        .await
        .expect(202);
    let unknown = app
        .post(
            "/api/v1/auth/forgot-password",
            json!({"email": "nobody@example.com"}),
            None,
        )
        .await
        .expect(202);
    assert_eq!(known.body, unknown.body);
    // The request queued one link for the account, and nothing for the stranger.
    assert_eq!(
        app.outbox_count("ann@example.com", "reset-password").await,
        1
    );
    assert_eq!(
        app.count("select count(*) from email_outbox where to_email = 'nobody@example.com'")
            .await,
        0
    );

    // The first email was the verification link.
    let mails = app.mail.delivered_to("ann@example.com").await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    let mail = mails[1].clone();
    assert!(mail.subject.contains("Reset your"), "{}", mail.subject);
    assert!(
        mail.link()
            .starts_with("http://app.vectra.test/reset-password?token=")
    );
    let token = mail.token();
    // Someone asks again (the attacker who knows the address, say): the
    // link already sent keeps working, and so does the new one.
    app.post(
        "/api/v1/auth/forgot-password",
        json!({"email": "ann@example.com"}),
        None,
    )
    .await
    .expect(202);
    let mails = app.mail.delivered_to("ann@example.com").await;
    assert_eq!(mails.len(), 3, "{mails:?}");
    let second = mails[2].token();
    assert_ne!(second, token);

    // Bad tokens: all the same 400.
    for bad in ["", "nonsense", &"x".repeat(43)] {
        app.post(
            "/api/v1/auth/reset-password",
            json!({"token": bad, "new_password": "another secret!"}),
            None,
        )
        .await
        .problem(400, "Invalid or expired token");
    }
    app.post(
        "/api/v1/auth/reset-password",
        json!({"token": token, "new_password": "short"}),
        None,
    )
    .await
    .invalid(&[("new_password", "must be at least 10 characters")]);
    app.post(
        "/api/v1/auth/reset-password",
        json!({"token": token, "new_password": "another secret!"}),
        None,
    )
    .await
    .expect(200);
    // Used: same 400 as unknown. Every session is gone.
    app.post(
        "/api/v1/auth/reset-password",
        json!({"token": token, "new_password": "yet another one"}),
        None,
    )
    .await
    .problem(400, "Invalid or expired token");
    // Using one link spent the other.
    app.post(
        "/api/v1/auth/reset-password",
        json!({"token": second, "new_password": "yet another one"}),
        None,
    )
    .await
    .problem(400, "Invalid or expired token");
    app.get("/api/v1/user/me", Some(&ann.access))
        .await
        .problem(401, "Session revoked");
    app.login("ann@example.com", "another secret!").await;

    // Expired: same 400.
    app.post(
        "/api/v1/auth/forgot-password",
        json!({"email": "ann@example.com"}),
        None,
    )
    .await
    .expect(202);
    let mails = app.mail.delivered_to("ann@example.com").await;
    assert_eq!(mails.len(), 4, "{mails:?}");
    app.db
        .admin()
        .await
        .execute("update one_time_tokens set expires_at = now() - interval '1 second' where purpose = 'reset_password' and used_at is null", &[])
        .await
        .expect("expire");
    app.post(
        "/api/v1/auth/reset-password",
        json!({"token": mails[3].token(), "new_password": "yet another one"}),
        None,
    )
    .await
    .problem(400, "Invalid or expired token");
    // Nobody else got anything (everything due was delivered above).
    assert!(app.mail.delivered_to("nobody@example.com").await.is_empty());
    assert_eq!(app.mail.all().len(), 4);
}

#[tokio::test]
async fn resend_verification_is_silent_about_accounts_and_keeps_older_links() {
    let app = TestApp::spawn().await;
    app.register("ann@example.com", PASSWORD, "Acme")
        .await
        .expect(202);
    let first = app.mail.last_to("ann@example.com").await;
    let known = app
        .post(
            "/api/v1/auth/resend-verification-email",
            json!({"email": "ann@example.com"}),
            None,
        )
        .await
        .expect(202);
    let unknown = app
        .post(
            "/api/v1/auth/resend-verification-email",
            json!({"email": "ghost@example.com"}),
            None,
        )
        .await
        .expect(202);
    assert_eq!(known.body, unknown.body);
    let resend = || async {
        app.post(
            "/api/v1/auth/resend-verification-email",
            json!({"email": "ann@example.com"}),
            None,
        )
        .await
        .expect(202);
        app.count("select count(*) from email_outbox where template = 'verify-email'")
            .await
    };
    // Somebody else asking again does not kill the link already sent; three
    // links at most are outstanding, so the fourth request sends nothing.
    for _ in 0..2 {
        resend().await;
    }
    assert_eq!(resend().await, 3);
    assert_eq!(app.mail.delivered_to("ann@example.com").await.len(), 3);
    app.post(
        "/api/v1/auth/verify-email",
        json!({"token": first.token()}),
        None,
    )
    .await
    .expect(200);
    // Verified accounts get no more links.
    assert_eq!(resend().await, 3);
    assert_eq!(app.mail.delivered_to("ann@example.com").await.len(), 3);
    assert!(app.mail.delivered_to("ghost@example.com").await.is_empty());
}

#[tokio::test]
async fn a_signed_in_user_is_told_when_enough_links_are_on_their_way() {
    let app = TestApp::spawn().await;
    app.register("ann@example.com", PASSWORD, "Acme")
        .await
        .expect(202);
    let ann = app.login("ann@example.com", PASSWORD).await;
    for _ in 0..2 {
        app.post(
            "/api/v1/auth/send-verification-email",
            json!({}),
            Some(&ann.access),
        )
        .await
        .expect(202);
    }
    let r = app
        .post(
            "/api/v1/auth/send-verification-email",
            json!({}),
            Some(&ann.access),
        )
        .await
        .problem(
            429,
            "Verification links are already on their way; use the newest one",
        );
    let retry: u64 = r.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("secs");
    assert!((23 * 3600..=24 * 3600).contains(&retry), "{retry}");
}

#[tokio::test]
async fn verifying_a_suspended_account_counts_but_does_not_sign_in() {
    let app = TestApp::spawn().await;
    app.register("ann@example.com", PASSWORD, "Acme")
        .await
        .expect(202);
    let mail = app.mail.last_to("ann@example.com").await;
    app.db
        .admin()
        .await
        .execute(
            "update users set status = 'suspended' where email = 'ann@example.com'",
            &[],
        )
        .await
        .expect("suspend");
    app.post(
        "/api/v1/auth/verify-email",
        json!({"token": mail.token()}),
        None,
    )
    .await
    .problem(403, "Email verified. This account is suspended");
    assert_eq!(
        app.count("select count(*) from users where email_verified_at is not null")
            .await,
        1
    );
    assert_eq!(app.count("select count(*) from sessions").await, 0);
}

#[tokio::test]
async fn accept_invitation_creates_a_verified_member_once() {
    let app = TestApp::spawn().await;
    let owner = app.verified_owner("owner@example.com", "Acme").await;
    let admin = app.db.admin().await;
    let invite = |email: &'static str, token: &'static str, extra: &'static str| {
        let admin = &admin;
        async move {
            admin
                .execute(
                    &format!(
                        "insert into invitations (organization_id, email, role, token_hash, invited_by, expires_at {})
                         select organization_id, $1, 'manager', sha256(convert_to($2, 'UTF8')), id, now() + interval '7 days' {}
                           from users where email = 'owner@example.com'",
                        if extra.is_empty() { "" } else { ", revoked_at" },
                        if extra.is_empty() { "" } else { ", now()" },
                    ),
                    &[&email, &token],
                )
                .await
                .expect("invitation");
        }
    };
    invite("new@example.com", "invite-token-1", "").await;
    invite("revoked@example.com", "invite-token-2", "revoked").await;
    invite("owner@example.com", "invite-token-3", "").await;

    let body = |token: &str| json!({"token": token, "password": "a fine password", "full_name": "Nia New"});
    let r = app
        .post(
            "/api/v1/auth/accept-invitation",
            body("invite-token-1"),
            None,
        )
        .await
        .expect(201);
    assert_eq!(r.body["user"]["email"], "new@example.com");
    assert_eq!(r.body["user"]["role"], "manager");
    assert_eq!(r.body["user"]["email_verified"], true);
    assert_eq!(r.body["user"]["organization"]["slug"], "acme");
    let access = r.str("/access_token");
    app.get("/api/v1/user/organizations/me", Some(&access))
        .await
        .expect(200);
    let owner_org = app
        .get("/api/v1/user/me", Some(&owner.access))
        .await
        .expect(200);
    assert_eq!(
        r.body["user"]["organization"]["id"],
        owner_org.body["organization"]["id"]
    );

    for token in ["invite-token-1", "invite-token-2", "no-such-token"] {
        app.post("/api/v1/auth/accept-invitation", body(token), None)
            .await
            .problem(400, "Invalid or expired invitation");
    }
    admin
        .execute("update invitations set expires_at = now() - interval '1 second' where email = 'owner@example.com'", &[])
        .await
        .expect("expire");
    app.post(
        "/api/v1/auth/accept-invitation",
        body("invite-token-3"),
        None,
    )
    .await
    .problem(400, "Invalid or expired invitation");
    admin
        .execute("update invitations set expires_at = now() + interval '1 day' where email = 'owner@example.com'", &[])
        .await
        .expect("unexpire");
    app.post(
        "/api/v1/auth/accept-invitation",
        body("invite-token-3"),
        None,
    )
    .await
    .problem(409, "A user with this email already exists");
    app.login("new@example.com", "a fine password").await;
}

#[tokio::test]
async fn admin_and_organization_routes_refuse_the_other_kind_of_user() {
    let app = TestApp::spawn().await;
    let owner = app.verified_owner("owner@example.com", "Acme").await;
    for path in [
        "/api/v1/admin",
        "/api/v1/admin/",
        "/api/v1/admin/overview",
        "/api/v1/admin/organizations",
        "/api/v1/admin/anything/at/all",
    ] {
        app.get(path, Some(&owner.access))
            .await
            .problem(403, "Platform admin access required");
    }
    app.get("/api/v1/admin/overview", None)
        .await
        .problem(401, "Missing bearer token");

    let admin = platform_admin(&app).await;
    app.get("/api/v1/user/organizations/me", Some(&admin.access))
        .await
        .problem(403, "Organization user access required");
    let org = app
        .get("/api/v1/user/organizations/me", Some(&owner.access))
        .await
        .expect(200);
    assert_eq!(org.body["slug"], "acme");
    assert!(org.body["settings"].is_object());
}

/// `vectra create-platform-admin --email <email> --password-stdin` on the
/// test database, with `password` and a newline on its stdin.
fn create_platform_admin(app: &TestApp, email: &str, password: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_vectra"))
        .args([
            "create-platform-admin",
            "--email",
            email,
            "--password-stdin",
        ])
        .env("DATABASE_ADMIN_URL", app.db.admin_url())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(format!("{password}\n").as_bytes())?;
            child.wait_with_output()
        })
        .expect("run vectra create-platform-admin")
}

/// A verified platform admin, made the way an operator would.
pub async fn platform_admin(app: &TestApp) -> Tokens {
    let out = create_platform_admin(app, "Ops@Vectra.test", PASSWORD);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("created platform admin ops@vectra.test")
    );
    app.login("ops@vectra.test", PASSWORD).await
}

#[tokio::test]
async fn create_platform_admin_makes_a_verified_admin() {
    let app = TestApp::spawn().await;
    let admin = platform_admin(&app).await;
    let me = app
        .get("/api/v1/user/me", Some(&admin.access))
        .await
        .expect(200);
    assert_eq!(me.body["role"], "platform_admin");
    assert_eq!(me.body["email_verified"], true);
    app.get("/api/v1/admin/nothing-here-yet", Some(&admin.access))
        .await
        .problem(404, "No route for GET /api/v1/admin/nothing-here-yet");
    // A second one with the same email (and a valid password, so that the
    // duplicate is what stops it) is refused, and nothing is written.
    let out = create_platform_admin(&app, "OPS@vectra.test", "another fine password");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: a user with the email ops@vectra.test already exists"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("created platform admin"));
    assert_eq!(
        app.count("select count(*) from users where role = 'platform_admin'")
            .await,
        1
    );
    // The first one's password still works.
    app.login("ops@vectra.test", PASSWORD).await;
}

#[tokio::test]
async fn the_old_me_route_redirects_permanently() {
    let app = TestApp::spawn().await;
    let r = app.get("/api/v1/auth/me", None).await;
    assert_eq!(r.status, 308);
    assert_eq!(r.headers["location"], "/api/v1/user/me");
}

#[tokio::test]
async fn public_auth_routes_are_rate_limited() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_PER_MINUTE", "3")]).await;
    // Each route's own answer while under the limit: (status, detail).
    for (path, body, status, detail) in [
        (
            "/api/v1/auth/login",
            json!({"email": "x@example.com", "password": "whatever you say"}),
            401,
            "Invalid email or password",
        ),
        (
            "/api/v1/auth/forgot-password",
            json!({"email": "x@example.com"}),
            202,
            "If an account exists for this email, a reset link is on its way",
        ),
        (
            "/api/v1/auth/resend-verification-email",
            json!({"email": "x@example.com"}),
            202,
            "If the account exists and is not verified yet, a verification email is on its way",
        ),
        (
            "/api/v1/auth/register",
            json!({"email": "x@example.com", "password": "p", "full_name": "X"}),
            422,
            "The request has invalid fields",
        ),
    ] {
        for _ in 0..3 {
            let r = app.post(path, body.clone(), None).await.expect(status);
            assert_eq!(r.body["detail"], detail, "{path}: {r:?}");
        }
        let r = app
            .post(path, body.clone(), None)
            .await
            .problem(429, "Too many attempts; try again later");
        let retry: u64 = r.headers["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!((1..=60).contains(&retry), "{retry}");
    }
}

#[tokio::test]
async fn mail_waits_out_an_smtp_outage() {
    let app = TestApp::spawn().await;
    app.register("ann@example.com", PASSWORD, "Acme")
        .await
        .expect(202);
    assert_eq!(app.mail.delivered_to("ann@example.com").await.len(), 1);

    app.mail.stop();
    app.post(
        "/api/v1/auth/forgot-password",
        json!({"email": "ann@example.com"}),
        None,
    )
    .await
    .expect(202);
    // Queued by the request itself, before any delivery.
    assert_eq!(
        app.outbox_count("ann@example.com", "reset-password").await,
        1
    );
    let admin = app.db.admin().await;
    let row =
        "select status::text, attempts, last_error, next_attempt_at > now(), context ? 'token',
                      sent_at is not null, subject
                 from email_outbox where template = 'reset-password'";
    // One attempt, which fails: the row is rescheduled with the error, token kept.
    assert_eq!(app.deliver_mail().await, 1);
    let r = admin.query_one(row, &[]).await.expect("outbox row");
    assert_eq!(r.get::<_, String>(0), "pending");
    assert_eq!(r.get::<_, i32>(1), 1);
    assert!(
        r.get::<_, Option<String>>(2).is_some_and(|e| !e.is_empty()),
        "no last_error"
    );
    assert!(r.get::<_, bool>(3), "retried at once, without a backoff");
    assert!(r.get::<_, bool>(4), "token dropped before delivery");
    // Not due yet: the next round leaves it alone.
    assert_eq!(app.deliver_mail().await, 0);

    app.mail.restart().await;
    // The backoff has passed (moved back in time): the retry delivers it.
    admin
        .execute(
            "update email_outbox set next_attempt_at = now() where template = 'reset-password'",
            &[],
        )
        .await
        .expect("make the retry due");
    assert_eq!(app.deliver_mail().await, 1);
    let mails = app.mail.to("ann@example.com");
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(
        mails[1].subject.contains("Reset your"),
        "{}",
        mails[1].subject
    );
    // Delivered: marked sent, the error cleared, and its one-time token no
    // longer in the outbox.
    let r = admin.query_one(row, &[]).await.expect("outbox row");
    assert_eq!(r.get::<_, String>(0), "sent");
    assert_eq!(r.get::<_, i32>(1), 2);
    assert_eq!(r.get::<_, Option<String>>(2), None);
    assert!(!r.get::<_, bool>(4), "token kept after delivery");
    assert!(r.get::<_, bool>(5));
    assert_eq!(
        r.get::<_, Option<String>>(6).as_deref(),
        Some(mails[1].subject.as_str())
    );
}

#[tokio::test]
async fn an_email_that_cannot_be_rendered_fails_visibly() {
    let app = TestApp::spawn().await;
    let admin = app.db.admin().await;
    admin
        .execute(
            "insert into email_outbox (organization_id, to_email, template, context)
             values (app.platform_org_id(), 'x@example.com', 'no-such-template', '{}')",
            &[],
        )
        .await
        .expect("insert");
    assert_eq!(app.deliver_mail().await, 1);
    let row = admin
        .query_one(
            "select status::text, attempts, last_error from email_outbox",
            &[],
        )
        .await
        .expect("row");
    assert_eq!(row.get::<_, String>(0), "failed");
    assert_eq!(
        row.get::<_, i32>(1),
        1,
        "a permanent failure is not retried"
    );
    let error = row.get::<_, Option<String>>(2).unwrap_or_default();
    assert!(error.contains("no-such-template"), "{error}");
    // Failed for good: no later round picks it up, nothing was sent.
    assert_eq!(app.deliver_mail().await, 0);
    assert!(app.mail.all().is_empty());
}

#[tokio::test]
async fn the_apps_own_worker_delivers_in_the_background() {
    // Every other test here delivers by hand; this one leaves it to the
    // worker the service runs (polling every 50 ms).
    let app = TestApp::spawn_with_worker(&[]).await;
    app.register("ann@example.com", PASSWORD, "Acme")
        .await
        .expect(202);
    let mail = app.mail.last_to("ann@example.com").await;
    assert!(
        mail.subject.contains("Confirm your email"),
        "{}",
        mail.subject
    );
    app.settle_outbox().await;
    assert_eq!(
        app.count(
            "select count(*) from email_outbox where status = 'sent' and template = 'verify-email'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_malformed_address_is_refused_at_once_by_the_silent_routes() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/auth/forgot-password",
        "/api/v1/auth/resend-verification-email",
    ] {
        for (email, detail) in [
            ("not-an-email", "email: must be an email address"),
            (&*"a".repeat(255), "email: must be at most 254 characters"),
            ("", "email: is required"),
        ] {
            app.post(path, json!({"email": email}), None)
                .await
                .problem(422, detail);
        }
    }
    assert_eq!(app.count("select count(*) from email_outbox").await, 0);
}
