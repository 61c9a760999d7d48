//! Races and lifecycles: two owners acting on each other at once, several
//! outbox workers on one database, a claim left by a dead worker, retries
//! that run out, a request that outlives its timeout, `vectra serve` on an
//! empty database, and an upgrade from the previous migration with data in it.
//!
//! Where requests must really overlap, a transaction of the test's holds the
//! rows they need (the gate) until every one of them waits for it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use uuid::Uuid;
use vectra::email::{Mailer, Outbox, OutboxSettings, Templates};
use vectra::metrics::Metrics;

use crate::harness::smtp::SmtpSink;
use crate::harness::{JWT_SECRET, PASSWORD, PLATFORM_ADMIN_EMAIL, Reply, TestApp, TestDb, Tokens};

const ORG: &str = "/api/v1/user/organizations/me";

// ---------------------------------------------------------------------------
// 1. Two owners demoting or removing each other at once
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Move {
    Demote,
    Remove,
}

impl Move {
    fn success(self) -> u16 {
        match self {
            Move::Demote => 200,
            Move::Remove => 204,
        }
    }
}

async fn act(app: &TestApp, by: &Tokens, target: Uuid, m: Move) -> Reply {
    match m {
        Move::Demote => {
            app.patch(
                &format!("{ORG}/users/{target}/role"),
                json!({"role": "admin"}),
                Some(&by.access),
            )
            .await
        }
        Move::Remove => {
            app.delete(&format!("{ORG}/users/{target}"), Some(&by.access))
                .await
        }
    }
}

async fn org_of(db: &TestDb, user: Uuid) -> Uuid {
    db.admin()
        .await
        .query_one("select organization_id from users where id = $1", &[&user])
        .await
        .expect("the user's organization")
        .get(0)
}

/// Ann and Bob, the two owners of an organization, each demote or remove the
/// other at the same moment: both requests are past their checks and wait
/// for the owners' row locks when the gate opens. One wins; the other is
/// refused as no longer an owner, and one active owner remains.
#[tokio::test]
async fn two_owners_demoting_or_removing_each_other_at_once_leave_one_owner() {
    let app = TestApp::spawn().await;
    let duels = [
        (Move::Demote, Move::Demote),
        (Move::Remove, Move::Remove),
        (Move::Demote, Move::Remove),
        (Move::Remove, Move::Demote),
    ];
    for (i, (ann_move, bob_move)) in duels.into_iter().enumerate() {
        let ann = app
            .verified_owner(&format!("ann@duel{i}.test"), &format!("Duel {i}"))
            .await;
        let bob =
            crate::organization::join(&app, &ann, &format!("bob@duel{i}.test"), "owner").await;
        let org = org_of(&app.db, ann.user_id).await;

        let gate = app.db.admin().await;
        gate.batch_execute("begin").await.expect("begin");
        let held = gate
            .execute(
                "select 1 from users where organization_id = $1 and role = 'owner' and status = 'active' for update",
                &[&org],
            )
            .await
            .expect("hold the owners");
        assert_eq!(held, 2, "duel {i}: two owners to begin with");
        let (a, b, ()) = tokio::join!(
            act(&app, &ann, bob.user_id, ann_move),
            act(&app, &bob, ann.user_id, bob_move),
            async {
                app.db.wait_for_lock_waiters(2).await;
                gate.batch_execute("commit").await.expect("open the gate");
            }
        );
        let label = format!("duel {i}: ann {ann_move:?} bob → {a:?}; bob {bob_move:?} ann → {b:?}");
        let (winner, winner_move, won, loser, lost) =
            match (a.status.is_success(), b.status.is_success()) {
                (true, false) => (&ann, ann_move, a, &bob, b),
                (false, true) => (&bob, bob_move, b, &ann, a),
                _ => panic!("exactly one may succeed; {label}"),
            };
        won.expect(winner_move.success());
        // The loser waited for the winner's locks, then found its own
        // account changed under its token.
        lost.problem(401, "Token no longer matches the account");

        let admin = app.db.admin().await;
        let owners: Vec<Uuid> = admin
            .query(
                "select id from users where organization_id = $1 and role = 'owner' and status = 'active'",
                &[&org],
            )
            .await
            .expect("owners")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(owners, [winner.user_id], "{label}");
        let (role, status): (String, String) = admin
            .query_one(
                "select role::text, status::text from users where id = $1",
                &[&loser.user_id],
            )
            .await
            .map(|r| (r.get(0), r.get(1)))
            .expect("the loser");
        match winner_move {
            Move::Demote => assert_eq!((role.as_str(), status.as_str()), ("admin", "active")),
            Move::Remove => assert_eq!(status, "removed", "{label}"),
        }
        let changes: i64 = admin
            .query_one(
                "select count(*) from audit_log where organization_id = $1
                    and action in ('user.role_change', 'user.remove')",
                &[&org],
            )
            .await
            .expect("audit")
            .get(0);
        assert_eq!(changes, 1, "one change happened and was logged; {label}");
        // The winner is still an owner in every sense: it can act as one.
        app.get(&format!("{ORG}/audit-log"), Some(&winner.access))
            .await
            .expect(200);
    }
}

