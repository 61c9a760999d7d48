//! `vectra migrate`: creates everything on an empty database, changes nothing
//! the second time, and refuses an owner that RLS would blind.

use std::time::Duration;

use crate::harness::TestDb;

async fn schema_snapshot(client: &tokio_postgres::Client) -> String {
    client
        .query_one(
            "select md5(string_agg(x, ',' order by x)) from (
               select 'rel:' || c.oid::regclass::text || ':' || c.relrowsecurity || c.relforcerowsecurity as x
                 from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname in ('public','app','auth')
               union all select 'pol:' || polname || ':' || polrelid::regclass::text from pg_policy
               union all select 'fn:' || p.oid::regprocedure::text || ':' || md5(p.prosrc)
                 from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname in ('app','auth')
               union all select 'acl:' || c.oid::regclass::text || ':' || coalesce(c.relacl::text, '')
                 from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public'
             ) s",
            &[],
        )
        .await
        .expect("snapshot")
        .get(0)
}

#[tokio::test]
async fn migrate_creates_everything_then_changes_nothing() {
    let db = TestDb::empty().await;
    let config = crate::harness::migrate_config(&db.admin_url(), Some(&db.authenticator_url()));
    let first = vectra::db::migrate::run(&config).await.expect("first run");
    assert_eq!(
        first.applied.len() as i64,
        vectra::db::migrate::latest_version(),
        "{:?}",
        first.applied
    );
    assert!(first.applied[0].starts_with("V1__"));
    assert!(first.authenticator_password_set);
    let admin = db.admin().await;
    let snapshot = schema_snapshot(&admin).await;

    let second = vectra::db::migrate::run(&config).await.expect("second run");
    assert!(second.applied.is_empty(), "{:?}", second.applied);
    assert_eq!(snapshot, schema_snapshot(&admin).await);

    // The password from DATABASE_URL works.
    let auth = db.authenticator().await;
    let me: String = auth
        .query_one("select current_user::text", &[])
        .await
        .expect("login")
        .get(0);
    assert_eq!(me, "vectra_authenticator");
}

