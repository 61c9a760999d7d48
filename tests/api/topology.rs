//! The service as production runs it: behind proxies, several instances on
//! one database, browser clients on other origins, a pooler, and a stop in
//! the middle of traffic. (The full arrangement, with nginx and PgBouncer,
//! is `scripts/topology-test.sh` in CI.)

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{PASSWORD, Reply, TestApp};

const LOGIN: &str = "/api/v1/auth/login";

async fn login_from(
    app: &TestApp,
    base: &str,
    forwarded_for: Option<&str>,
    password: &str,
) -> Reply {
    let mut request = app
        .http
        .post(format!("{base}{LOGIN}"))
        .json(&json!({"email": "ann@acme.test", "password": password}));
    if let Some(xff) = forwarded_for {
        request = request.header("x-forwarded-for", xff);
    }
    app.send_with(request).await
}

/// The address each session was opened from, newest first.
async fn session_addresses(app: &TestApp) -> Vec<String> {
    let mut rows: Vec<(String, String)> = app
        .db
        .admin()
        .await
        .query(
            "select host(ip), created_at::text from sessions order by created_at desc",
            &[],
        )
        .await
        .expect("sessions")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1));
    rows.into_iter().map(|(ip, _)| ip).collect()
}

#[tokio::test]
async fn the_client_address_is_read_from_trusted_proxies_only() {
    // The test connects from 127.0.0.1: that is the trusted proxy here.
    let app = TestApp::spawn_with(&[("TRUSTED_PROXIES", "127.0.0.1/32, 10.0.0.0/8")]).await;
    app.verified_owner("ann@acme.test", "Acme").await;
    let base = app.url("");
    for (header, expected) in [
        ("198.51.100.7", "198.51.100.7"),
        // A client's own entry on the left changes nothing.
        ("203.0.113.66, 198.51.100.8", "198.51.100.8"),
        // Two trusted proxies on the way.
        ("198.51.100.9, 10.1.2.3", "198.51.100.9"),
        // Unreadable: the peer, and no error.
        ("not an address", "127.0.0.1"),
    ] {
        login_from(&app, &base, Some(header), PASSWORD)
            .await
            .expect(200);
        assert_eq!(session_addresses(&app).await[0], expected, "{header}");
    }
    // RFC 7239 Forwarded.
    let r = app
        .send_with(
            app.http
                .post(app.url(LOGIN))
                .header("forwarded", r#"for="[2001:db8::7]:4711";proto=https"#)
                .json(&json!({"email": "ann@acme.test", "password": PASSWORD})),
        )
        .await;
    r.expect(200);
    assert_eq!(session_addresses(&app).await[0], "2001:db8::7");

    // Without TRUSTED_PROXIES, the header is anyone's to write: ignored.
    let plain = TestApp::spawn().await;
    plain.verified_owner("ann@acme.test", "Acme").await;
    login_from(&plain, &plain.url(""), Some("198.51.100.7"), PASSWORD)
        .await
        .expect(200);
    assert_eq!(session_addresses(&plain).await[0], "127.0.0.1");
}

/// Two clients behind one proxy have a limit each; a client cannot escape
/// its own by writing another address on the left.
#[tokio::test]
async fn each_client_behind_a_proxy_has_its_own_limit() {
    let app = TestApp::spawn_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("RATE_LIMIT_PER_MINUTE", "3"),
    ])
    .await;
    let base = app.url("");
    for _ in 0..3 {
        login_from(&app, &base, Some("198.51.100.1"), "wrong password!")
            .await
            .expect(401);
    }
    let r = login_from(&app, &base, Some("198.51.100.1"), "wrong password!").await;
    r.problem(429, "Too many attempts; try again later");
    // The same client pretending to be another, as nginx would forward it.
    login_from(
        &app,
        &base,
        Some("198.51.100.2, 198.51.100.1"),
        "wrong password!",
    )
    .await
    .expect(429);
    // Another client is not affected.
    login_from(&app, &base, Some("198.51.100.2"), "wrong password!")
        .await
        .expect(401);
}

