//! Security hardening, tried from the attacker's side: sessions a user can
//! see and end, login backoff, limits that hold across client addresses,
//! invitations that cannot be used to bomb a mailbox, names that cannot
//! disguise themselves, NUL bytes anywhere, response headers, and the DBAs'
//! read-only role from a real login.

use std::net::IpAddr;

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{PASSWORD, Reply, TestApp, Tokens, sqlstate};

const ORG: &str = "/api/v1/user/organizations/me";

async fn settings(app: &TestApp, set: &str) {
    app.db
        .admin()
        .await
        .execute(&format!("update auth.settings set {set}"), &[])
        .await
        .expect("auth.settings");
}

fn retry_after(r: &Reply) -> u64 {
    r.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds")
}

/// A client whose connections come from `ip` (any 127.0.0.0/8 address is
/// the loopback on Linux).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().expect("ip"))
        .build()
        .expect("client")
}

async fn post_from(app: &TestApp, client: &reqwest::Client, path: &str, body: Value) -> u16 {
    client
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[tokio::test]
async fn users_see_their_sessions_and_end_them() {
    let app = TestApp::spawn().await;
    let laptop = app.verified_owner("ann@example.com", "Acme").await;
    let phone = Tokens::from(
        &app.send_with(
            app.http
                .post(app.url("/api/v1/auth/login"))
                .header("user-agent", "VectraPhone/2.1")
                .json(&json!({"email": "ann@example.com", "password": PASSWORD})),
        )
        .await
        .expect(200),
    );
    let r = app
        .get("/api/v1/user/sessions", Some(&laptop.access))
        .await
        .expect(200);
    assert_eq!(r.body["total"], 2, "{r:?}");
    let items = r.body["items"].as_array().expect("items");
    let current: Vec<&Value> = items.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "{r:?}");
    let phone_session = items
        .iter()
        .find(|s| s["user_agent"] == "VectraPhone/2.1")
        .expect("the phone's session");
    assert_eq!(phone_session["current"], false);
    assert_eq!(phone_session["ip"], "127.0.0.1");
    for field in ["id", "created_at", "last_used_at", "expires_at"] {
        assert!(phone_session[field].is_string(), "{field}: {r:?}");
    }
    // Someone else's session id is not found, and stays alive.
    let bob = app.verified_owner("bob@example.com", "Bobco").await;
    let bob_sid = crate::harness::jwt_claims(&bob.access)["sid"]
        .as_str()
        .expect("sid")
        .to_owned();
    app.delete(
        &format!("/api/v1/user/sessions/{bob_sid}"),
        Some(&laptop.access),
    )
    .await
    .problem(404, "Session not found");
    app.get("/api/v1/user/me", Some(&bob.access))
        .await
        .expect(200);
    // End the phone's: its tokens stop at once.
    let phone_sid = phone_session["id"].as_str().expect("id");
    app.delete(
        &format!("/api/v1/user/sessions/{phone_sid}"),
        Some(&laptop.access),
    )
    .await
    .expect(204);
    app.assert_session_revoked(&phone).await;
    app.delete(
        &format!("/api/v1/user/sessions/{phone_sid}"),
        Some(&laptop.access),
    )
    .await
    .problem(404, "Session not found");
    // Every other session: two more sign-ins, ended together.
    let tablet = app.login("ann@example.com", PASSWORD).await;
    app.login("ann@example.com", PASSWORD).await;
    let r = app
        .post(
            "/api/v1/user/sessions/revoke-others",
            json!({}),
            Some(&laptop.access),
        )
        .await
        .expect(200);
    assert_eq!(r.body, json!({"sessions_revoked": 2}));
    app.get("/api/v1/user/me", Some(&tablet.access))
        .await
        .problem(401, "Session revoked");
    let r = app
        .get("/api/v1/user/sessions", Some(&laptop.access))
        .await
        .expect(200);
    assert_eq!(r.body["total"], 1);
    // Ending the current one is a logout.
    let own = r.body["items"][0]["id"].as_str().expect("id").to_owned();
    app.delete(
        &format!("/api/v1/user/sessions/{own}"),
        Some(&laptop.access),
    )
    .await
    .expect(204);
    app.get("/api/v1/user/me", Some(&laptop.access))
        .await
        .problem(401, "Session revoked");
    app.get("/api/v1/user/sessions", None)
        .await
        .problem(401, "Missing bearer token");
    app.get("/api/v1/user/sessions?per_page=1000", Some(&bob.access))
        .await
        .expect(422);
}