// ---------------------------------------------------------------------------
// 3., 4. Outbox workers
// ---------------------------------------------------------------------------

/// A worker of its own, as another replica of the service would run it.
fn worker(db: &TestDb, smtp: &SmtpSink, batch_size: i32) -> Outbox {
    Outbox::new(
        db.db(2),
        Mailer::new(&smtp.url(), "Vectra <no-reply@vectra.test>").expect("mailer"),
        Arc::new(Templates::new("http://app.vectra.test")),
        OutboxSettings {
            batch_size,
            concurrency: 2,
            ..OutboxSettings::default()
        },
        Metrics::new(),
    )
}

/// `n` password-reset emails to user1@… to user{n}@…, each with its token.
async fn enqueue(db: &TestDb, prefix: &str, n: i32) {
    db.admin()
        .await
        .execute(
            "insert into email_outbox (organization_id, to_email, template, context)
             select app.platform_org_id(), $1 || i || '@example.test', 'reset-password',
                    jsonb_build_object('name', 'User ' || i, 'token', 'token-' || $1 || i)
               from generate_series(1, $2) i",
            &[&prefix, &n],
        )
        .await
        .expect("enqueue");
}

/// The status, attempts, context, last error and whether it is claimed, of
/// the one email of `template` to `to`.
async fn outbox_row(
    db: &TestDb,
    to: &str,
    template: &str,
) -> (String, i32, Value, Option<String>, bool) {
    let r = db
        .admin()
        .await
        .query_one(
            "select status::text, attempts, context, last_error, claimed_at is not null
               from email_outbox where to_email = $1 and template = $2",
            &[&to, &template],
        )
        .await
        .unwrap_or_else(|e| panic!("the row to {to}: {e}"));
    (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))
}

