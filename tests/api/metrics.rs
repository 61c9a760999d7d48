//! `GET /metrics` as Prometheus reads it: every request counted under the
//! route template that matched it, whatever answered (the handler, the
//! route's 405, an extractor's 400, the body limit's 413), raw paths never
//! as labels, latency histograms with their buckets, and a scrape that
//! `promtool check metrics` accepts.

use std::io::Write;
use std::process::{Command, Stdio};

use vectra::metrics::{
    LATENCY_BUCKETS, REQUEST_LATENCY, REQUESTS, Sample, TOKEN_CHECKS, UNMATCHED, parse,
};

use crate::harness::TestApp;

const TOKEN: &str = "metrics-token-0123456789abcdef";
const MAX_BODY: usize = 4096;

/// The one sample of `name` with exactly these labels (any order).
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && s.labels.len() == labels.len()
                && labels.iter().all(|(k, v)| s.label(k) == Some(v))
        })
        .map(|s| s.value)
}

fn requests(samples: &[Sample], method: &str, route: &str, status: &str) -> Option<f64> {
    value(
        samples,
        REQUESTS,
        &[("method", method), ("route", route), ("status", status)],
    )
}

#[tokio::test]
async fn every_request_is_labelled_with_its_route_and_timed_in_buckets() {
    let app = TestApp::spawn_with(&[
        ("METRICS_TOKEN", TOKEN),
        ("MAX_BODY_BYTES", &MAX_BODY.to_string()),
    ])
    .await;
    let owner = app.verified_owner("owner@metrics.test", "Metrics").await;

    app.get("/health", None).await.expect(200);
    app.get("/health", None).await.expect(200);
    // A real route, a method it does not serve: 405 from the route itself.
    app.send_with(app.http.delete(app.url("/api/v1/auth/login")))
        .await
        .expect(405);
    // A real route, a path parameter that is not a UUID: the extractor's 422.
    app.get("/api/v1/user/leads/not-a-uuid", Some(&owner.access))
        .await
        .expect(422);
    // A real route, a body over MAX_BODY_BYTES: the body limit's 413, before
    // any handler runs.
    app.send_raw(
        "/api/v1/auth/login",
        &" ".repeat(MAX_BODY + 1),
        "application/json",
    )
    .await
    .expect(413);
    // No route: one `unmatched` series, whatever the path or method.
    app.get("/no/such/path/1", None).await.expect(404);
    app.send_with(app.http.delete(app.url("/no/such/path/2")))
        .await
        .expect(404);

    let r = app.get("/metrics", Some(TOKEN)).await.expect(200);
    let text = r.body.as_str().expect("the exposition text").to_owned();
    let samples = parse(&text);

    for (method, route, status) in [
        ("GET", "/health", "200"),
        ("DELETE", "/api/v1/auth/login", "405"),
        ("GET", "/api/v1/user/leads/{lead_id}", "422"),
        ("POST", "/api/v1/auth/login", "413"),
        ("GET", UNMATCHED, "404"),
        ("DELETE", UNMATCHED, "404"),
    ] {
        let expected = if route == "/health" { 2.0 } else { 1.0 };
        assert_eq!(
            requests(&samples, method, route, status),
            Some(expected),
            "{method} {route} {status} in\n{text}"
        );
    }
    assert!(
        samples
            .iter()
            .filter_map(|s| s.label("route"))
            .all(|route| route == UNMATCHED
                || !route.contains("no/such") && !route.contains("not-a-uuid")),
        "a raw path became a label:\n{text}"
    );

    // The histogram: every bucket, cumulative, `+Inf` equal to `_count`
    // and to the requests counted for that method and route.
    assert!(
        text.contains(&format!("# TYPE {REQUEST_LATENCY} histogram")),
        "{text}"
    );
    for (method, route) in [
        ("GET", "/health"),
        ("DELETE", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/login"),
        ("GET", "/api/v1/user/leads/{lead_id}"),
        ("GET", UNMATCHED),
    ] {
        let counted: f64 = samples
            .iter()
            .filter(|s| {
                s.name == REQUESTS
                    && s.label("method") == Some(method)
                    && s.label("route") == Some(route)
            })
            .map(|s| s.value)
            .sum();
        let mut previous = 0.0;
        let mut bounds: Vec<String> = LATENCY_BUCKETS.iter().map(|b| b.to_string()).collect();
        bounds.push("+Inf".to_owned());
        for le in &bounds {
            let n = value(
                &samples,
                &format!("{REQUEST_LATENCY}_bucket"),
                &[("method", method), ("route", route), ("le", le)],
            )
            .unwrap_or_else(|| panic!("no bucket le={le} for {method} {route} in\n{text}"));
            assert!(
                n >= previous,
                "{method} {route}: buckets not cumulative at le={le}"
            );
            previous = n;
        }
        let count = value(
            &samples,
            &format!("{REQUEST_LATENCY}_count"),
            &[("method", method), ("route", route)],
        );
        assert_eq!(count, Some(previous), "{method} {route}: _count and +Inf");
        assert_eq!(
            previous, counted,
            "{method} {route}: observations and requests"
        );
    }

    promtool_accepts(&text);
}

/// An access token is verified once, then remembered (only its expiry
/// checked) until it expires; the database still re-checks its session on
/// every request, so a remembered token of a revoked session is refused.
/// Each check is counted by outcome.
#[tokio::test]
async fn access_tokens_are_verified_once_remembered_and_counted() {
    let app = TestApp::spawn_with(&[("METRICS_TOKEN", TOKEN)]).await;
    let owner = app.verified_owner("owner@tokens.test", "Tokens").await;
    let scrape = || async {
        let r = app.get("/metrics", Some(TOKEN)).await.expect(200);
        let text = r.body.as_str().expect("the exposition text").to_owned();
        let samples = parse(&text);
        let checks = ["remembered", "verified", "refused"]
            .map(|o| value(&samples, TOKEN_CHECKS, &[("outcome", o)]).unwrap_or(0.0));
        let entries = value(&samples, "vectra_access_token_cache_entries", &[]);
        (checks, entries, text)
    };
    let (before, _, _) = scrape().await;

    for _ in 0..3 {
        let r = app
            .get("/api/v1/user/me", Some(&owner.access))
            .await
            .expect(200);
        assert_eq!(r.str("/email"), "owner@tokens.test");
    }
    let (signed, sig) = owner.access.rsplit_once('.').expect("a JWT");
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{signed}.{flipped}{}", &sig[1..]);
    app.get("/api/v1/user/me", Some(&tampered))
        .await
        .problem(401, "Invalid or expired access token");
    app.post(
        "/api/v1/auth/logout",
        serde_json::json!({}),
        Some(&owner.access),
    )
    .await
    .expect(204);
    // Remembered, and refused by the database: the session is revoked.
    app.get("/api/v1/user/me", Some(&owner.access))
        .await
        .expect(401);

    let (after, entries, text) = scrape().await;
    let delta: Vec<f64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    // remembered: two of the three reads, the logout, the last read;
    // verified: the first read; refused: the tampered token.
    assert_eq!(delta, [4.0, 1.0, 1.0], "{text}");
    assert!(entries.is_some_and(|n| n >= 1.0), "{text}");
    promtool_accepts(&text);
}

/// `promtool check metrics` (Debian's `prometheus` package) lints the
/// scrape: HELP and TYPE for every family, naming conventions. Required in
/// CI (`CI=true`); elsewhere the check is skipped, with a note, when
/// promtool is not installed.
fn promtool_accepts(text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "promtool is not installed: CI must check the scrape (apt-get install prometheus)"
            );
            eprintln!("note: promtool not installed, `promtool check metrics` skipped");
            return;
        }
        Err(e) => panic!("promtool: {e}"),
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write the scrape to promtool");
    let out = child.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool check metrics: {}\n{}{}\nscrape:\n{text}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