#[tokio::test]
async fn failed_logins_back_off_and_a_success_resets() {
    let app = TestApp::spawn_with(&[("LOGIN_FAILURES_BEFORE_BACKOFF", "1")]).await;
    app.verified_owner("ann@example.com", "Acme").await;
    let wrong = json!({"email": "ann@example.com", "password": "not the password"});
    let right = json!({"email": "ann@example.com", "password": PASSWORD});
    app.post("/api/v1/auth/login", wrong.clone(), None)
        .await
        .problem(401, "Invalid email or password");
    app.post("/api/v1/auth/login", wrong.clone(), None)
        .await
        .problem(401, "Invalid email or password");
    // The second failure costs a one-second wait, even for the right password.
    let r = app
        .post("/api/v1/auth/login", right.clone(), None)
        .await
        .problem(429, "Too many attempts; try again later");
    assert_eq!(retry_after(&r), 1);
    // Other emails are not held up.
    app.post(
        "/api/v1/auth/login",
        json!({"email": "bob@example.com", "password": "whatever it is"}),
        None,
    )
    .await
    .expect(401);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.post("/api/v1/auth/login", right.clone(), None)
        .await
        .expect(200);
    // The success reset the count: one failure is free again.
    app.post("/api/v1/auth/login", wrong, None)
        .await
        .expect(401);
    app.post("/api/v1/auth/login", right, None)
        .await
        .expect(200);
}

#[tokio::test]
async fn a_strangers_ten_bad_guesses_delay_the_user_seconds_not_forever() {
    let app = TestApp::spawn().await;
    app.verified_owner("ann@example.com", "Acme").await;
    let attacker = client_from("127.0.0.9");
    for _ in 0..10 {
        let status = post_from(
            &app,
            &attacker,
            "/api/v1/auth/login",
            json!({"email": "ann@example.com", "password": "guess guess guess"}),
        )
        .await;
        assert!(status == 401 || status == 429, "{status}");
    }
    let r = app
        .post(
            "/api/v1/auth/login",
            json!({"email": "ann@example.com", "password": PASSWORD}),
            None,
        )
        .await
        .expect(429);
    // Five free failures, then 1, 2, 4, 8 … seconds: ten failures cost at most 16 s.
    assert!((1..=16).contains(&retry_after(&r)), "{}", retry_after(&r));
}

#[tokio::test]
async fn per_email_limits_hold_across_client_addresses() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_PER_MINUTE", "3")]).await;
    let body = json!({"email": "victim@example.com"});
    // Three addresses, the same email spelled three ways.
    for (i, spelling) in [
        "Victim@Example.com",
        "VICTIM@EXAMPLE.COM",
        "victim@example.COM",
    ]
    .into_iter()
    .enumerate()
    {
        let c = client_from(&format!("127.0.0.{}", i + 2));
        assert_eq!(
            post_from(
                &app,
                &c,
                "/api/v1/auth/forgot-password",
                json!({"email": spelling})
            )
            .await,
            202
        );
    }
    // A fourth address, the same email: refused.
    let c = client_from("127.0.0.5");
    let r = app
        .send_with(c.post(app.url("/api/v1/auth/forgot-password")).json(&body))
        .await
        .problem(429, "Too many attempts; try again later");
    assert!((1..=60).contains(&retry_after(&r)), "{r:?}");
    // The addresses themselves still have room for another email.
    assert_eq!(
        post_from(
            &app,
            &c,
            "/api/v1/auth/forgot-password",
            json!({"email": "other@example.com"})
        )
        .await,
        202
    );
}

#[tokio::test]
async fn change_password_is_rate_limited_per_user() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_PER_MINUTE", "3")]).await;
    let ann = app.verified_owner("ann@example.com", "Acme").await;
    let body = json!({"current_password": "not my password", "new_password": "a brand new secret"});
    for _ in 0..3 {
        app.post(
            "/api/v1/auth/change-password",
            body.clone(),
            Some(&ann.access),
        )
        .await
        .expect(422);
    }
    let r = app
        .post("/api/v1/auth/change-password", body, Some(&ann.access))
        .await
        .problem(429, "Too many attempts; try again later");
    assert!((1..=60).contains(&retry_after(&r)));
}