#[tokio::test]
async fn migrate_refuses_an_owner_without_bypassrls() {
    let db = TestDb::empty().await;
    let admin = db.admin().await;
    let role = format!("plain_owner_{}", uuid::Uuid::new_v4().simple());
    admin
        .batch_execute(&format!(
            "create role {role} login password 'pw'; grant all on database {} to {role}",
            db.name
        ))
        .await
        .expect("create role");
    let url = db.url_as(&role, "pw");
    let err = vectra::db::migrate::run(&crate::harness::migrate_config(&url, None))
        .await
        .expect_err("a plain owner was accepted");
    assert!(err.to_string().contains("BYPASSRLS"), "{err:#}");
    let tables: i64 = admin
        .query_one(
            "select count(*) from pg_tables where schemaname = 'public'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(tables, 0, "a refused run created tables");
    admin
        .batch_execute(&format!("drop owned by {role}; drop role {role}"))
        .await
        .ok();
}

/// The database migrated to the migration before `version` (the lists'
/// migration creates triggers on leads: a lock a writer's transaction holds
/// against it).
async fn migrated_before(db: &TestDb, version: i64) -> tokio_postgres::Client {
    let mut admin = db.admin().await;
    let mut migrator = vectra::db::migrate::Migrator::new(&mut admin, Duration::from_secs(5));
    vectra::db::migrate::runner()
        .set_target(refinery::Target::Version((version - 1) as i32))
        .run_async(&mut migrator)
        .await
        .expect("migrate to the version before");
    admin
}

type Migration = tokio::task::JoinHandle<anyhow::Result<vectra::db::migrate::Outcome>>;

/// A database before the lists' migration, a writer's transaction on leads
/// left open, and
/// the migration started behind it with `lock_timeout`, waiting for its lock.
async fn migration_behind_a_writer(
    lock_timeout: Duration,
) -> (TestDb, tokio_postgres::Client, Migration) {
    let db = TestDb::empty().await;
    migrated_before(&db, 25).await;
    let mut config = crate::harness::migrate_config(&db.admin_url(), None);
    config.lock_timeout = lock_timeout;
    let tx = db.admin().await;
    tx.batch_execute("begin; lock table public.leads in row exclusive mode")
        .await
        .expect("blocker");
    let migration = tokio::spawn(async move { vectra::db::migrate::run(&config).await });
    db.wait_for_lock_waiters(1).await;
    (db, tx, migration)
}

/// Ends the writer's transaction; the migration's outcome.
async fn finish(tx: tokio_postgres::Client, migration: Migration) -> vectra::db::migrate::Outcome {
    tx.batch_execute("commit")
        .await
        .expect("the long transaction ends");
    migration
        .await
        .expect("join")
        .expect("the migration succeeds")
}

/// Another writer arriving while the migration waits: the lock it gets, or
/// the SQLSTATE of its refusal after `wait`.
async fn another_writer(db: &TestDb, wait: &str) -> Result<(), String> {
    let client = db.admin().await;
    let r = client
        .batch_execute(&format!(
            "begin; set local lock_timeout = '{wait}'; lock table public.leads in row exclusive mode; commit"
        ))
        .await;
    r.map_err(|e| crate::harness::sqlstate(&e))
}

#[tokio::test]
async fn a_migration_behind_a_long_transaction_lets_traffic_through_and_tries_again() {
    let (db, tx, migration) = migration_behind_a_writer(Duration::from_millis(300)).await;
    // Writers keep going while the migration waits (at most its lock
    // timeout, then it rolls back and waits outside the queue).
    another_writer(&db, "5s")
        .await
        .expect("a writer gets through");
    another_writer(&db, "5s").await.expect("and another");
    let outcome = finish(tx, migration).await;
    assert!(outcome.lock_retries >= 1, "{outcome:?}");
    assert_eq!(
        outcome.applied.first().map(String::as_str),
        Some("V25__lists_in_o_page")
    );
    let admin = db.admin().await;
    let invalid: i64 = admin
        .query_one("select count(*) from pg_index where not indisvalid", &[])
        .await
        .expect("indexes")
        .get(0);
    assert_eq!(invalid, 0);
}

#[tokio::test]
async fn without_a_lock_timeout_the_same_migration_holds_writers_up() {
    // The control of the test above: a migration that may wait forever
    // queues every writer behind it.
    let (db, tx, migration) = migration_behind_a_writer(Duration::from_secs(3600)).await;
    assert_eq!(another_writer(&db, "1s").await, Err("55P03".to_owned()));
    let outcome = finish(tx, migration).await;
    assert_eq!(outcome.lock_retries, 0);
}

#[tokio::test]
async fn an_index_build_interrupted_is_dropped_and_built_again() {
    // V26 builds the lists' indexes outside a transaction. The database as
    // it was right after it; the later migrations come with the run again.
    const INDEXES: i64 = 26;
    let db = TestDb::empty().await;
    let config = crate::harness::migrate_config(&db.admin_url(), None);
    let admin = migrated_before(&db, INDEXES + 1).await;
    let name: String = admin
        .query_one(
            "select name from refinery_schema_history where version = $1",
            &[&(INDEXES as i32)],
        )
        .await
        .expect("latest")
        .get(0);
    assert_eq!(name, "list_indexes", "that migration builds indexes");
    // What an interrupted CREATE INDEX CONCURRENTLY leaves: an invalid index,
    // and the migration not recorded.
    admin
        .batch_execute(&format!(
            "update pg_index set indisvalid = false where indexrelid = 'public.leads_org_status_created_idx'::regclass;
             delete from refinery_schema_history where version = {INDEXES}"
        ))
        .await
        .expect("interrupt");
    let outcome = vectra::db::migrate::run(&config).await.expect("run again");
    assert_eq!(outcome.applied[0], "V26__list_indexes");
    assert_eq!(
        outcome.applied.len() as i64,
        vectra::db::migrate::latest_version() - INDEXES + 1,
        "{:?}",
        outcome.applied
    );
    let valid: bool = admin
        .query_one(
            "select indisvalid from pg_index where indexrelid = 'public.leads_org_status_created_idx'::regclass",
            &[],
        )
        .await
        .expect("rebuilt")
        .get(0);
    assert!(valid);
}