/// Four workers (four pools, as four replicas) drain sixty emails at once,
/// in small batches: every email is claimed once and delivered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_outbox_workers_never_send_an_email_twice() {
    const EMAILS: i32 = 60;
    const WORKERS: usize = 4;
    let db = TestDb::new().await;
    let smtp = SmtpSink::start().await;
    enqueue(&db, "user", EMAILS).await;
    let start = Arc::new(tokio::sync::Barrier::new(WORKERS));
    let runs: Vec<_> = (0..WORKERS)
        .map(|_| {
            let outbox = worker(&db, &smtp, 3);
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                let mut claimed = 0;
                loop {
                    match outbox.deliver_due().await.expect("a round") {
                        0 => return claimed,
                        n => claimed += n,
                    }
                }
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for run in runs {
        claimed.push(run.await.expect("worker"));
    }
    assert_eq!(
        claimed.iter().sum::<usize>(),
        EMAILS as usize,
        "claims per worker: {claimed:?}"
    );

    let mails = smtp.all();
    let mut per_recipient: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in &mails {
        assert_eq!(m.to.len(), 1, "{m:?}");
        per_recipient
            .entry(m.to[0].clone())
            .or_default()
            .push(m.token());
    }
    assert_eq!(
        mails.len(),
        EMAILS as usize,
        "claims per worker: {claimed:?}"
    );
    let expected: BTreeMap<String, Vec<String>> = (1..=EMAILS)
        .map(|i| {
            (
                format!("user{i}@example.test"),
                vec![format!("token-user{i}")],
            )
        })
        .collect();
    assert_eq!(
        per_recipient, expected,
        "each email once, with its own token"
    );

    let rows = db
        .admin()
        .await
        .query(
            "select status::text, attempts, context ? 'token', claimed_at is null
               from email_outbox where to_email like 'user%@example.test'",
            &[],
        )
        .await
        .expect("rows");
    assert_eq!(rows.len(), EMAILS as usize);
    for r in rows {
        let row: (String, i32, bool, bool) = (r.get(0), r.get(1), r.get(2), r.get(3));
        assert_eq!(row, ("sent".to_owned(), 1, false, true));
    }
}

/// A worker claims three emails and dies (its claims are committed, nothing
/// more). Once a claim is older than the stale-claim timeout, another worker
/// takes the row over: it sends it, or, when the dead worker's attempt was
/// the last, fails it for good without sending. A younger claim is left to
/// its worker.
#[tokio::test]
async fn a_claim_left_by_a_dead_worker_is_taken_over_after_the_timeout() {
    let db = TestDb::new().await;
    let smtp = SmtpSink::start().await;
    let admin = db.admin().await;
    admin
        .execute(
            "insert into email_outbox (organization_id, to_email, template, context, attempts)
             values (app.platform_org_id(), 'stale@example.test', 'reset-password', '{\"name\": \"Stale\", \"token\": \"t-stale\"}', 0),
                    (app.platform_org_id(), 'recent@example.test', 'reset-password', '{\"name\": \"Recent\", \"token\": \"t-recent\"}', 0),
                    (app.platform_org_id(), 'last@example.test', 'reset-password', '{\"name\": \"Last\", \"token\": \"t-last\"}', 7)",
            &[],
        )
        .await
        .expect("enqueue");

    // The worker that dies: its claim, committed, as vectra_worker.
    let dying = db.as_role("vectra_worker", &[]).await;
    let claimed = dying
        .query(
            "select to_email, attempts from auth.outbox_claim(10, '5 minutes')",
            &[],
        )
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 3);
    dying.commit().await;
    for to in [
        "stale@example.test",
        "recent@example.test",
        "last@example.test",
    ] {
        assert_eq!(outbox_row(&db, to, "reset-password").await.0, "sending");
    }
    // Time passes for two of them: claimed six minutes ago.
    admin
        .execute(
            "update email_outbox set claimed_at = now() - interval '6 minutes'
              where to_email in ('stale@example.test', 'last@example.test')",
            &[],
        )
        .await
        .expect("age the claims");
    let recent_claim: Value = admin
        .query_one(
            "select to_jsonb(claimed_at) from email_outbox where to_email = 'recent@example.test'",
            &[],
        )
        .await
        .expect("claimed_at")
        .get(0);

    let survivor = worker(&db, &smtp, 10);
    assert_eq!(survivor.deliver_due().await.expect("round"), 2);

    let mails = smtp.all();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].to, ["stale@example.test"]);
    assert_eq!(mails[0].token(), "t-stale");
    let (status, attempts, context, error, claimed) =
        outbox_row(&db, "stale@example.test", "reset-password").await;
    assert_eq!(
        (status.as_str(), attempts, error, claimed),
        ("sent", 2, None, false)
    );
    assert_eq!(
        context,
        json!({"name": "Stale"}),
        "the token left once sent"
    );

    let (status, attempts, context, error, claimed) =
        outbox_row(&db, "last@example.test", "reset-password").await;
    assert_eq!((status.as_str(), attempts, claimed), ("failed", 9, false));
    assert_eq!(
        error.as_deref(),
        Some("gave up: the last attempt was interrupted")
    );
    assert_eq!(
        context,
        json!({"name": "Last"}),
        "the token left with the failure"
    );

    let (status, attempts, context, _, claimed) =
        outbox_row(&db, "recent@example.test", "reset-password").await;
    assert_eq!((status.as_str(), attempts, claimed), ("sending", 1, true));
    assert_eq!(context["token"], "t-recent");
    let still: Value = admin
        .query_one(
            "select to_jsonb(claimed_at) from email_outbox where to_email = 'recent@example.test'",
            &[],
        )
        .await
        .expect("claimed_at")
        .get(0);
    assert_eq!(still, recent_claim, "a live claim is not taken over");
    assert_eq!(survivor.deliver_due().await.expect("round"), 0);
    assert_eq!(smtp.all().len(), 1);
}