/// An organization whose owner is signed in; verified or not.
async fn owner(app: &TestApp, email: &str, org: &str, verified: bool) -> Tokens {
    if verified {
        return app.verified_owner(email, org).await;
    }
    app.register(email, PASSWORD, org).await.expect(202);
    app.login(email, PASSWORD).await
}

async fn invite(app: &TestApp, by: &Tokens, email: &str) -> Reply {
    app.post(
        &format!("{ORG}/users/invite"),
        json!({"email": email, "role": "member"}),
        Some(&by.access),
    )
    .await
}

#[tokio::test]
async fn an_unverified_owner_cannot_invite() {
    let app = TestApp::spawn().await;
    let eve = owner(&app, "eve@example.com", "Evil", false).await;
    let before = app.count("select count(*) from email_outbox").await;
    let r = invite(&app, &eve, "victim@example.com").await.problem(
        403,
        "Verify your email address first: until then this account can only read",
    );
    assert!(r.str("/hint").contains("send-verification-email"), "{r:?}");
    assert_eq!(app.count("select count(*) from email_outbox").await, before);
    assert_eq!(app.count("select count(*) from invitations").await, 0);
}

#[tokio::test]
async fn invitations_are_limited_per_recipient_sender_and_organization() {
    let app = TestApp::spawn().await;
    settings(
        &app,
        "invites_per_recipient_per_hour = 2, invites_per_recipient_per_hour_all_organizations = 3, \
         invites_per_sender_per_hour = 4, invites_per_organization_per_hour = 5",
    )
    .await;
    let ann = owner(&app, "ann@acme.test", "Acme", true).await;
    // One victim: an invitation and resends add up.
    let inv = invite(&app, &ann, "victim@example.com").await.expect(201);
    let id = inv.str("/id");
    app.post(
        &format!("{ORG}/invitations/{id}/resend"),
        json!({}),
        Some(&ann.access),
    )
    .await
    .expect(200);
    let r = app
        .post(
            &format!("{ORG}/invitations/{id}/resend"),
            json!({}),
            Some(&ann.access),
        )
        .await
        .problem(
            429,
            "This organization has invited this address too often in the last hour; try again later",
        );
    assert!(
        (3500..=3600).contains(&retry_after(&r)),
        "{}",
        retry_after(&r)
    );
    // Acme's invitations do not lock another organization out: Bobco (the
    // real employer, say) still invites the address …
    let bob = owner(&app, "bob@bobco.test", "Bobco", true).await;
    invite(&app, &bob, "victim@example.com").await.expect(201);
    // … while all organizations together stop at their own, higher cap
    // (three here), which never stops an organization's first invitation of
    // the hour: Cyco's goes, its resend does not.
    let cy = owner(&app, "cy@cyco.test", "Cyco", true).await;
    let first = invite(&app, &cy, "victim@example.com").await.expect(201);
    app.post(
        &format!("{ORG}/invitations/{}/resend", first.str("/id")),
        json!({}),
        Some(&cy.access),
    )
    .await
    .problem(
        429,
        "This address has received too many invitations in the last hour; try again later",
    );
    // One mailbox, however spelled: Acme's limit holds for ann+tag too.
    invite(&app, &ann, "Victim+Again@example.com").await.problem(
        429,
        "This organization has invited this address too often in the last hour; try again later",
    );
    assert_eq!(
        app.count("select count(*) from email_outbox where template = 'invite-user' and to_email like 'victim%'")
            .await,
        4
    );
    // The sender: two emails so far, two more allowed.
    invite(&app, &ann, "one@example.com").await.expect(201);
    invite(&app, &ann, "two@example.com").await.expect(201);
    invite(&app, &ann, "three@example.com").await.problem(
        429,
        "You have sent too many invitations in the last hour; try again later",
    );
    // The organization: an admin of Acme has one left before the org's five.
    settings(&app, "invites_per_sender_per_hour = 100").await;
    invite(&app, &ann, "four@example.com").await.expect(201);
    invite(&app, &ann, "five@example.com").await.problem(
        429,
        "This organization has sent too many invitations in the last hour; try again later",
    );
    assert_eq!(
        app.count("select count(*) from invitations i join organizations o on o.id = i.organization_id where o.slug = 'acme'"
        )
        .await,
        4
    );
}

const INVISIBLE: &str = "must not contain control or invisible formatting characters";

