//! Pool isolation: transactions of different tenants interleaved on a tiny
//! pool, some failing midway, never see each other's rows or settings.

use futures_util::StreamExt;
use uuid::Uuid;
use vectra::db::{APP_SETTINGS, Actor};
use vectra::error::ApiError;

use crate::harness::TestDb;
use crate::harness::seed;

const TRANSACTIONS: usize = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_interleaved_transactions_on_two_connections_stay_in_their_tenant() {
    let test_db = TestDb::new().await;
    let seed = seed::two_orgs(&test_db.admin().await).await;
    let db = test_db.db(2);

    let outcomes = futures_util::stream::iter(0..TRANSACTIONS)
        .map(|i| {
            let db = db.clone();
            let (org, claims) = if i % 2 == 0 {
                (seed.a.id, seed.a.owner_claims())
            } else {
                (seed.b.id, seed.b.owner_claims())
            };
            async move {
                let actor = Actor::Member(claims);
                match i % 6 {
                    // A multi-statement transaction that fails after reading.
                    0 => {
                        let result: Result<(), ApiError> = db
                            .transaction(&actor, |tx| {
                                Box::pin(async move {
                                    let seen: Vec<Uuid> = tx
                                        .query_one(
                                            "select coalesce(array_agg(distinct organization_id), '{}') from users",
                                            &[],
                                        )
                                        .await?
                                        .get(0);
                                    assert_eq!(seen, vec![org], "transaction {i}");
                                    tx.execute("select 1 / 0", &[]).await?;
                                    Ok(())
                                })
                            })
                            .await;
                        assert!(result.is_err(), "transaction {i} should have failed");
                        "failed-transaction"
                    }
                    // A pipelined call that fails.
                    1 => {
                        let result: Result<i32, ApiError> =
                            db.call(&actor, "select 1 / 0", &[]).await.map_err(ApiError::from);
                        assert!(result.is_err());
                        "failed-call"
                    }
                    // An anonymous request right after: no tenant context left over.
                    2 => {
                        let state: Vec<String> = db
                            .call(
                                &Actor::Anonymous,
                                "select array[current_user::text, coalesce(current_setting('app.org_id', true), '')]",
                                &[],
                            )
                            .await
                            .expect("anonymous");
                        assert_eq!(state, vec!["vectra_anon".to_owned(), String::new()], "transaction {i}");
                        "anonymous"
                    }
                    // Multi-statement transaction that succeeds.
                    3 => {
                        let (seen, setting) = db
                            .transaction(&actor, |tx| {
                                Box::pin(async move {
                                    let seen: Vec<Uuid> = tx
                                        .query_one(
                                            "select coalesce(array_agg(distinct organization_id), '{}') from leads",
                                            &[],
                                        )
                                        .await?
                                        .get(0);
                                    let setting: String =
                                        tx.query_one("select current_setting('app.org_id')", &[]).await?.get(0);
                                    Ok::<_, ApiError>((seen, setting))
                                })
                            })
                            .await
                            .expect("transaction");
                        assert_eq!(seen, vec![org], "transaction {i}");
                        assert_eq!(setting, org.to_string(), "transaction {i}");
                        "transaction"
                    }
                    // The pipelined fast path.
                    _ => {
                        let seen: Vec<Uuid> = db
                            .call(
                                &actor,
                                "select coalesce(array_agg(distinct organization_id), '{}') from users",
                                &[],
                            )
                            .await
                            .expect("call");
                        assert_eq!(seen, vec![org], "transaction {i}");
                        "call"
                    }
                }
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;

    assert_eq!(outcomes.len(), TRANSACTIONS);
    for kind in [
        "failed-transaction",
        "failed-call",
        "anonymous",
        "transaction",
        "call",
    ] {
        assert!(outcomes.contains(&kind), "no {kind} ran");
    }
    let status = db.pool().status();
    assert!(status.size <= 2, "pool grew to {}", status.size);
}

/// The second guard: what a request sets for the whole session (a
/// `set_config(…, false)`, by injection say: no statement of the service can,
/// `sql/tests/15_no_session_state.sql`) never reaches the next request, which
/// sets every `app.*` setting for its own transaction, claims or not. Nor
/// does it switch the session's authorization, or take a session advisory
/// lock.
#[tokio::test]
async fn a_session_level_change_does_not_reach_the_next_request() {
    let test_db = TestDb::new().await;
    let seed = seed::two_orgs(&test_db.admin().await).await;
    let db = test_db.db(1);
    let actor = Actor::Member(seed.a.owner_claims());
    // A's whole context, set for the session. The next request reports it
    // and gets the connection reset after it, so each check below follows
    // a fresh leak.
    let leak = || async {
        let a = seed.a.owner_claims();
        db.query(
            &actor,
            "select set_config('app.session_id', $1, false), set_config('app.user_id', $2, false),
                    set_config('app.org_id', $3, false), set_config('app.role', 'owner', false)",
            &[
                &a.session_id.to_string(),
                &a.user_id.to_string(),
                &seed.a.id.to_string(),
            ],
        )
        .await
        .expect("session-level changes");
    };
    // Every app.* setting the database reads.
    let settings = APP_SETTINGS
        .iter()
        .map(|s| format!("coalesce(current_setting('{s}', true), '')"))
        .collect::<Vec<_>>()
        .join(", ");

    leak().await;
    let seen: Vec<String> = db
        .call(
            &Actor::Anonymous,
            &format!("select array[current_user::text, {settings}]"),
            &[],
        )
        .await
        .expect("anonymous request");
    assert_eq!(
        seen,
        ["vectra_anon", "", "", "", ""],
        "an anonymous request saw {APP_SETTINGS:?} of the last one"
    );
    leak().await;
    let seen: Vec<String> = db
        .call(&Actor::Worker, &format!("select array[{settings}]"), &[])
        .await
        .expect("worker");
    assert_eq!(seen, ["", "", "", ""], "the worker saw {APP_SETTINGS:?}");
    leak().await;
    let rows = db
        .query(
            &Actor::Member(seed.b.owner_claims()),
            "select current_setting('app.org_id'), (select array_agg(distinct organization_id) from users)",
            &[],
        )
        .await
        .expect("next request");
    let (org, seen): (String, Vec<Uuid>) = (rows[0].get(0), rows[0].get(1));
    assert_eq!(org, seed.b.id.to_string());
    assert_eq!(seen, vec![seed.b.id]);

    let refused = db
        .query(&actor, "select pg_advisory_lock(42)", &[])
        .await
        .expect_err("a request role takes no advisory lock");
    assert_eq!(
        message(&refused).as_deref(),
        Some("permission denied for function pg_advisory_lock")
    );
    let refused = db
        .query(
            &actor,
            "set session authorization vectra_platform_admin",
            &[],
        )
        .await
        .expect_err("only a superuser's session switches its authorization");
    assert_eq!(
        message(&refused).as_deref(),
        Some("permission denied to set session authorization \"vectra_platform_admin\"")
    );
    let locks: i64 = db
        .call(
            &actor,
            "select count(*) from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()",
            &[],
        )
        .await
        .expect("next request");
    assert_eq!(locks, 0, "no advisory lock is held");
}

/// State the context statement reports (a cursor held past its
/// transaction, here) gets the connection reset after that request: the
/// one after it finds none.
#[tokio::test]
async fn a_connection_carrying_an_earlier_requests_state_is_reset() {
    let test_db = TestDb::new().await;
    let seed = seed::two_orgs(&test_db.admin().await).await;
    let db = test_db.db(1);
    db.query(
        &Actor::Member(seed.a.owner_claims()),
        "declare held cursor with hold for select id from users",
        &[],
    )
    .await
    .expect("a request role may declare a cursor WITH HOLD");
    let b = Actor::Member(seed.b.owner_claims());
    let held = || async {
        let n: i64 = db
            .call(&b, "select count(*) from pg_cursors where is_holdable", &[])
            .await
            .expect("next request");
        n
    };
    assert_eq!(held().await, 1, "the cursor outlived its request");
    assert_eq!(
        held().await,
        0,
        "the request that found it did not get the connection reset"
    );
}

/// A role set for the session makes the next signed-in request fail closed
/// (its context statement is checked as that role), and that failure gets
/// the connection reset: the request after it is served as usual.
#[tokio::test]
async fn a_role_set_for_the_session_fails_one_request_closed_then_is_reset() {
    let test_db = TestDb::new().await;
    let seed = seed::two_orgs(&test_db.admin().await).await;
    let db = test_db.db(1);
    db.query(
        &Actor::Member(seed.a.owner_claims()),
        "select set_config('role', 'vectra_platform_admin', false)",
        &[],
    )
    .await
    .expect("the authenticator may switch to any request role");
    let b = Actor::Member(seed.b.owner_claims());
    let refused = db
        .call::<String>(&b, "select current_user::text", &[])
        .await
        .expect_err("checked as vectra_platform_admin");
    assert_eq!(
        message(&refused).as_deref(),
        Some("permission denied for function begin_request")
    );
    let role: String = db
        .call(&b, "select current_user::text", &[])
        .await
        .expect("the connection was reset");
    assert_eq!(role, "vectra_member");
}

/// A request that failed leaves the connection reset, and closed if a SQL
/// `PREPARE` (which even a rollback keeps) left a statement behind.
#[tokio::test]
async fn a_failed_request_leaves_no_prepared_statement() {
    let test_db = TestDb::new().await;
    let seed = seed::two_orgs(&test_db.admin().await).await;
    let db = test_db.db(1);
    let actor = Actor::Member(seed.a.owner_claims());
    let failed: Result<(), ApiError> = db
        .transaction(&actor, |tx| {
            Box::pin(async move {
                tx.batch_execute("prepare planted as select 1").await?;
                tx.execute("select 1 / 0", &[]).await?;
                Ok(())
            })
        })
        .await;
    assert!(failed.is_err());
    let planted: i64 = db
        .call(
            &actor,
            "select count(*) from pg_prepared_statements where from_sql",
            &[],
        )
        .await
        .expect("next request");
    assert_eq!(
        planted, 0,
        "a statement PREPAREd by a failed request survived"
    );
}

/// A request dropped half-way (its timeout, a client gone) whose pipelined
/// transaction still commits on the server: the connection is reset after
/// the statement ends, before the next request gets it.
#[tokio::test]
async fn a_cancelled_request_leaves_nothing_to_the_next() {
    let test_db = TestDb::new().await;
    let seed = seed::two_orgs(&test_db.admin().await).await;
    let db = test_db.db(1);
    let actor = Actor::Member(seed.a.owner_claims());
    let sql = "select set_config('app.leak', $1, false), pg_sleep($2)";
    // Prepared and cached on the connection, so that the timeout below
    // falls in the pipelined transaction.
    db.query(&actor, sql, &[&"", &0.0f64])
        .await
        .expect("warm-up");
    let cancelled = tokio::time::timeout(
        std::time::Duration::from_millis(100),
        db.query(&actor, sql, &[&"from the cancelled request", &0.5f64]),
    )
    .await;
    assert!(cancelled.is_err(), "the request was not cancelled");
    let leak: String = db
        .call(
            &Actor::Member(seed.b.owner_claims()),
            "select coalesce(current_setting('app.leak', true), '')",
            &[],
        )
        .await
        .expect("next request");
    assert_eq!(leak, "", "the cancelled request's session setting survived");
}

/// A request of one statement is one transaction, sent as one pipeline
/// with a single Sync: the statement sees the role and settings of the
/// context statement before it; they end with the request, which leaves no
/// transaction open, failed, cancelled or not (at an error the server skips
/// the pipeline's `commit`); and the statement timeout a transaction-mode
/// pooler needs in each transaction holds. In both statement modes, on a
/// pool of one connection.
#[tokio::test]
async fn a_one_statement_request_is_one_transaction_and_leaves_none_open() {
    use vectra::db::{Db, Statements, pool};
    let test_db = TestDb::new().await;
    let seed = seed::two_orgs(&test_db.admin().await).await;
    let actor = Actor::Member(seed.a.owner_claims());
    for statements in [
        Statements::Prepared,
        Statements::Unnamed {
            statement_timeout_ms: Some(300),
        },
    ] {
        let db = Db::with(
            pool(&test_db.authenticator_url(), 1).expect("pool"),
            statements,
        );
        let rows = db
            .query_typed(
                &actor,
                "select current_user::text, current_setting('app.org_id')",
                &[],
            )
            .await
            .expect("request");
        let (role, org): (String, String) = (rows[0].get(0), rows[0].get(1));
        assert_eq!(
            (role.as_str(), org),
            ("vectra_member", seed.a.id.to_string()),
            "{statements:?}"
        );
        // What the connection is left with, read outside any request: the
        // session's own role, no setting, and no transaction open (in one,
        // now() would be the time it began, before the sleep).
        let left = || async {
            let conn = db.pool().get().await.expect("connection");
            conn.batch_execute("select pg_sleep(0.01)")
                .await
                .expect("sleep");
            // One simple query: in it, outside a transaction block, the
            // statement and its transaction start together.
            let answer = conn
                .simple_query(
                    "select current_user, coalesce(current_setting('app.org_id', true), ''), \
                            now() = statement_timestamp()",
                )
                .await
                .expect("state");
            let row = answer
                .iter()
                .find_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => Some(r),
                    _ => None,
                })
                .expect("a row");
            let text = |i: usize| row.get(i).unwrap_or_default().to_owned();
            (text(0), text(1), text(2) == "t")
        };
        let idle = ("vectra_authenticator".to_owned(), String::new(), true);
        assert_eq!(left().await, idle, "after a request, {statements:?}");
        let failed = db
            .query_typed(&actor, "select 1 / 0", &[])
            .await
            .expect_err("division by zero");
        assert_eq!(message(&failed).as_deref(), Some("division by zero"));
        assert_eq!(left().await, idle, "after a failed request, {statements:?}");
        // Dropped half-way (the request's timeout, a client gone), after
        // which its statement fails on the server: the transaction it left
        // failed is rolled back before the connection serves again.
        let cancelled = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            db.query_typed(&actor, "select 1 / length(pg_sleep(0.2)::text)", &[]),
        )
        .await;
        assert!(cancelled.is_err(), "the request was not cancelled");
        let rows = db
            .query_typed(&actor, "select current_setting('app.org_id')", &[])
            .await
            .expect("the next request");
        assert_eq!(rows[0].get::<_, String>(0), seed.a.id.to_string());
        assert_eq!(
            left().await,
            idle,
            "after a cancelled request, {statements:?}"
        );
        if let Statements::Unnamed { .. } = statements {
            let timed_out = db
                .query_typed(&actor, "select pg_sleep(2)", &[])
                .await
                .expect_err("statement timeout");
            assert_eq!(
                message(&timed_out).as_deref(),
                Some("canceling statement due to statement timeout")
            );
            assert_eq!(left().await, idle, "after a timeout, {statements:?}");
        }
    }
}

/// [`APP_SETTINGS`], which every context statement sets for its
/// transaction, names every `app.*` setting the database reads.
#[tokio::test]
async fn app_settings_name_every_setting_the_database_reads() {
    let test_db = TestDb::new().await;
    let read: Vec<String> = test_db
        .admin()
        .await
        .query_one(
            r"select array(select distinct m[1]
                             from pg_proc p, regexp_matches(p.prosrc, '''(app\.[a-z_]+)''', 'g') m
                            where p.pronamespace in ('app'::regnamespace, 'auth'::regnamespace)
                            order by 1)",
            &[],
        )
        .await
        .expect("catalog")
        .get(0);
    let mut ours: Vec<&str> = APP_SETTINGS.to_vec();
    ours.sort_unstable();
    assert_eq!(read, ours);
}

fn message(e: &vectra::db::Error) -> Option<String> {
    match e {
        vectra::db::Error::Postgres(e) => e.as_db_error().map(|d| d.message().to_owned()),
        _ => None,
    }
}
