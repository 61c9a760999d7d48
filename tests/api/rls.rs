//! Direct SQL as the request roles, as a DBA would in psql: the policies
//! alone keep each tenant to its own rows.

use tokio_postgres::Client;
use uuid::Uuid;

use crate::harness::seed::{self, Seed, TENANT_TABLES};
use crate::harness::{AsRole, TestDb, message, sqlstate};

/// An INSERT into `table` for organization `$1`, valid in every other way.
/// `$2` is a lead of that organization (meetings need one).
fn insert_for_org(table: &str) -> String {
    match table {
        "users" => "insert into users (organization_id, email, password_hash, full_name, role)
                    values ($1, 'intruder-' || $2::uuid::text || '@x.test', 'h', 'Intruder', 'owner')"
            .into(),
        "invitations" => "insert into invitations (organization_id, email, role, token_hash, invited_by, expires_at)
                          values ($1, 'i-' || $2::uuid::text || '@x.test', 'member', sha256($2::uuid::text::bytea),
                                  app.current_user_id(), now() + interval '1 day')"
            .into(),
        "notifications" => "insert into notifications (organization_id, type, sender_id, subject, body)
                            values ($1, 'org_owner_to_members', app.current_user_id(), 'S ' || $2::uuid::text, 'B')"
            .into(),
        "email_outbox" => "insert into email_outbox (organization_id, to_email, template, context)
                           values ($1, 'x@x.test', 'notification', jsonb_build_object('n', $2::uuid))"
            .into(),
        "audit_log" => "insert into audit_log (organization_id, actor_id, action, target_id)
                        values ($1, app.current_user_id(), 'test.insert', $2)"
            .into(),
        "campaigns" => "insert into campaigns (organization_id, name) values ($1, 'C ' || $2::uuid::text)".into(),
        "leads" => "insert into leads (organization_id, email) values ($1, 'l-' || $2::uuid::text || '@x.test')".into(),
        "meetings" => "insert into meetings (organization_id, lead_id, scheduled_at) values ($1, $2, now())".into(),
        "lead_suppressions" => "insert into lead_suppressions (organization_id, email) values ($1, 's-' || $2::uuid::text || '@x.test')".into(),
        other => panic!("no insert statement for {other}"),
    }
}

/// The direct writes a role holds on a table, as `sql/migrations` grant
/// them: `update` is a SET clause on a column it may update, `move_rows`
/// whether it may update `organization_id` itself.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Writes {
    insert: bool,
    update: Option<&'static str>,
    move_rows: bool,
    delete: bool,
}

const NO_WRITES: Writes = Writes {
    insert: false,
    update: None,
    move_rows: false,
    delete: false,
};

/// `vectra_member` holds no direct write at all (neither the writes that
/// carry rules nor those of prospecting): every write goes through a
/// SECURITY DEFINER function of `vectra_definer`.
fn member_writes(_table: &str) -> Writes {
    NO_WRITES
}

/// `vectra_definer`, the owner of those functions, holds the writes they
/// need (the organization, prospecting, console and notification writes),
/// under its own `*_definer_*` policies keyed on `app.current_org_id()`.
fn definer_writes(table: &str) -> Writes {
    let writes = |insert, update, move_rows, delete| Writes {
        insert,
        update,
        move_rows,
        delete,
    };
    match table {
        "users" => writes(false, Some("full_name = full_name"), false, false),
        "invitations" => writes(true, Some("expires_at = expires_at"), false, false),
        "notifications" => writes(
            true,
            Some("idempotency_key = idempotency_key"),
            false,
            false,
        ),
        "email_outbox" | "audit_log" => writes(true, None, false, false),
        "campaigns" => writes(true, Some("name = name"), true, true),
        "leads" => writes(true, Some("full_name = full_name"), true, true),
        "meetings" => writes(true, Some("scheduled_at = scheduled_at"), true, true),
        "lead_suppressions" => NO_WRITES,
        other => panic!("no grants listed for {other}"),
    }
}