fn field_message<'a>(r: &'a Reply, field: &str) -> &'a str {
    r.body["errors"]
        .as_array()
        .and_then(|errors| errors.iter().find(|e| e["field"] == field))
        .and_then(|e| e["message"].as_str())
        .unwrap_or_else(|| panic!("no error for {field}: {r:?}"))
}

#[tokio::test]
async fn names_cannot_hide_bidi_overrides_or_invisible_characters() {
    let app = TestApp::spawn().await;
    let r = app
        .register("ann@example.com", PASSWORD, "Acme\u{202E}moc.live")
        .await
        .expect(422);
    assert_eq!(field_message(&r, "organization_name"), INVISIBLE);
    let r = app
        .post(
            "/api/v1/auth/register",
            json!({"email": "ann@example.com", "password": PASSWORD, "full_name": "Ann\u{200B}", "organization_name": "Acme"}),
            None,
        )
        .await
        .expect(422);
    assert_eq!(field_message(&r, "full_name"), INVISIBLE);
    assert_eq!(app.count("select count(*) from organizations").await, 0);

    let ann = app.verified_owner("ann@example.com", "Acme").await;
    // The same rule and message from the database, for PATCH.
    let r = app
        .patch(
            ORG,
            json!({"name": "Acme \u{2066}Support\u{2069}"}),
            Some(&ann.access),
        )
        .await
        .expect(422);
    assert_eq!(field_message(&r, "name"), INVISIBLE);
    invite(&app, &ann, "new@example.com").await.expect(201);
    let mail = app.mail.last_to("new@example.com").await;
    let r = app
        .post(
            "/api/v1/auth/accept-invitation",
            json!({"token": mail.token(), "password": PASSWORD, "full_name": "\u{FEFF}Nia"}),
            None,
        )
        .await
        .expect(422);
    assert_eq!(field_message(&r, "full_name"), INVISIBLE);
    // And for any other path: the constraint.
    let err = app
        .db
        .admin()
        .await
        .execute(
            "update organizations set name = 'Acme' || chr(8238) || 'x'",
            &[],
        )
        .await
        .expect_err("a bidi override stored");
    assert_eq!(sqlstate(&err), "23514", "{err}");
}

#[tokio::test]
async fn rust_and_the_database_refuse_the_same_characters_in_names() {
    let db = crate::harness::TestDb::new().await;
    let refused_by_sql: Vec<u32> = db
        .admin()
        .await
        .query(
            "select cp from generate_series(1, 1114111) cp
              where cp not between 55296 and 57343
                and app.display_name_error('a' || chr(cp) || 'b') is not null
              order by cp",
            &[],
        )
        .await
        .expect("scan")
        .iter()
        .map(|r| r.get::<_, i32>(0) as u32)
        .collect();
    let refused_by_rust: Vec<u32> = (1..=0x10FFFFu32)
        .filter_map(char::from_u32)
        .filter(|c| vectra::domain::FullName::parse(&format!("a{c}b")).is_err())
        .map(|c| c as u32)
        .collect();
    assert_eq!(refused_by_sql, refused_by_rust);
    // The bidi overrides and isolates, zero-width characters, the BOM.
    for cp in [0x202E, 0x2066, 0x2069, 0x200B, 0x200D, 0xFEFF, 0x2028] {
        assert!(refused_by_sql.contains(&cp), "U+{cp:04X}");
    }
}

/// Every route that reads a JSON body, with a body that is otherwise valid
/// (routes without a body ignore one).
fn routes_with_bodies() -> Vec<(Method, String, Value)> {
    let id = Uuid::new_v4();
    vec![
        (
            Method::POST,
            "/api/v1/auth/register".into(),
            json!({"email": "x@example.com", "password": PASSWORD, "full_name": "X", "organization_name": "X"}),
        ),
        (
            Method::POST,
            "/api/v1/auth/login".into(),
            json!({"email": "x@example.com", "password": PASSWORD}),
        ),
        (
            Method::POST,
            "/api/v1/auth/refresh".into(),
            json!({"refresh_token": "abc"}),
        ),
        (
            Method::POST,
            "/api/v1/auth/change-password".into(),
            json!({"current_password": PASSWORD, "new_password": "a new password"}),
        ),
        (
            Method::POST,
            "/api/v1/auth/verify-email".into(),
            json!({"token": "abc"}),
        ),
        (
            Method::POST,
            "/api/v1/auth/resend-verification-email".into(),
            json!({"email": "x@example.com"}),
        ),
        (
            Method::POST,
            "/api/v1/auth/forgot-password".into(),
            json!({"email": "x@example.com"}),
        ),
        (
            Method::POST,
            "/api/v1/auth/reset-password".into(),
            json!({"token": "abc", "new_password": "a new password"}),
        ),
        (
            Method::POST,
            "/api/v1/auth/accept-invitation".into(),
            json!({"token": "abc", "password": PASSWORD, "full_name": "X"}),
        ),
        (
            Method::PATCH,
            ORG.into(),
            json!({"name": "X", "settings": {"timezone": "UTC"}}),
        ),
        (
            Method::POST,
            format!("{ORG}/users/invite"),
            json!({"email": "x@example.com", "role": "member"}),
        ),
        (
            Method::PATCH,
            format!("{ORG}/users/{id}/role"),
            json!({"role": "member"}),
        ),
    ]
}

