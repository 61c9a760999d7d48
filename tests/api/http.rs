//! The HTTP skeleton: probes, request ids, problem+json for every error.

use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::TestApp;

async fn problem(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert_eq!(content_type, "application/problem+json", "status {status}");
    let body: Value = response.json().await.expect("json body");
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:vectra:problem:")),
        "{body}"
    );
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    (status, body)
}

#[tokio::test]
async fn health_answers_without_the_database() {
    let app = TestApp::spawn().await;
    let r = app
        .http
        .get(app.url("/health"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body, serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn ready_reports_the_schema_version() {
    let app = TestApp::spawn().await;
    let r = app
        .http
        .get(app.url("/ready"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("json");
    let expected = vectra::db::migrate::latest_version();
    // The newest of sql/migrations/V<n>__*.sql, and no number skipped.
    let mut versions: Vec<u32> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/sql/migrations"))
            .expect("sql/migrations")
            .filter_map(|e| {
                let name = e.expect("entry").file_name().into_string().expect("utf-8");
                name.strip_prefix('V')?.split_once("__")?.0.parse().ok()
            })
            .collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=versions.len() as u32).collect::<Vec<_>>());
    assert_eq!(expected, versions.len() as i64);
    assert_eq!(body["status"], "ready");
    assert_eq!(body["schema_version"], expected);
}

#[tokio::test]
async fn ready_fails_when_migrations_are_missing() {
    let app = TestApp::spawn().await;
    let latest = vectra::db::migrate::latest_version() as i32;
    app.db
        .admin()
        .await
        .execute(
            "delete from refinery_schema_history where version = $1",
            &[&latest],
        )
        .await
        .expect("forget the last migration");
    let r = app
        .http
        .get(app.url("/ready"))
        .send()
        .await
        .expect("request");
    let (status, body) = problem(r).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("vectra migrate"),
        "{body}"
    );
}

#[tokio::test]
async fn ready_fails_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.db
        .admin()
        .await
        .batch_execute(&format!(
            "alter database {} connection limit 0; select pg_terminate_backend(pid) from pg_stat_activity
              where datname = current_database() and usename = 'vectra_authenticator'",
            app.db.name
        ))
        .await
        .expect("lock out the service");
    let r = app
        .http
        .get(app.url("/ready"))
        .send()
        .await
        .expect("request");
    let (status, body) = problem(r).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["detail"], "The database is not reachable");
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_keeps_the_callers() {
    let app = TestApp::spawn().await;
    let r = app
        .http
        .get(app.url("/health"))
        .send()
        .await
        .expect("request");
    let generated = r.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");
    let r = app
        .http
        .get(app.url("/health"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .expect("request");
    assert_eq!(r.headers()["x-request-id"], "trace-me-42");
    // A value that is too long, or carries anything but a trace id's
    // characters, is not echoed: the service makes its own.
    for bad in [
        "x".repeat(3_000),
        "<script>alert(1)</script>".to_owned(),
        "a b".to_owned(),
        "naïve".to_owned(),
    ] {
        let r = app
            .http
            .get(app.url("/health"))
            .header("x-request-id", bad.as_str())
            .send()
            .await
            .expect("request");
        let id = r.headers()["x-request-id"].to_str().expect("ascii");
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{bad:.20} -> {id}");
    }
    // Two ids: neither is chosen.
    let r = app
        .http
        .get(app.url("/health"))
        .header("x-request-id", "trace-a")
        .header("x-request-id", "trace-b")
        .send()
        .await
        .expect("request");
    let ids: Vec<_> = r.headers().get_all("x-request-id").iter().collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert!(
        uuid::Uuid::parse_str(ids[0].to_str().expect("ascii")).is_ok(),
        "{ids:?}"
    );
    let longest = "a".repeat(vectra::http::middleware::MAX_REQUEST_ID_CHARS);
    let r = app
        .http
        .get(app.url("/health"))
        .header("x-request-id", longest.as_str())
        .send()
        .await
        .expect("request");
    assert_eq!(r.headers()["x-request-id"], longest.as_str());
}

/// A database that is down answers 503 with `Retry-After` on the API too, so
/// a balancer and a client know to retry (not a 500).
#[tokio::test]
async fn api_requests_answer_503_with_retry_after_while_the_database_is_gone() {
    let app = TestApp::spawn().await;
    let owner = app.verified_owner("ann@acme.test", "Acme").await;
    app.db
        .admin()
        .await
        .batch_execute(&format!(
            "alter database {} connection limit 0; select pg_terminate_backend(pid) from pg_stat_activity
              where datname = current_database() and usename = 'vectra_authenticator'",
            app.db.name
        ))
        .await
        .expect("lock out the service");
    for _ in 0..3 {
        for r in [
            app.get("/api/v1/user/me", Some(&owner.access)).await,
            app.post(
                "/api/v1/auth/login",
                serde_json::json!({"email": "ann@acme.test", "password": crate::harness::PASSWORD}),
                None,
            )
            .await,
        ] {
            let r = r.problem(503, "The database is unavailable; try again shortly.");
            assert_eq!(r.headers["retry-after"], "5", "{r:?}");
        }
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_problem_json() {
    let app = TestApp::spawn().await;
    let r = app
        .http
        .get(app.url("/api/v1/nowhere"))
        .send()
        .await
        .expect("request");
    let (status, body) = problem(r).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["detail"], "No route for GET /api/v1/nowhere");

    let r = app
        .http
        .delete(app.url("/health"))
        .send()
        .await
        .expect("request");
    let allow = r
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let (status, _) = problem(r).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(allow.contains("GET"), "{allow}");
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let app = TestApp::spawn().await;
    let limit = app.db.config().max_body_bytes;
    let r = app
        .http
        .post(app.url("/health"))
        .header("content-type", "application/json")
        .body(vec![b' '; limit + 1])
        .send()
        .await
        .expect("request");
    let (status, _) = problem(r).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn the_server_stops_when_asked() {
    let db = crate::harness::TestDb::new().await;
    let app = vectra::app::Application::build(db.config())
        .await
        .expect("build");
    let addr = app.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let r = reqwest::get(format!("http://{addr}/health"))
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::OK);
    stop.send(()).expect("signal");
    tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("graceful shutdown finished")
        .expect("join")
        .expect("served without error");
    assert!(
        reqwest::get(format!("http://{addr}/health")).await.is_err(),
        "still serving"
    );
}