/// A refusal by a policy: the role may write the table, the row is not one
/// its policies let through (WITH CHECK).
#[track_caller]
fn assert_policy_refused(err: &tokio_postgres::Error, table: &str, what: &str) {
    assert_eq!(sqlstate(err), "42501", "{table}: {what}: {err}");
    let message = message(err);
    assert!(
        message.starts_with("new row violates row-level security policy")
            && message.ends_with(&format!("for table \"{table}\"")),
        "{table}: {what}: refused, but not by a policy: {message}"
    );
}

/// A refusal by a missing grant: the role may not run this command on the
/// table (or column) at all, whatever the row.
#[track_caller]
fn assert_privilege_refused(err: &tokio_postgres::Error, table: &str, what: &str) {
    assert_eq!(sqlstate(err), "42501", "{table}: {what}: {err}");
    assert_eq!(
        message(err),
        format!("permission denied for table {table}"),
        "{table}: {what}: refused, but not for a missing privilege"
    );
}

/// Every direct write on `table` as `session` (with organization A's
/// settings), against B's rows and, as the positive control, A's own:
/// what `writes` grants works on A's rows, touches none of B's and cannot
/// move a row into B (the policy refuses); what it does not grant is
/// refused for want of privilege, even on A's own rows.
async fn assert_writes(
    session: &AsRole,
    table: &str,
    writes: Writes,
    (a, lead_a): (Uuid, Uuid),
    (b, lead_b): (Uuid, Uuid),
) {
    let t = table;
    let insert = insert_for_org(t);
    let mut inserted = None;
    if writes.insert {
        // Positive control: the statement is sound, and the role may run it
        // for its own organization.
        if writes.delete {
            let rows = session
                .query(&format!("{insert} returning id"), &[&a, &lead_a])
                .await
                .unwrap_or_else(|e| panic!("{t}: insert for own org refused: {e}"));
            inserted = Some(rows[0].get::<_, Uuid>(0));
        } else {
            let n = session
                .execute(&insert, &[&a, &lead_a])
                .await
                .unwrap_or_else(|e| panic!("{t}: insert for own org refused: {e}"));
            assert_eq!(n, 1, "{t}: insert for own org");
        }
        let err = session
            .execute(&insert, &[&b, &lead_b])
            .await
            .expect_err(&format!("{t}: insert for org B accepted"));
        assert_policy_refused(&err, t, "insert for org B");
    } else {
        for (org, lead, whose) in [(a, lead_a, "own org"), (b, lead_b, "org B")] {
            let err = session
                .execute(&insert, &[&org, &lead])
                .await
                .expect_err(&format!("{t}: direct insert for {whose} accepted"));
            assert_privilege_refused(&err, t, &format!("insert for {whose}"));
        }
    }

    let moved = session
        .execute(
            &format!("update {t} set organization_id = $1 where organization_id = $2"),
            &[&b, &a],
        )
        .await
        .expect_err(&format!("{t}: moving rows to org B accepted"));
    if writes.move_rows {
        assert_policy_refused(&moved, t, "moving own rows to org B");
    } else {
        assert_privilege_refused(&moved, t, "moving own rows to org B");
    }

    match writes.update {
        Some(set) => {
            let update = format!("update {t} set {set} where organization_id = $1");
            let n = session
                .execute(&update, &[&b])
                .await
                .unwrap_or_else(|e| panic!("{t}: {e}"));
            assert_eq!(n, 0, "{t}: update reached org B's rows");
            let own = session
                .execute(&update, &[&a])
                .await
                .unwrap_or_else(|e| panic!("{t}: update of own rows refused: {e}"));
            assert!(own > 0, "{t}: control update of own rows changed nothing");
        }
        None => {
            for (org, whose) in [(a, "own"), (b, "org B's")] {
                let err = session
                    .execute(
                        &format!("update {t} set organization_id = organization_id where organization_id = $1"),
                        &[&org],
                    )
                    .await
                    .expect_err(&format!("{t}: update of {whose} rows accepted"));
                assert_privilege_refused(&err, t, &format!("update of {whose} rows"));
            }
        }
    }

    let delete = format!("delete from {t} where organization_id = $1");
    if writes.delete {
        let n = session
            .execute(&delete, &[&b])
            .await
            .unwrap_or_else(|e| panic!("{t}: {e}"));
        assert_eq!(n, 0, "{t}: delete reached org B's rows");
        let id = inserted.expect("a row inserted above");
        let own = session
            .execute(&format!("delete from {t} where id = $1"), &[&id])
            .await
            .unwrap_or_else(|e| panic!("{t}: delete of own row refused: {e}"));
        assert_eq!(own, 1, "{t}: control delete of own row");
    } else {
        for (org, whose) in [(a, "own"), (b, "org B's")] {
            let err = session
                .execute(&delete, &[&org])
                .await
                .expect_err(&format!("{t}: delete of {whose} rows accepted"));
            assert_privilege_refused(&err, t, &format!("delete of {whose} rows"));
        }
    }
}