/// Every route that reads the query string, with its parameters.
fn routes_with_queries() -> Vec<(String, Vec<&'static str>)> {
    vec![
        (
            format!("{ORG}/users"),
            vec!["page", "per_page", "role", "status", "search"],
        ),
        (format!("{ORG}/invitations"), vec!["page", "per_page"]),
        (
            format!("{ORG}/audit-log"),
            vec!["page", "per_page", "action"],
        ),
        ("/api/v1/user/sessions".into(), vec!["page", "per_page"]),
    ]
}

/// Every path with an id in it, and its method.
fn routes_with_ids() -> Vec<(Method, &'static str)> {
    vec![
        (Method::PATCH, "/api/v1/user/organizations/me/users/{}/role"),
        (Method::DELETE, "/api/v1/user/organizations/me/users/{}"),
        (
            Method::DELETE,
            "/api/v1/user/organizations/me/invitations/{}",
        ),
        (
            Method::POST,
            "/api/v1/user/organizations/me/invitations/{}/resend",
        ),
        (Method::DELETE, "/api/v1/user/sessions/{}"),
        (Method::GET, "/api/v1/admin/{}"),
    ]
}

/// `"ab"` with a NUL in the middle, in every string of `value` in turn.
fn with_nul_in_each_string(value: &Value) -> Vec<(String, Value)> {
    fn walk(v: &Value, path: String, out: &mut Vec<String>) {
        match v {
            Value::String(_) => out.push(path),
            Value::Object(m) => {
                for (k, x) in m {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(x, p, out);
                }
            }
            _ => {}
        }
    }
    let mut paths = Vec::new();
    walk(value, String::new(), &mut paths);
    paths
        .into_iter()
        .map(|path| {
            let mut v = value.clone();
            let mut slot = &mut v;
            for part in path.split('.') {
                slot = &mut slot[part];
            }
            *slot = Value::String("a\u{0}b".into());
            (path, v)
        })
        .collect()
}

#[tokio::test]
async fn a_nul_anywhere_is_a_clear_4xx_never_a_500() {
    let app = TestApp::spawn().await;
    let owner = app.verified_owner("owner@acme.test", "Acme").await;
    let mut tried = 0;
    for (method, path, body) in routes_with_bodies() {
        for (field, bad) in with_nul_in_each_string(&body) {
            let r = app
                .send_with(
                    app.http
                        .request(method.clone(), app.url(&path))
                        .bearer_auth(&owner.access)
                        .json(&bad),
                )
                .await;
            assert_eq!(r.status.as_u16(), 422, "{method} {path} {field}: {r:?}");
            assert_eq!(
                field_message(&r, &field),
                "must not contain NUL characters",
                "{method} {path}"
            );
            tried += 1;
        }
        // In a key, too.
        let r = app
            .send_with(
                app.http
                    .request(method.clone(), app.url(&path))
                    .bearer_auth(&owner.access)
                    .json(&json!({"a\u{0}": "x"})),
            )
            .await;
        assert_eq!(r.status.as_u16(), 422, "{method} {path} key: {r:?}");
    }
    for (path, params) in routes_with_queries() {
        for param in params {
            let r = app
                .get(&format!("{path}?{param}=a%00b"), Some(&owner.access))
                .await
                .expect(422);
            assert_eq!(field_message(&r, param), "must not contain NUL characters");
            tried += 1;
        }
        app.get(&format!("{path}?a%00=1"), Some(&owner.access))
            .await
            .expect(422);
    }
    for (method, template) in routes_with_ids() {
        let path = template.replace("{}", "a%00b");
        let r = app
            .send_with(
                app.http
                    .request(method.clone(), app.url(&path))
                    .bearer_auth(&owner.access)
                    .json(&json!({"role": "member"})),
            )
            .await;
        let status = r.status.as_u16();
        assert!((400..500).contains(&status), "{method} {path}: {r:?}");
        let r = r.expect(status);
        assert!(r.body["detail"].is_string());
        tried += 1;
    }
    assert_eq!(tried, 40, "every string field, query parameter and id");
    // Nothing was created along the way.
    assert_eq!(app.count("select count(*) from users").await, 1);
}