/// Limits are the deployment's, not an instance's: a client going round
/// robin over instances is limited at the same count as against one.
#[tokio::test]
async fn limits_hold_across_instances() {
    let limits = [
        ("RATE_LIMIT_PER_MINUTE", "4"),
        ("LOGIN_FAILURES_BEFORE_BACKOFF", "100"),
    ];
    let app = TestApp::spawn_with(&limits).await;
    let bases = [
        app.url(""),
        app.another_instance(&limits).await,
        app.another_instance(&limits).await,
    ];
    // Per address: four attempts in all, then 429 wherever the fifth goes.
    for i in 0..4 {
        login_from(&app, &bases[i % 3], None, "wrong password!")
            .await
            .expect(401);
    }
    for base in &bases {
        login_from(&app, base, None, "wrong password!")
            .await
            .problem(429, "Too many attempts; try again later");
    }

    // The login backoff per email: two free failures in all, then a wait,
    // whichever instance the next attempt reaches.
    let limits = [
        ("RATE_LIMIT_PER_MINUTE", "1000"),
        ("LOGIN_FAILURES_BEFORE_BACKOFF", "2"),
    ];
    let app = TestApp::spawn_with(&limits).await;
    app.verified_owner("ann@acme.test", "Acme").await;
    let bases = [
        app.url(""),
        app.another_instance(&limits).await,
        app.another_instance(&limits).await,
    ];
    for base in &bases {
        login_from(&app, base, None, "wrong password!")
            .await
            .expect(401);
    }
    for base in &bases {
        let r = login_from(&app, base, None, PASSWORD)
            .await
            .problem(429, "Too many attempts; try again later");
        assert_eq!(r.headers["retry-after"], "1");
    }
    // Once the wait is over, the right password works, on any instance,
    // and clears the count for all of them.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    login_from(&app, &bases[2], None, PASSWORD)
        .await
        .expect(200);
    login_from(&app, &bases[0], None, "wrong password!")
        .await
        .expect(401);
    login_from(&app, &bases[1], None, PASSWORD)
        .await
        .expect(200);
}