async fn lead_of(admin: &Client, org: Uuid) -> Uuid {
    admin
        .query_one(
            "select id from leads where organization_id = $1 limit 1",
            &[&org],
        )
        .await
        .expect("lead")
        .get(0)
}

/// A digest of every row of `org` in `table`, to prove nothing changed.
async fn fingerprint(admin: &Client, table: &str, org: Uuid) -> String {
    let column = if table == "organizations" {
        "id"
    } else {
        "organization_id"
    };
    admin
        .query_one(
            &format!(
                "select count(*)::text || ':' || coalesce(md5(string_agg(t::text, ',' order by t::text)), '')
                   from public.{table} t where {column} = $1"
            ),
            &[&org],
        )
        .await
        .expect("fingerprint")
        .get(0)
}

async fn seeded() -> (TestDb, Client, Seed) {
    let db = TestDb::new().await;
    let admin = db.admin().await;
    let seed = seed::two_orgs(&admin).await;
    (db, admin, seed)
}

async fn assert_sees_only(member: &AsRole, admin: &Client, org: Uuid) {
    for t in TENANT_TABLES {
        let expected: i64 = admin
            .query_one(
                &format!("select count(*) from public.{t} where organization_id = $1"),
                &[&org],
            )
            .await
            .expect("count")
            .get(0);
        assert!(expected > 0, "seed has no {t} row for the org");
        let rows = member
            .query(&format!("select organization_id from {t}"), &[])
            .await
            .unwrap_or_else(|e| panic!("{t}: {e}"));
        assert_eq!(
            rows.len() as i64,
            expected,
            "{t}: wrong number of visible rows"
        );
        for r in rows {
            assert_eq!(
                r.get::<_, Option<Uuid>>(0),
                Some(org),
                "{t}: a row of another tenant is visible"
            );
        }
    }
    let orgs: Vec<Uuid> = member
        .query("select id from organizations", &[])
        .await
        .expect("organizations")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(orgs, vec![org]);
}

#[tokio::test]
async fn a_member_sees_only_its_own_organization_in_every_table() {
    let (db, admin, seed) = seeded().await;
    let member = db.as_role("vectra_member", &seed.a.owner_settings()).await;
    assert_sees_only(&member, &admin, seed.a.id).await;
    let member_b = db.as_role("vectra_member", &seed.b.owner_settings()).await;
    assert_sees_only(&member_b, &admin, seed.b.id).await;
}

/// Fingerprints of every table of `org`, organizations included.
async fn fingerprints(admin: &Client, org: Uuid) -> Vec<String> {
    let mut all = Vec::new();
    for t in TENANT_TABLES.iter().chain(&["organizations"]) {
        all.push(fingerprint(admin, t, org).await);
    }
    all
}