// ---------------------------------------------------------------------------
// 5. Retries that run out
// ---------------------------------------------------------------------------

const METRICS_TOKEN: &str = "metrics-token-0123456789abcdef";

/// The SMTP server is down for good: the app's worker tries each email three
/// times (max_attempts), then marks it failed with the last error and
/// without its token, and the failure shows in the outbox, the
/// notification's detail, the console's metrics and /metrics. A failed
/// email is final: no worker claims it again.
#[tokio::test]
async fn transient_failures_that_run_out_of_attempts_end_failed_and_visible() {
    let app = TestApp::spawn_with_worker(&[("METRICS_TOKEN", METRICS_TOKEN)]).await;
    let pa = crate::auth::platform_admin(&app).await;
    let ann = app.verified_owner("ann@acme.test", "Acme").await;
    let org = org_of(&app.db, ann.user_id).await;
    let admin = app.db.admin().await;
    admin
        .execute(
            "insert into leads (organization_id, email, status) values ($1, 'lea@prospect.test', 'new')",
            &[&org],
        )
        .await
        .expect("a lead");
    app.settle_outbox().await;
    admin
        .batch_execute("alter table email_outbox alter column max_attempts set default 3")
        .await
        .expect("three attempts");

    app.mail.stop();
    app.post(
        "/api/v1/auth/forgot-password",
        json!({"email": "ann@acme.test"}),
        None,
    )
    .await
    .expect(202);
    let note = app
        .post(
            "/api/v1/user/notifications/send",
            json!({"type": "org_to_prospects", "recipients": ["lea@prospect.test"],
                   "subject": "Doomed", "body": "Never delivered"}),
            Some(&ann.access),
        )
        .await
        .expect(202);
    // The worker is a background task: wait for its verdict.
    let deadline = Instant::now() + Duration::from_secs(30);
    while app
        .count("select count(*) from email_outbox where status = 'failed'")
        .await
        < 2
    {
        assert!(
            Instant::now() < deadline,
            "not failed within 30 s: {:?}",
            outbox_row(&app.db, "ann@acme.test", "reset-password").await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let (status, attempts, context, error, claimed) =
        outbox_row(&app.db, "ann@acme.test", "reset-password").await;
    assert_eq!((status.as_str(), attempts, claimed), ("failed", 3, false));
    let error = error.expect("last_error");
    assert!(
        !error.is_empty() && !error.starts_with("gave up"),
        "{error}"
    );
    assert!(context.get("token").is_none(), "token kept: {context}");
    assert_eq!(
        context["name"], "Test User",
        "the rest of the context stays"
    );
    let (status, attempts, _, lea_error, _) =
        outbox_row(&app.db, "lea@prospect.test", "notification").await;
    assert_eq!((status.as_str(), attempts), ("failed", 3));
    assert_eq!(
        app.count(
            "select count(*) from email_outbox where status <> 'sent' and status <> 'failed'"
        )
        .await,
        0
    );

    // The sender sees it in the notification's detail.
    let d = app
        .get(
            &format!("/api/v1/user/notifications/{}", note.str("/id")),
            Some(&ann.access),
        )
        .await
        .expect(200);
    assert_eq!(
        d.body["delivery"],
        json!({"pending": 0, "sending": 0, "sent": 0, "failed": 1, "cancelled": 0}),
        "{d:?}"
    );
    let recipient = &d.body["recipients"]["items"][0];
    assert_eq!(recipient["email"], "lea@prospect.test", "{d:?}");
    assert_eq!(recipient["status"], "failed", "{d:?}");
    assert_eq!(recipient["attempts"], 3, "{d:?}");
    assert_eq!(recipient["last_error"].as_str(), lea_error.as_deref());

    // The platform admin, in the console.
    let m = app
        .get("/api/v1/admin/system/metrics", Some(&pa.access))
        .await
        .expect(200);
    assert_eq!(m.body["outbox"]["failed"], 2, "{m:?}");
    assert_eq!(m.body["outbox"]["pending"], 0, "{m:?}");
    assert_eq!(m.body["outbox"]["sending"], 0, "{m:?}");

    // The scraper: the outbox gauge and the worker's attempts by outcome.
    let r = app.get("/metrics", Some(METRICS_TOKEN)).await.expect(200);
    let text = r.body.as_str().expect("text");
    for line in [
        "vectra_outbox_failed 2",
        "vectra_outbox_pending 0",
        "vectra_outbox_deliveries_total{outcome=\"retry\"} 4",
        "vectra_outbox_deliveries_total{outcome=\"failed\"} 2",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from {text}"
        );
    }

    // Final: with the server back, another worker finds nothing to claim.
    app.mail.restart().await;
    let other = worker(&app.db, &app.mail, 10);
    assert_eq!(other.deliver_due().await.expect("round"), 0);
    assert_eq!(
        app.mail.to("ann@acme.test").len(),
        1,
        "only the verification email"
    );
    assert!(app.mail.to("lea@prospect.test").is_empty());
}

// ---------------------------------------------------------------------------
// 6. The request timeout
// ---------------------------------------------------------------------------

/// The app of `app`'s database with some settings of its own, served on port
/// 0; its base URL.
async fn serve_another(app: &TestApp, overrides: &[(&str, &str)]) -> String {
    let smtp = app.mail.url();
    let mut all = vec![("SMTP_URL", smtp.as_str())];
    all.extend_from_slice(overrides);
    let other = vectra::app::Application::build(app.db.config_with(&all))
        .await
        .expect("build app");
    let base = format!("http://{}", other.local_addr().expect("addr"));
    tokio::spawn(other.run_until(std::future::pending()));
    base
}

/// A request whose SQL waits for a lock longer than REQUEST_TIMEOUT answers
/// 504 problem+json; its statement is cancelled on the server (it does not
/// go on waiting, and does not commit once the lock is free), and the pooled
/// connection serves the next requests.
#[tokio::test]
async fn a_request_past_its_timeout_answers_504_and_leaves_nothing_running() {
    let app = TestApp::spawn().await;
    let ann = app.verified_owner("ann@acme.test", "Acme").await;
    let org = org_of(&app.db, ann.user_id).await;
    // One connection: whatever the timed-out request left on it, the next
    // request gets.
    let slow = serve_another(
        &app,
        &[("REQUEST_TIMEOUT", "1s"), ("DATABASE_POOL_SIZE", "1")],
    )
    .await;
    let patch = |name: &str| {
        app.http
            .patch(format!("{slow}{ORG}"))
            .bearer_auth(&ann.access)
            .json(&json!({"name": name}))
    };
    app.send_with(
        app.http
            .get(format!("{slow}{ORG}"))
            .bearer_auth(&ann.access),
    )
    .await
    .expect(200);

    let gate = app.db.admin().await;
    gate.batch_execute("begin").await.expect("begin");
    gate.execute(
        "select 1 from organizations where id = $1 for update",
        &[&org],
    )
    .await
    .expect("hold the organization");
    let r = app
        .send_with(patch("Renamed while locked"))
        .await
        .problem(504, "The request took too long");
    assert_eq!(r.body["type"], "urn:vectra:problem:timeout", "{r:?}");

    // Its statement does not go on waiting for the lock.
    let admin = app.db.admin().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let running: i64 = admin
            .query_one(
                "select count(*) from pg_stat_activity
                  where datname = current_database() and usename = 'vectra_authenticator'
                    and (wait_event_type = 'Lock' or state <> 'idle')
                    and query like '%update_organization%'",
                &[],
            )
            .await
            .expect("pg_stat_activity")
            .get(0);
        if running == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the timed-out statement still runs after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    gate.batch_execute("commit").await.expect("release");
    let name = || async {
        admin
            .query_one("select name from organizations where id = $1", &[&org])
            .await
            .expect("name")
            .get::<_, String>(0)
    };
    assert_eq!(name().await, "Acme", "the timed-out update never commits");

    // The service goes on, on the same connection.
    let r = app
        .send_with(
            app.http
                .get(format!("{slow}{ORG}"))
                .bearer_auth(&ann.access),
        )
        .await
        .expect(200);
    assert_eq!(r.body["name"], "Acme");
    let r = app.send_with(patch("Acme Renamed")).await.expect(200);
    assert_eq!(r.body["name"], "Acme Renamed");
    assert_eq!(name().await, "Acme Renamed");
    assert_eq!(
        app.count(&format!(
            "select count(*) from audit_log where organization_id = '{org}' and action = 'organization.update'"
        ))
        .await,
        1,
        "only the second update happened"
    );
}

// ---------------------------------------------------------------------------
// 8. `vectra serve` migrates an empty database
// ---------------------------------------------------------------------------

/// The lines a child prints on stdout and stderr, collected as they come.
fn log_lines(child: &mut std::process::Child) -> Arc<std::sync::Mutex<Vec<String>>> {
    use std::io::{BufRead, BufReader};
    let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
    let streams: [Box<dyn std::io::Read + Send>; 2] = [
        Box::new(child.stdout.take().expect("stdout")),
        Box::new(child.stderr.take().expect("stderr")),
    ];
    for stream in streams {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                lines.lock().expect("lock").push(line);
            }
        });
    }
    lines
}