#[tokio::test]
async fn responses_carry_the_security_headers() {
    let app = TestApp::spawn().await;
    let login = app
        .post(
            "/api/v1/auth/login",
            json!({"email": "x@example.com", "password": "whatever it is"}),
            None,
        )
        .await
        .expect(401);
    let health = app.get("/health", None).await.expect(200);
    for r in [&login, &health] {
        assert_eq!(r.headers["x-content-type-options"], "nosniff");
        assert_eq!(r.headers["referrer-policy"], "no-referrer");
        assert!(r.headers.get("strict-transport-security").is_none());
    }
    assert_eq!(login.headers["cache-control"], "no-store");
    let ann = app.verified_owner("ann@example.com", "Acme").await;
    let tokens = app
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": ann.refresh}),
            None,
        )
        .await
        .expect(200);
    assert_eq!(tokens.headers["cache-control"], "no-store");

    let https = TestApp::spawn_with(&[("PUBLIC_BASE_URL", "https://app.vectra.test")]).await;
    let r = https.get("/health", None).await.expect(200);
    assert_eq!(
        r.headers["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
}

#[tokio::test]
async fn a_dba_login_with_the_reader_role_sees_one_tenant_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.db.admin().await;
    let seed = crate::harness::seed::two_orgs(&admin).await;
    let login = format!("dba_{}", Uuid::new_v4().simple());
    admin
        .batch_execute(&format!(
            "create role {login} login password 'dba-password' in role vectra_tenant_reader;
             grant connect on database {} to {login}",
            app.db.name
        ))
        .await
        .expect("a DBA's login");
    let dba = crate::harness::connect(&app.db.url_as(&login, "dba-password"))
        .await
        .expect("the DBA connects");
    let result = async {
        // No settings: nothing.
        let n: i64 = dba
            .query_one("select count(*) from users", &[])
            .await
            .expect("users")
            .get(0);
        assert_eq!(n, 0);
        // The session docs/security.md shows.
        dba.batch_execute("begin").await.expect("begin");
        dba.query(
            "select set_config('app.org_id', $1, true), set_config('app.role', 'owner', true)",
            &[&seed.a.id.to_string()],
        )
        .await
        .expect("settings");
        let orgs: Vec<Uuid> = dba
            .query("select organization_id from users", &[])
            .await
            .expect("users")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(orgs, vec![seed.a.id, seed.a.id]);
        let audit: i64 = dba
            .query_one("select count(*) from audit_log", &[])
            .await
            .expect("audit")
            .get(0);
        assert_eq!(audit, 2);
        dba.batch_execute("rollback").await.expect("rollback");
        for (what, sql) in [
            ("password hashes", "select password_hash from users"),
            ("email contexts", "select context from email_outbox"),
            ("sessions", "select * from sessions"),
            ("settings", "select * from auth.settings"),
            ("a write", "update campaigns set name = 'x'"),
            (
                "an insert",
                "insert into leads (organization_id, email) values (gen_random_uuid(), 'x@x.test')",
            ),
            (
                "a write function",
                "select app.update_organization('{\"name\": \"x\"}')",
            ),
            ("a member's writes", "set role vectra_member"),
            ("the definer", "set role vectra_definer"),
            ("the platform admin", "set role vectra_platform_admin"),
        ] {
            let err = dba.batch_execute(sql).await.expect_err(what);
            assert_eq!(
                err.as_db_error().map(|d| d.code().code().to_owned()),
                Some("42501".to_owned()),
                "{what}: {err}"
            );
        }
    }
    .await;
    drop(dba);
    admin
        .batch_execute(&format!(
            "revoke connect on database {} from {login}; drop role {login}",
            app.db.name
        ))
        .await
        .expect("drop the DBA's login");
    result
}