#[tokio::test]
async fn a_member_cannot_write_into_another_tenant() {
    let (db, admin, seed) = seeded().await;
    let (a, b) = (seed.a.id, seed.b.id);
    let own = (a, lead_of(&admin, a).await);
    let other = (b, lead_of(&admin, b).await);
    let before = fingerprints(&admin, b).await;

    // Even as the owner: the member role holds no direct write, so every
    // write is refused for want of privilege, on its own rows too.
    let member = db.as_role("vectra_member", &seed.a.owner_settings()).await;
    for t in TENANT_TABLES {
        assert_writes(&member, t, member_writes(t), own, other).await;
    }
    // organizations: the tenant itself (renamed only through
    // app.update_organization).
    for sql in [
        "update organizations set name = 'Taken' where id = $1",
        "update organizations set name = name where id = app.current_org_id() and id <> $1",
        "update organizations set id = $1 where id = app.current_org_id()",
        "delete from organizations where id = $1",
        "insert into organizations (id, name, slug) values ($1, 'X', 'x-org')",
    ] {
        let err = member.execute(sql, &[&b]).await.expect_err(sql);
        assert_privilege_refused(&err, "organizations", sql);
    }
    member.commit().await;
    assert_eq!(
        before,
        fingerprints(&admin, b).await,
        "org B's rows changed"
    );
}

/// `vectra_definer` is the role that does write (its functions run as it);
/// its policies keep even a faulty function to the request's organization.
/// Nobody can become it but a superuser (`04_direct_sql.sql`), which is what
/// this test is, to try its grants directly.
#[tokio::test]
async fn the_definer_writes_only_into_the_request_organization() {
    let (db, admin, seed) = seeded().await;
    let (a, b) = (seed.a.id, seed.b.id);
    let own = (a, lead_of(&admin, a).await);
    let other = (b, lead_of(&admin, b).await);
    let before = fingerprints(&admin, b).await;

    let definer = db.as_role("vectra_definer", &seed.a.owner_settings()).await;
    for t in TENANT_TABLES {
        assert_writes(&definer, t, definer_writes(t), own, other).await;
    }
    // organizations, keyed on `id`: renamed and deleted only for the
    // request's organization; another one cannot be created in its place.
    let rename = "update organizations set name = name where id = $1";
    assert_eq!(definer.execute(rename, &[&b]).await.expect("rename B"), 0);
    assert_eq!(definer.execute(rename, &[&a]).await.expect("rename A"), 1);
    let delete = "delete from organizations where id = $1";
    assert_eq!(definer.execute(delete, &[&b]).await.expect("delete B"), 0);
    let err = definer
        .execute(
            "insert into organizations (id, name, slug) values ($1, 'X', 'x-org')",
            &[&b],
        )
        .await
        .expect_err("an organization created for B's id");
    assert_policy_refused(&err, "organizations", "insert with B's id");
    let err = definer
        .execute(
            "update organizations set id = $1 where id = app.current_org_id()",
            &[&b],
        )
        .await
        .expect_err("the organization's id changed");
    assert_privilege_refused(&err, "organizations", "update of id");
    definer.commit().await;
    assert_eq!(
        before,
        fingerprints(&admin, b).await,
        "org B's rows changed"
    );
}

/// The two tables above say what `sql/migrations` grant: a grant added or
/// dropped there fails here until the table (and so the tests) follow.
#[tokio::test]
async fn the_write_tables_are_the_grants() {
    let db = TestDb::new().await;
    let admin = db.admin().await;
    for (role, writes) in [
        ("vectra_member", member_writes as fn(&str) -> Writes),
        ("vectra_definer", definer_writes),
    ] {
        for t in TENANT_TABLES {
            let row = admin
                .query_one(
                    "select has_any_column_privilege($1::name, $2::text, 'insert'),
                            has_any_column_privilege($1::name, $2::text, 'update'),
                            has_column_privilege($1::name, $2::text, 'organization_id', 'update'),
                            has_table_privilege($1::name, $2::text, 'delete')",
                    &[&role, &format!("public.{t}")],
                )
                .await
                .expect("privileges");
            let granted = Writes {
                insert: row.get(0),
                update: row.get::<_, bool>(1).then_some("…"),
                move_rows: row.get(2),
                delete: row.get(3),
            };
            let listed = writes(t);
            assert_eq!(
                granted,
                Writes {
                    update: listed.update.map(|_| "…"),
                    ..listed
                },
                "{role} on {t}: the grants differ from the table in rls.rs"
            );
        }
    }
}