/// The newest migration applied, None before any.
async fn schema_version(db: &TestDb) -> Option<i64> {
    let admin = db.admin().await;
    let exists: bool = admin
        .query_one(
            "select to_regclass('public.refinery_schema_history') is not null",
            &[],
        )
        .await
        .expect("refinery's table")
        .get(0);
    if !exists {
        return None;
    }
    admin
        .query_one(
            "select max(version)::int8 from refinery_schema_history",
            &[],
        )
        .await
        .expect("schema version")
        .get(0)
}

#[tokio::test]
async fn vectra_serve_migrates_an_empty_database_before_serving() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    let db = TestDb::empty().await;
    let smtp = SmtpSink::start().await;
    assert_eq!(schema_version(&db).await, None, "an empty database");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vectra"))
        .arg("serve")
        .env_clear()
        .envs([
            ("DATABASE_URL", db.authenticator_url()),
            ("DATABASE_ADMIN_URL", db.admin_url()),
            ("JWT_SECRET", JWT_SECRET.to_owned()),
            ("BIND_ADDR", "127.0.0.1:0".to_owned()),
            ("SMTP_URL", smtp.url()),
            ("PUBLIC_BASE_URL", "http://app.vectra.test".to_owned()),
            ("PLATFORM_ADMIN_EMAIL", PLATFORM_ADMIN_EMAIL.to_owned()),
            ("RATE_LIMIT_PER_MINUTE", "1000".to_owned()),
            ("OUTBOX_POLL_INTERVAL", "50ms".to_owned()),
            ("RUST_LOG", "info".to_owned()),
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn vectra serve");
    let lines = log_lines(&mut child);
    let logged = |message: &str| -> Option<Value> {
        lines.lock().expect("lock").iter().find_map(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .filter(|v| v["message"] == message)
        })
    };
    // The binary is another process: wait for its line.
    let deadline = Instant::now() + Duration::from_secs(60);
    let listening = loop {
        if let Some(v) = logged("listening") {
            break v;
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!(
                "vectra serve exited ({status}): {:#?}",
                lines.lock().unwrap()
            );
        }
        assert!(
            Instant::now() < deadline,
            "vectra serve did not listen: {:#?}",
            lines.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Migrated before it listened.
    let migrated = logged("migrations checked").expect("the migration's log line");
    let latest = vectra::db::migrate::latest_version();
    assert!(
        migrated["applied"]
            .as_str()
            .is_some_and(|a| a.contains("V1__roles") && a.contains(&format!("V{latest}__"))),
        "{migrated}"
    );
    assert_eq!(schema_version(&db).await, Some(latest));

    let base = format!("http://{}", listening["addr"].as_str().expect("addr"));
    let http = reqwest::Client::new();
    let ready = http
        .get(format!("{base}/ready"))
        .send()
        .await
        .expect("ready");
    assert_eq!(ready.status(), 200);
    // A whole sign-up through it: register, the emailed link, the profile.
    let r = http
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"email": "ann@acme.test", "password": PASSWORD,
                      "full_name": "Ann", "organization_name": "Acme"}))
        .send()
        .await
        .expect("register");
    assert_eq!(r.status(), 202);
    let token = smtp.last_to("ann@acme.test").await.token();
    let r = http
        .post(format!("{base}/api/v1/auth/verify-email"))
        .json(&json!({"token": token}))
        .send()
        .await
        .expect("verify");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("json");
    let access = body["access_token"].as_str().expect("access token");
    let me = http
        .get(format!("{base}/api/v1/user/me"))
        .bearer_auth(access)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.expect("json");
    assert_eq!(me["organization"]["name"], "Acme");

    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).expect("SIGTERM");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "vectra serve did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status}: {:#?}", lines.lock().unwrap());
}

