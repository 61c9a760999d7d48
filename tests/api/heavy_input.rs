//! Expensive client input, as an attacker sends it: the caller is checked
//! before anything it sent costs work, HTML is bounded before it is parsed,
//! and the parsing runs off the async workers, so `/health` keeps answering.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Reply, TestApp, Tokens};
use crate::organization::team;

const SEND: &str = "/api/v1/user/notifications/send";
const IMPORT: &str = "/api/v1/user/leads/import";

fn html_note(body_html: String) -> serde_json::Value {
    json!({"type": "org_owner_to_members", "recipients": "all", "subject": "Hello",
           "body": "Hello", "body_html": body_html})
}

async fn send(app: &TestApp, who: &Tokens, body: serde_json::Value) -> Reply {
    app.post(SEND, body, Some(&who.access)).await
}

/// 150,000 nested `<div>` (750 kB, under the body limit) cost ammonia
/// minutes of CPU on the async worker before anyone was checked. Now a
/// member is refused before the body is looked at, an owner gets a 422
/// naming `body_html`, and `/health` answers meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_html_is_refused_cheaply_whoever_sends_it() {
    let app = TestApp::spawn().await;
    let acme = team(&app, "acme").await;
    let nested = "<div>".repeat(150_000);
    let started = Instant::now();
    let health = {
        let (http, url) = (app.http.clone(), app.url("/health"));
        tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            for _ in 0..20 {
                let t = Instant::now();
                let r = http.get(&url).send().await.expect("health");
                assert_eq!(r.status(), 200);
                slowest = slowest.max(t.elapsed());
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            slowest
        })
    };
    let (by_member, by_owner, by_member_again, by_owner_again) = tokio::join!(
        send(&app, &acme.member, html_note(nested.clone())),
        send(&app, &acme.owner, html_note(nested.clone())),
        send(&app, &acme.member, html_note(nested.clone())),
        send(&app, &acme.owner, html_note(nested.clone())),
    );
    for r in [by_member, by_member_again] {
        r.problem(403, "This action requires one of the roles: owner, admin");
    }
    for r in [by_owner, by_owner_again] {
        r.invalid(&[("body_html", "must be HTML of at most 100000 characters")]);
    }
    let slowest = health.await.expect("health task");
    // Not a benchmark: a frozen API took 22 s; these bounds only catch that.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert!(slowest < Duration::from_secs(2), "/health took {slowest:?}");

    // Under the size bound, nesting is what is bounded: 5,000 levels are
    // refused as such, the ordinary depth of an email passes.
    send(&app, &acme.owner, html_note("<div>".repeat(5_000)))
        .await
        .invalid(&[("body_html", "must not nest elements more than 100 deep")]);
    let ok = format!("{}Hi{}", "<div>".repeat(30), "</div>".repeat(30));
    send(&app, &acme.owner, html_note(ok)).await.expect(202);
    assert_eq!(app.count("select count(*) from notifications").await, 1);
}

/// The order of the checks, seen from outside: the caller's right to send
/// is decided before the body is read, so a member (or a signed-out
/// session) learns nothing about its body and costs nothing.
#[tokio::test]
async fn the_caller_is_checked_before_the_body() {
    let app = TestApp::spawn().await;
    let acme = team(&app, "acme").await;
    // A body full of mistakes: the member hears only that it may not send.
    let bad = json!({"type": "org_to_prospects", "recipients": 7, "subject": "",
                     "body": "", "body_html": "<b>".repeat(20_000), "extra": true});
    send(&app, &acme.member, bad.clone())
        .await
        .problem(403, "This action requires one of the roles: owner, admin");
    send(&app, &acme.manager, bad.clone())
        .await
        .problem(403, "This action requires one of the roles: owner, admin");
    // The owner, once signed out: the session is dead, whatever the body.
    let owner = app.login("owner@acme.test", crate::harness::PASSWORD).await;
    app.post("/api/v1/auth/logout", json!({}), Some(&owner.access))
        .await
        .expect(204);
    send(&app, &owner, bad.clone())
        .await
        .problem(401, "Session revoked");
    // The same for an import: a member's garbage is a 403, not a 400.
    let r = app
        .send_with(
            app.http
                .post(app.url(IMPORT))
                .bearer_auth(&acme.member.access)
                .header("content-type", "application/json")
                .body("[{\"email\": ".repeat(10_000)),
        )
        .await;
    r.problem(
        403,
        "This action requires one of the roles: owner, admin, manager",
    );
    // A manager's is read (off the async workers) and answered for what it is.
    let r = app
        .send_with(
            app.http
                .post(app.url(IMPORT))
                .bearer_auth(&acme.manager.access)
                .header("content-type", "application/json")
                .body("[{\"email\": ".repeat(10_000)),
        )
        .await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.str("/detail").starts_with("Malformed JSON"), "{r:?}");
    // And the owner's real body, named field by field.
    let owner = app.login("owner@acme.test", crate::harness::PASSWORD).await;
    send(&app, &owner, bad).await.invalid(&[
        (
            "extra",
            "is not a known field (expected type, recipients, subject, body, body_html, action_url, action_text, organization_ids)",
        ),
        ("subject", "must be 1 to 200 characters on one line"),
        ("body", "must be 1 to 20000 characters"),
        ("body_html", "must not nest elements more than 100 deep"),
        (
            "recipients",
            "must be \"all\" or a list of 1 to 1000 email addresses",
        ),
    ]);
    assert_eq!(app.count("select count(*) from notifications").await, 0);
}
