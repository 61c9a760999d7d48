//! Pool isolation: transactions of different tenants interleaved on a tiny
//! pool, some failing midway, never see each other's rows or settings.

use futures_util::StreamExt;
use uuid::Uuid;
use vectra::db::Actor;
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
/// `set_config(…, false)`, by injection say) is gone at the next request on
/// the same connection. A session advisory lock it cannot take at all.
#[tokio::test]
async fn a_session_level_change_does_not_reach_the_next_request() {
    let test_db = TestDb::new().await;
    let seed = seed::two_orgs(&test_db.admin().await).await;
    let db = test_db.db(1);
    let actor = Actor::Member(seed.a.owner_claims());
    db.query(
        &actor,
        "select set_config('app.leak', 'from the last request', false)",
        &[],
    )
    .await
    .expect("session-level changes");
    let refused = db
        .query(&actor, "select pg_advisory_lock(42)", &[])
        .await
        .expect_err("a request role takes no advisory lock");
    match &refused {
        vectra::db::Error::Postgres(e) => assert_eq!(
            e.as_db_error().map(|d| d.message()),
            Some("permission denied for function pg_advisory_lock")
        ),
        other => panic!("{other:?}"),
    }
    let rows = db
        .query(
            &Actor::Member(seed.b.owner_claims()),
            "select coalesce(current_setting('app.leak', true), ''),
                    (select count(*) from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()),
                    current_setting('app.org_id')",
            &[],
        )
        .await
        .expect("next request");
    let (leak, locks, org): (String, i64, String) =
        (rows[0].get(0), rows[0].get(1), rows[0].get(2));
    assert_eq!(leak, "", "a session setting survived");
    assert_eq!(locks, 0, "no advisory lock is held");
    assert_eq!(org, seed.b.id.to_string());
}