#[tokio::test]
async fn without_settings_a_member_sees_nothing() {
    let (db, admin, seed) = seeded().await;
    // Control: the same role and queries with A's settings see A's rows in
    // every table, so "nothing" below is the policies' doing, not empty tables.
    let control = db.as_role("vectra_member", &seed.a.owner_settings()).await;
    assert_sees_only(&control, &admin, seed.a.id).await;
    let unknown_org = vec![
        ("app.org_id", Uuid::new_v4().to_string()),
        ("app.user_id", seed.a.owner.to_string()),
        ("app.role", "owner".to_owned()),
    ];
    for settings in [vec![], unknown_org] {
        let member = db.as_role("vectra_member", &settings).await;
        for t in TENANT_TABLES.iter().chain(&["organizations"]) {
            let col = if *t == "organizations" {
                "id"
            } else {
                "organization_id"
            };
            let rows = member
                .query(&format!("select {col} from {t}"), &[])
                .await
                .unwrap_or_else(|e| panic!("{t}: {e}"));
            assert!(
                rows.is_empty(),
                "{t}: {} rows visible with settings {settings:?}",
                rows.len()
            );
        }
    }
}

#[tokio::test]
async fn the_platform_admin_sees_every_tenant_through_its_policies() {
    let (db, admin, seed) = seeded().await;
    let pa = db
        .as_role(
            "vectra_platform_admin",
            &[
                ("app.user_id", seed.platform_admin.to_string()),
                ("app.role", "platform_admin".into()),
            ],
        )
        .await;
    for t in TENANT_TABLES {
        let total: i64 = admin
            .query_one(&format!("select count(*) from public.{t}"), &[])
            .await
            .expect("count")
            .get(0);
        let seen = pa
            .query(&format!("select organization_id from {t}"), &[])
            .await
            .expect(t);
        assert_eq!(seen.len() as i64, total, "{t}");
        let orgs: std::collections::BTreeSet<Option<Uuid>> =
            seen.iter().map(|r| r.get(0)).collect();
        assert!(
            orgs.contains(&Some(seed.a.id)) && orgs.contains(&Some(seed.b.id)),
            "{t}"
        );
    }
}

#[tokio::test]
async fn the_worker_reaches_the_outbox_through_its_functions_only() {
    let (db, admin, seed) = seeded().await;
    let worker = db.as_role("vectra_worker", &[]).await;
    let total: i64 = admin
        .query_one("select count(*) from email_outbox", &[])
        .await
        .expect("count")
        .get(0);
    for sql in [
        "select id, context from email_outbox",
        "update email_outbox set to_email = 'elsewhere@x.test'",
        "update email_outbox set status = 'sending'",
    ] {
        let err = worker.query(sql, &[]).await.expect_err(sql);
        assert_privilege_refused(&err, "email_outbox", sql);
    }
    let claimed = worker
        .query(
            "select id, organization_id from auth.outbox_claim(100, '5 minutes')",
            &[],
        )
        .await
        .expect("claim");
    assert_eq!(claimed.len() as i64, total, "every due row, every tenant");
    let (id, org): (Uuid, Uuid) = (claimed[0].get(0), claimed[0].get(1));
    let owner: Uuid = admin
        .query_one(
            "select organization_id from email_outbox where id = $1",
            &[&id],
        )
        .await
        .expect("the row's organization")
        .get(0);
    assert_eq!(org, owner, "the claim names the row's organization");
    let other = if org == seed.a.id {
        seed.b.id
    } else {
        seed.a.id
    };
    let mark = |org: Uuid| {
        let worker = &worker;
        async move {
            worker
                .query(
                    "select auth.outbox_mark_sent($1, $2, 'Subject')",
                    &[&org, &id],
                )
                .await
                .expect("mark sent")[0]
                .get::<_, bool>(0)
        }
    };
    assert!(
        !mark(other).await,
        "a row was marked under another organization"
    );
    assert!(
        mark(org).await,
        "the claimed row, by its organization and id"
    );
    assert!(!mark(org).await, "a row no longer claimed was marked again");
    // The previous release's worker marks by id alone (kept for a rolling
    // upgrade): the second claimed row that way.
    let second: Uuid = claimed[1].get(0);
    let sent: bool = worker
        .query("select auth.outbox_mark_sent($1, 'Subject')", &[&second])
        .await
        .expect("mark sent by id")[0]
        .get(0);
    assert!(
        sent,
        "the previous release's call still marks a claimed row"
    );
    for t in TENANT_TABLES
        .iter()
        .filter(|t| **t != "email_outbox")
        .chain(&["organizations"])
    {
        let err = worker
            .query(&format!("select 1 from {t}"), &[])
            .await
            .expect_err(t);
        assert_privilege_refused(&err, t, "worker: select");
    }
}