// ---------------------------------------------------------------------------
// 9. Upgrading a database with data
// ---------------------------------------------------------------------------

/// Every row of every table of `public`, in the columns of `columns`, as text.
async fn contents(
    client: &tokio_postgres::Client,
    columns: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (table, cols) in columns {
        let sql = format!(
            "select coalesce(string_agg(r::text, E'\\n' order by r::text), '')
               from (select {cols} from public.{table}) r"
        );
        let text: String = client.query_one(&sql, &[]).await.expect(&sql).get(0);
        out.insert(table.clone(), text);
    }
    out
}

#[tokio::test]
async fn upgrading_from_the_previous_migration_keeps_the_data_working() {
    let db = TestDb::empty().await;
    let latest = vectra::db::migrate::latest_version();
    let previous = latest - 1;
    let mut admin = db.admin().await;
    let mut migrator =
        vectra::db::migrate::Migrator::new(&mut admin, std::time::Duration::from_secs(5));
    let report = vectra::db::migrate::runner()
        .set_target(refinery::Target::Version(previous as _))
        .run_async(&mut migrator)
        .await
        .expect("migrate to the previous version");
    assert_eq!(report.applied_migrations().len() as i64, previous);
    assert_eq!(schema_version(&db).await, Some(previous));

    // Data as the previous schema holds it: two organizations with rows in
    // every tenant table, a real password and a session with a known
    // refresh token.
    let seed = crate::harness::seed::two_orgs(&admin).await;
    let hash = vectra::auth::password::Passwords::new(1)
        .hash(PASSWORD.to_owned())
        .await
        .expect("hash");
    admin
        .execute(
            "update users set password_hash = $1 where id = $2",
            &[&hash, &seed.a.owner],
        )
        .await
        .expect("password");
    admin
        .execute(
            "insert into sessions (user_id, token_hash, expires_at)
             values ($1, sha256(convert_to('refresh-before-the-upgrade', 'UTF8')), now() + interval '1 day')",
            &[&seed.a.member],
        )
        .await
        .expect("session");
    let columns: BTreeMap<String, String> = admin
        .query(
            "select c.relname::text, string_agg(quote_ident(a.attname), ', ' order by a.attnum)
               from pg_class c
               join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
               join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
              where c.relkind = 'r' and c.relname <> 'refinery_schema_history'
              group by c.relname",
            &[],
        )
        .await
        .expect("columns")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(columns.contains_key("leads") && columns.contains_key("sessions"));
    let before = contents(&admin, &columns).await;

    let outcome = vectra::db::migrate::run(&crate::harness::migrate_config(
        &db.admin_url(),
        Some(&db.authenticator_url()),
    ))
    .await
    .expect("the upgrade");
    assert_eq!(outcome.applied.len(), 1, "{:?}", outcome.applied);
    assert!(outcome.applied[0].starts_with(&format!("V{latest}__")));
    assert_eq!(schema_version(&db).await, Some(latest));
    // The platform rows of notifications, email_outbox and audit_log live
    // under the reserved organization (V27 moved them from a NULL one), and
    // nothing else changes: every table is as it was (read back with the
    // reserved id as NULL when the upgrade is the one that moved them).
    let platform_rows: i64 = admin
        .query_one(
            "select (select count(*) from notifications where organization_id = app.platform_org_id())
                  + (select count(*) from email_outbox where organization_id = app.platform_org_id())
                  + (select count(*) from audit_log where organization_id = app.platform_org_id())",
            &[],
        )
        .await
        .expect("platform rows")
        .get(0);
    assert_eq!(
        platform_rows, 3,
        "the seed's platform notification, email and audit entry"
    );
    let mut as_before = columns.clone();
    // Only an upgrade across V27 (citus_ready) moves them; a later one
    // compares the tables as they are.
    let moves_platform_rows = previous < 27;
    for table in ["notifications", "email_outbox", "audit_log"]
        .into_iter()
        .filter(|_| moves_platform_rows)
    {
        let cols = as_before.get_mut(table).expect(table);
        *cols = cols.replacen(
            "organization_id",
            "nullif(organization_id, app.platform_org_id()) as organization_id",
            1,
        );
    }
    let after = contents(&admin, &as_before).await;
    for (table, rows) in &before {
        assert_eq!(&after[table], rows, "{table} changed in the upgrade");
    }
    assert!(before["leads"].lines().count() == 4, "{}", before["leads"]);

    // The service on the upgraded database.
    let smtp = SmtpSink::start().await;
    let app = vectra::app::Application::build(db.config_with(&[("SMTP_URL", &smtp.url())]))
        .await
        .expect("build app");
    let base = format!("http://{}", app.local_addr().expect("addr"));
    tokio::spawn(app.run_until(std::future::pending()));
    let http = reqwest::Client::new();
    let get = |path: &str, token: &str| {
        let request = http.get(format!("{base}{path}")).bearer_auth(token);
        async move {
            let r = request.send().await.expect("request");
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    let post = |path: &str, body: Value| {
        let request = http.post(format!("{base}{path}")).json(&body);
        async move {
            let r = request.send().await.expect("request");
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    let login = post(
        "/api/v1/auth/login",
        json!({"email": "owner@alpha.test", "password": PASSWORD}),
    )
    .await;
    let owner = login["access_token"].as_str().expect("access").to_owned();
    assert_eq!(login["user"]["organization"]["id"], seed.a.id.to_string());
    let lists = [
        ("/api/v1/user/leads", 2),
        ("/api/v1/user/campaigns", 1),
        ("/api/v1/user/meetings", 1),
        ("/api/v1/user/organizations/me/users", 2),
        ("/api/v1/user/organizations/me/invitations", 1),
        ("/api/v1/user/organizations/me/audit-log", 2),
        ("/api/v1/user/notifications", 1),
    ];
    for (path, total) in lists {
        let body = get(path, &owner).await;
        assert_eq!(body["total"], total, "{path}: {body}");
    }
    let leads = get("/api/v1/user/leads", &owner).await;
    let mut emails: Vec<&str> = leads["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|l| l["email"].as_str())
        .collect();
    emails.sort_unstable();
    assert_eq!(
        emails,
        ["lead1@prospect-alpha.test", "lead2@prospect-alpha.test"]
    );

    // A session opened before the upgrade goes on.
    let refreshed = post(
        "/api/v1/auth/refresh",
        json!({"refresh_token": "refresh-before-the-upgrade"}),
    )
    .await;
    assert_eq!(refreshed["user"]["email"], "member@alpha.test");
    let member = refreshed["access_token"].as_str().expect("access");
    let me = get("/api/v1/user/me", member).await;
    assert_eq!(me["organization"]["name"], "Alpha");
    assert_eq!(get("/api/v1/user/leads", member).await["total"], 2);
}
