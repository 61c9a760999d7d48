//! `vectra migrate`: creates everything on an empty database, changes nothing
//! the second time, and refuses an owner that RLS would blind.

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