#[tokio::test]
async fn anonymous_requests_touch_no_table() {
    let (db, _admin, _seed) = seeded().await;
    let anon = db.as_role("vectra_anon", &[]).await;
    for t in TENANT_TABLES
        .iter()
        .chain(&["organizations", "sessions", "one_time_tokens"])
    {
        let err = anon
            .query(&format!("select 1 from {t}"), &[])
            .await
            .expect_err(t);
        assert_privilege_refused(&err, t, "anonymous: select");
    }
}

#[tokio::test]
async fn the_audit_log_is_append_only_for_everyone() {
    let (db, admin, seed) = seeded().await;
    let before = fingerprint(&admin, "audit_log", seed.a.id).await;
    let pa = db
        .as_role(
            "vectra_platform_admin",
            &[
                ("app.user_id", seed.platform_admin.to_string()),
                ("app.role", "platform_admin".into()),
            ],
        )
        .await;
    for sql in [
        "update audit_log set action = 'tampered.entry'",
        "delete from audit_log",
    ] {
        let err = pa.execute(sql, &[]).await.expect_err(sql);
        assert_privilege_refused(&err, "audit_log", &format!("platform admin: {sql}"));
    }
    let member = db.as_role("vectra_member", &seed.a.owner_settings()).await;
    for sql in [
        "update audit_log set action = 'tampered.entry'",
        "delete from audit_log",
    ] {
        let err = member.execute(sql, &[]).await.expect_err(sql);
        assert_privilege_refused(&err, "audit_log", &format!("member: {sql}"));
    }
    // Even the owner of the table (the superuser here) is refused by the trigger.
    for sql in [
        "update audit_log set action = 'tampered.entry'",
        "delete from audit_log",
        "truncate audit_log",
    ] {
        let err = admin.execute(sql, &[]).await.expect_err(sql);
        assert_eq!(sqlstate(&err), "42501", "owner: {sql}: {err}");
        assert_eq!(message(&err), "audit_log is append-only");
    }
    // Nor do request roles append: entries come from the definer functions.
    for (who, session) in [("member", &member), ("platform admin", &pa)] {
        let err = session
            .execute(
                "insert into audit_log (organization_id, actor_id, action) values ($1, app.current_user_id(), 'test.append')",
                &[&seed.a.id],
            )
            .await
            .expect_err(who);
        assert_privilege_refused(&err, "audit_log", &format!("{who}: insert"));
    }
    assert_eq!(before, fingerprint(&admin, "audit_log", seed.a.id).await);
}

#[tokio::test]
async fn managers_and_members_do_not_read_the_audit_log() {
    let (db, admin, seed) = seeded().await;
    // Control: as A's owner, the same query reads A's entries (the seed has
    // some), so the refusals below are the policies' doing.
    let entries: i64 = admin
        .query_one(
            "select count(*) from audit_log where organization_id = $1",
            &[&seed.a.id],
        )
        .await
        .expect("count")
        .get(0);
    assert!(entries > 0, "the seed has no audit entry for A");
    let owner = db.as_role("vectra_member", &seed.a.owner_settings()).await;
    let rows = owner
        .query("select id from audit_log", &[])
        .await
        .expect("audit");
    assert_eq!(rows.len() as i64, entries);
    for role in ["manager", "member"] {
        let settings = vec![
            ("app.org_id", seed.a.id.to_string()),
            ("app.user_id", seed.a.member.to_string()),
            ("app.role", role.to_owned()),
        ];
        let session = db.as_role("vectra_member", &settings).await;
        let rows = session
            .query("select id from audit_log", &[])
            .await
            .expect("audit");
        assert!(rows.is_empty(), "{role} reads the audit log");
    }
}