#[tokio::test]
async fn browsers_on_allowed_origins_get_cors_and_others_nothing() {
    let app = TestApp::spawn_with(&[(
        "CORS_ALLOWED_ORIGINS",
        "https://app.example.com, http://localhost:5173",
    )])
    .await;
    let preflight = |origin: &str| {
        app.http
            .request(
                reqwest::Method::OPTIONS,
                app.url("/api/v1/user/notifications/send"),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type, idempotency-key",
            )
    };
    let r = preflight("https://app.example.com")
        .send()
        .await
        .expect("preflight");
    assert!(r.status().is_success(), "{}", r.status());
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for name in ["authorization", "content-type", "idempotency-key"] {
        assert!(allowed.contains(name), "{allowed}");
    }
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert_eq!(h["access-control-max-age"], "600");
    assert!(h.get("access-control-allow-credentials").is_none());
    // Another origin: no permission at all.
    let r = preflight("https://evil.example")
        .send()
        .await
        .expect("preflight");
    assert!(r.headers().get("access-control-allow-origin").is_none());
    // A real request, and an error: both readable by the page.
    for (path, status) in [
        ("/health", StatusCode::OK),
        ("/api/v1/user/me", StatusCode::UNAUTHORIZED),
    ] {
        let r = app
            .http
            .get(app.url(path))
            .header("origin", "http://localhost:5173")
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), status);
        assert_eq!(
            r.headers()["access-control-allow-origin"],
            "http://localhost:5173"
        );
        let exposed = r.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .to_lowercase();
        assert!(
            exposed.contains("x-request-id") && exposed.contains("retry-after"),
            "{exposed}"
        );
    }
    // Unset: no CORS headers whatever the origin.
    let plain = TestApp::spawn().await;
    let r = plain
        .http
        .get(plain.url("/health"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .expect("request");
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn bad_topology_settings_stop_the_start_naming_the_variable() {
    let db = crate::harness::TestDb::new().await;
    for (var, value) in [
        ("TRUSTED_PROXIES", "10.0.0.0/33"),
        ("TRUSTED_PROXIES", "nginx"),
        ("CORS_ALLOWED_ORIGINS", "*"),
        ("CORS_ALLOWED_ORIGINS", "https://app.example.com/path"),
        ("CORS_ALLOWED_ORIGINS", "app.example.com"),
        ("DATABASE_PREPARED_STATEMENTS", "maybe"),
        ("DRAIN_DELAY", "soon"),
    ] {
        let url = db.authenticator_url();
        let err = vectra::config::Config::from_lookup(|name| match name {
            "DATABASE_URL" => Some(url.clone()),
            "JWT_SECRET" => Some(crate::harness::JWT_SECRET.to_owned()),
            n if n == var => Some(value.to_owned()),
            _ => None,
        })
        .expect_err(value);
        assert_eq!(err.var, var, "{value}: {err}");
    }
}

/// On SIGTERM: `/ready` answers 503 at once while requests are still
/// served for `DRAIN_DELAY`, then the listener closes, in bounded time.
#[tokio::test]
async fn a_stopping_instance_drains() {
    let db = crate::harness::TestDb::new().await;
    let app = vectra::app::Application::build(
        db.config_with(&[("DRAIN_DELAY", "1s"), ("SHUTDOWN_TIMEOUT", "5s")]),
    )
    .await
    .expect("build");
    let base = format!("http://{}", app.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{base}/ready"))
            .send()
            .await
            .expect("ready")
            .status(),
        200
    );
    stop.send(()).expect("signal");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let ready = http
        .get(format!("{base}/ready"))
        .send()
        .await
        .expect("ready");
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = ready.json().await.expect("problem");
    assert_eq!(
        body["detail"],
        "Shutting down: finishing the requests in flight"
    );
    // Still serving everything else meanwhile.
    let r = http
        .get(format!("{base}/api/v1/openapi.json"))
        .send()
        .await
        .expect("served");
    assert_eq!(r.status(), 200);
    // Then closed, well within DRAIN_DELAY + SHUTDOWN_TIMEOUT.
    tokio::time::timeout(Duration::from_secs(6), server)
        .await
        .expect("stopped in bounded time")
        .expect("join")
        .expect("served");
    assert!(http.get(format!("{base}/health")).send().await.is_err());
}

/// Behind a transaction-mode pooler: unnamed statements, nothing
/// session-level. The whole of a tenant's flow works the same.
#[tokio::test]
async fn the_service_works_without_prepared_statements() {
    let app = TestApp::spawn_with(&[("DATABASE_PREPARED_STATEMENTS", "false")]).await;
    let acme = crate::organization::team(&app, "acme").await;
    app.post(
        "/api/v1/user/campaigns",
        json!({"name": "Spring"}),
        Some(&acme.manager.access),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/user/organizations/me/users/invite",
        json!({"email": "new@acme.test", "role": "member"}),
        Some(&acme.owner.access),
    )
    .await
    .expect(201);
    let users = app
        .get(
            "/api/v1/user/organizations/me/users",
            Some(&acme.admin.access),
        )
        .await
        .expect(200);
    assert_eq!(users.body["total"], 4);
    app.get("/api/v1/user/me", Some(&acme.member.access))
        .await
        .expect(200);
    // A refusal still rolls back and answers as usual.
    app.post(
        "/api/v1/user/campaigns",
        json!({"name": "Nope"}),
        Some(&acme.member.access),
    )
    .await
    .problem(
        403,
        "This action requires one of the roles: owner, admin, manager",
    );
}

/// What a pooler needs, checked on the one connection it would share: the
/// service's calls leave no named statement on it without prepared
/// statements (and do with them: the positive control).
#[tokio::test]
async fn without_prepared_statements_no_named_statement_is_left() {
    use vectra::db::{Actor, Db, Statements, calls, pool};
    let test_db = crate::harness::TestDb::new().await;
    let seed = crate::harness::seed::two_orgs(&test_db.admin().await).await;
    let actor = Actor::Member(seed.a.owner_claims());
    for (statements, left) in [
        (
            Statements::Unnamed {
                statement_timeout_ms: Some(5_000),
            },
            0,
        ),
        (Statements::Prepared, 1),
    ] {
        let db = Db::with(
            pool(&test_db.authenticator_url(), 1).expect("pool"),
            statements,
        );
        calls::my_organization(&db, &actor)
            .await
            .expect("organization");
        calls::list_users(&db, &actor, 1, 20, None, None, None, None)
            .await
            .expect("users");
        let rows = db
            .query_typed(
                &actor,
                "select count(*)::int from pg_prepared_statements where statement ilike 'select app.list_users(%'",
                &[],
            )
            .await
            .expect("count");
        let named: i32 = rows[0].get(0);
        assert_eq!(named, left, "{statements:?}");
    }
}