#[tokio::test]
async fn prospecting_rows_never_point_into_another_tenant() {
    let (db, admin, seed) = seeded().await;
    let b_campaign: Uuid = admin
        .query_one(
            "select id from campaigns where organization_id = $1",
            &[&seed.b.id],
        )
        .await
        .expect("B's campaign")
        .get(0);
    let b_lead = lead_of(&admin, seed.b.id).await;
    let a_lead = lead_of(&admin, seed.a.id).await;
    // Even the superuser, past every policy: the composite keys
    // (organization_id, id) have no such row.
    for (what, sql, params) in [
        (
            "a lead of A in B's campaign",
            "insert into leads (organization_id, campaign_id, email) values ($1, $2, 'x@x.test')",
            [
                &seed.a.id as &(dyn tokio_postgres::types::ToSql + Sync),
                &b_campaign,
            ],
        ),
        (
            "a meeting of A with B's lead",
            "insert into meetings (organization_id, lead_id, scheduled_at) values ($1, $2, now())",
            [&seed.a.id, &b_lead],
        ),
        (
            "A's lead moved into B's campaign",
            "update leads set campaign_id = $2 where id = $1",
            [&a_lead, &b_campaign],
        ),
    ] {
        let err = admin.execute(sql, &params).await.expect_err(what);
        assert_eq!(sqlstate(&err), "23503", "{what}: {err}");
    }
    // Through the functions, as A's owner: B's campaign is unknown in A.
    let mut settings = seed.a.owner_settings();
    settings.push(("app.session_id", seed.a.owner_session.to_string()));
    let owner = db.as_role("vectra_member", &settings).await;
    let body = serde_json::json!({"email": "x@x.test", "campaign_id": b_campaign});
    let err = owner
        .query("select app.create_lead($1)", &[&body])
        .await
        .expect_err("lead in another tenant's campaign");
    assert_eq!(sqlstate(&err), "VA422", "{err}");
    // Positive control: in A's own campaign it works.
    let a_campaign: Uuid = owner
        .query("select id from campaigns", &[])
        .await
        .expect("A's campaign")[0]
        .get(0);
    let body = serde_json::json!({"email": "x@x.test", "campaign_id": a_campaign});
    owner
        .query("select app.create_lead($1)", &[&body])
        .await
        .expect("lead in A's own campaign");
}

#[tokio::test]
async fn members_write_nothing_that_carries_a_rule() {
    let (db, _admin, seed) = seeded().await;
    // Even as the owner, with its real session.
    let mut settings = seed.a.owner_settings();
    settings.push(("app.session_id", seed.a.owner_session.to_string()));
    let member = db.as_role("vectra_member", &settings).await;
    for (what, table, sql) in [
        ("promote itself", "users", "update users set role = 'owner' where id = app.current_user_id()"),
        ("rename the organization", "organizations", "update organizations set name = 'x'"),
        (
            "forge an audit entry",
            "audit_log",
            "insert into audit_log (organization_id, actor_id, action) values (app.current_org_id(), app.current_user_id(), 'user.remove')",
        ),
        (
            "queue an email",
            "email_outbox",
            "insert into email_outbox (organization_id, to_email, template, context)
             values (app.current_org_id(), 'victim@elsewhere.test', 'reset-password', '{\"token\": \"chosen\"}')",
        ),
        (
            "plant an invitation",
            "invitations",
            "insert into invitations (organization_id, email, role, token_hash, invited_by, expires_at)
             values (app.current_org_id(), 'x@x.test', 'owner', sha256('known'), app.current_user_id(), now() + interval '1 day')",
        ),
        ("swap an invitation token", "invitations", "update invitations set token_hash = sha256('known')"),
        (
            "record a notification",
            "notifications",
            "insert into notifications (organization_id, type, sender_id, subject, body)
             values (app.current_org_id(), 'org_owner_to_members', app.current_user_id(), 'S', 'B')",
        ),
    ] {
        let err = member.execute(sql, &[]).await.expect_err(what);
        assert_privilege_refused(&err, table, what);
    }
}
