//! Catalog audit: what a security reviewer checks first, asserted on the
//! migrated schema itself.

use std::collections::BTreeSet;

use crate::harness::{TestDb, message, seed::TENANT_TABLES, sqlstate};

const REQUEST_ROLES: &[&str] = &[
    "vectra_anon",
    "vectra_member",
    "vectra_platform_admin",
    "vectra_worker",
];

/// Every row-level security policy of the migrated schema, `table.policy`:
/// per table, what members see, what the platform admin sees, and what the
/// definer functions may touch (sql/schema/tables/*.sql writes each as a
/// CREATE POLICY; several were made by loops over the tables).
const POLICIES: &[&str] = &[
    "audit_log.audit_log_definer_insert",
    "audit_log.audit_log_definer_platform_admin",
    "audit_log.audit_log_member_select",
    "audit_log.audit_log_platform_admin_select",
    "campaigns.campaigns_definer_all",
    "campaigns.campaigns_definer_platform_admin",
    "campaigns.campaigns_member_select",
    "campaigns.campaigns_platform_admin_select",
    "email_outbox.email_outbox_definer_insert",
    "email_outbox.email_outbox_definer_platform_admin",
    "email_outbox.email_outbox_member_select",
    "email_outbox.email_outbox_platform_admin_select",
    "invitations.invitations_definer_all",
    "invitations.invitations_definer_platform_admin",
    "invitations.invitations_member_select",
    "invitations.invitations_platform_admin_select",
    "lead_suppressions.lead_suppressions_definer_select",
    "lead_suppressions.lead_suppressions_member_select",
    "lead_suppressions.lead_suppressions_platform_admin_select",
    "leads.leads_definer_all",
    "leads.leads_definer_platform_admin",
    "leads.leads_member_select",
    "leads.leads_platform_admin_select",
    "meetings.meetings_definer_all",
    "meetings.meetings_definer_platform_admin",
    "meetings.meetings_member_select",
    "meetings.meetings_platform_admin_select",
    "notifications.notifications_definer_all",
    "notifications.notifications_definer_platform_admin",
    "notifications.notifications_member_select",
    "notifications.notifications_platform_admin_select",
    "organizations.organizations_definer_all",
    "organizations.organizations_definer_platform_admin",
    "organizations.organizations_member_select",
    "organizations.organizations_platform_admin_select",
    "platform_overview.platform_overview_platform_admin_select",
    "sessions.sessions_definer_platform_admin",
    "sessions.sessions_definer_revoke",
    "sessions.sessions_definer_select",
    "users.users_definer_all",
    "users.users_definer_platform_admin",
    "users.users_member_select",
    "users.users_platform_admin_select",
];

#[tokio::test]
async fn every_table_with_organization_id_has_forced_rls_and_a_policy() {
    let db = TestDb::new().await;
    let admin = db.admin().await;
    let rows = admin
        .query(
            "select c.relname::text, c.relrowsecurity, c.relforcerowsecurity,
                    (select count(*) from pg_policy p where p.polrelid = c.oid)
               from pg_class c
               join pg_namespace n on n.oid = c.relnamespace
              where c.relkind in ('r', 'p')
                and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
                and exists (select 1 from pg_attribute a
                             where a.attrelid = c.oid and a.attname = 'organization_id' and not a.attisdropped)
              order by 1",
            &[],
        )
        .await
        .expect("catalog");
    let found: BTreeSet<String> = rows.iter().map(|r| r.get(0)).collect();
    let expected: BTreeSet<String> = TENANT_TABLES.iter().map(|t| t.to_string()).collect();
    // A new tenant table must also join the seed, so the RLS tests cover it.
    assert_eq!(
        found, expected,
        "tenant tables differ from harness::seed::TENANT_TABLES"
    );
    for r in &rows {
        let (name, enabled, forced, policies): (String, bool, bool, i64) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        assert!(enabled, "{name}: row level security not enabled");
        assert!(forced, "{name}: row level security not forced");
        // As many as POLICIES lists for the table, and at least one.
        let listed = POLICIES
            .iter()
            .filter(|p| p.split_once('.').is_some_and(|(t, _)| t == name))
            .count() as i64;
        assert!(listed >= 1, "{name}: no policy listed in POLICIES");
        assert_eq!(policies, listed, "{name}: policies differ from POLICIES");
    }
}

#[tokio::test]
async fn every_table_of_ours_has_forced_rls() {
    let db = TestDb::new().await;
    let rows = db
        .admin()
        .await
        .query(
            "select n.nspname || '.' || c.relname, c.relrowsecurity and c.relforcerowsecurity
               from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where c.relkind in ('r', 'p') and n.nspname in ('public', 'app', 'auth')
                and c.relname <> 'refinery_schema_history'",
            &[],
        )
        .await
        .expect("catalog");
    // Every table the migrations create (sql/migrations: `create table`); a
    // new one must be added here, and so to this check.
    let found: BTreeSet<String> = rows.iter().map(|r| r.get(0)).collect();
    let expected: BTreeSet<String> = [
        "app.platform_overview",
        "auth.login_failures",
        "auth.rate_limits",
        "auth.settings",
        "public.audit_log",
        "public.campaigns",
        "public.email_outbox",
        "public.invitations",
        "public.lead_suppressions",
        "public.leads",
        "public.meetings",
        "public.notifications",
        "public.one_time_tokens",
        "public.organizations",
        "public.sessions",
        "public.users",
    ]
    .iter()
    .map(|t| t.to_string())
    .collect();
    assert_eq!(found, expected);
    for r in rows {
        let name: String = r.get(0);
        assert!(r.get::<_, bool>(1), "{name}: RLS not enabled and forced");
    }
}

#[tokio::test]
async fn the_authenticator_is_powerless_by_itself() {
    let db = TestDb::new().await;
    let admin = db.admin().await;
    let row = admin
        .query_one(
            "select rolsuper, rolbypassrls, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin
               from pg_roles where rolname = 'vectra_authenticator'",
            &[],
        )
        .await
        .expect("role");
    assert!(!row.get::<_, bool>(0), "authenticator is superuser");
    assert!(!row.get::<_, bool>(1), "authenticator has BYPASSRLS");
    assert!(!row.get::<_, bool>(2), "authenticator must be NOINHERIT");
    assert!(!row.get::<_, bool>(3) && !row.get::<_, bool>(4));
    assert!(
        row.get::<_, bool>(5),
        "authenticator must be able to log in"
    );

    let owned: i64 = admin
        .query_one(
            "select (select count(*) from pg_class where relowner = r.oid)
                  + (select count(*) from pg_proc where proowner = r.oid)
                  + (select count(*) from pg_namespace where nspowner = r.oid)
                  + (select count(*) from pg_type where typowner = r.oid)
               from pg_roles r where rolname = 'vectra_authenticator'",
            &[],
        )
        .await
        .expect("owned")
        .get(0);
    assert_eq!(owned, 0, "vectra_authenticator owns objects");

    // EXECUTE in our schemas: auth.begin_request and nothing else.
    let executable: Vec<String> = admin
        .query(
            "select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
              where n.nspname in ('app', 'auth', 'public')
                and has_function_privilege('vectra_authenticator', p.oid, 'execute')
                and p.prokind = 'f'
                and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')
              order by 1",
            &[],
        )
        .await
        .expect("functions")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        executable,
        vec!["auth.begin_request(uuid,uuid,uuid,text)".to_owned()]
    );

    // Before any role switch, every table is out of reach.
    let auth = db.authenticator().await;
    let mut tables: Vec<&str> = TENANT_TABLES.to_vec();
    tables.extend([
        "organizations",
        "sessions",
        "one_time_tokens",
        "refinery_schema_history",
    ]);
    for t in tables {
        let err = auth
            .query(&format!("select count(*) from public.{t}"), &[])
            .await
            .expect_err(t);
        assert_eq!(sqlstate(&err), "42501", "{t}: {err}");
        assert!(message(&err).contains("permission denied"), "{t}: {err}");
    }
    // Nor can it call the other SECURITY DEFINER functions itself.
    let err = auth
        .query("select app.schema_version()", &[])
        .await
        .expect_err("schema_version as authenticator");
    assert_eq!(sqlstate(&err), "42501");
}

#[tokio::test]
async fn request_roles_are_nologin_without_bypassrls() {
    let db = TestDb::new().await;
    let admin = db.admin().await;
    for role in REQUEST_ROLES {
        let row = admin
            .query_one(
                "select rolcanlogin, rolbypassrls, rolsuper, pg_has_role('vectra_authenticator', rolname, 'member')
                   from pg_roles where rolname = $1",
                &[role],
            )
            .await
            .expect(role);
        assert!(!row.get::<_, bool>(0), "{role} can log in");
        assert!(!row.get::<_, bool>(1), "{role} has BYPASSRLS");
        assert!(!row.get::<_, bool>(2), "{role} is superuser");
        assert!(
            row.get::<_, bool>(3),
            "authenticator cannot switch to {role}"
        );
    }
}

#[tokio::test]
async fn secrets_are_out_of_reach_of_request_roles() {
    let db = TestDb::new().await;
    let admin = db.admin().await;
    for role in REQUEST_ROLES {
        for table in ["sessions", "one_time_tokens"] {
            for privilege in ["select", "insert", "update", "delete"] {
                let has: bool = admin
                    .query_one(
                        "select has_table_privilege($1, 'public.' || $2, $3)",
                        &[role, &table, &privilege],
                    )
                    .await
                    .expect("privilege")
                    .get(0);
                assert!(!has, "{role} has {privilege} on {table}");
            }
        }
        for (table, column) in [("users", "password_hash"), ("invitations", "token_hash")] {
            let has: bool = admin
                .query_one(
                    "select has_column_privilege($1, 'public.' || $2, $3, 'select')",
                    &[role, &table, &column],
                )
                .await
                .expect("column privilege")
                .get(0);
            assert!(!has, "{role} can read {table}.{column}");
        }
    }
    // An email's context may carry a one-time token: only the worker reads it.
    for role in ["vectra_anon", "vectra_member", "vectra_platform_admin"] {
        for column in ["context"] {
            let has: bool = admin
                .query_one(
                    "select has_column_privilege($1, 'public.email_outbox', $2, 'select')",
                    &[&role, &column],
                )
                .await
                .expect("column privilege")
                .get(0);
            assert!(!has, "{role} can read email_outbox.{column}");
        }
    }
}

#[tokio::test]
async fn policies_are_commented_and_never_for_public() {
    let db = TestDb::new().await;
    let rows = db
        .admin()
        .await
        .query(
            "select c.relname || '.' || p.polname, 0::oid = any (p.polroles),
                    obj_description(p.oid, 'pg_policy')
               from pg_policy p join pg_class c on c.oid = p.polrelid",
            &[],
        )
        .await
        .expect("policies");
    // Exactly the policies listed in POLICIES: a new one must be listed
    // (and so reviewed) there.
    let found: BTreeSet<String> = rows.iter().map(|r| r.get(0)).collect();
    let expected: BTreeSet<String> = POLICIES.iter().map(|p| p.to_string()).collect();
    assert_eq!(found, expected);
    for r in rows {
        let name: String = r.get(0);
        assert!(!r.get::<_, bool>(1), "{name} applies to PUBLIC");
        let comment: Option<String> = r.get(2);
        assert!(
            comment.is_some_and(|c| c.len() > 20),
            "{name} has no comment saying who it lets in and why"
        );
    }
}

#[tokio::test]
async fn security_definer_functions_pin_search_path_and_are_not_public() {
    let db = TestDb::new().await;
    let rows = db
        .admin()
        .await
        .query(
            "select p.oid::regprocedure::text, coalesce(p.proconfig, '{}'),
                    has_function_privilege('public', p.oid, 'execute')
               from pg_proc p join pg_namespace n on n.oid = p.pronamespace
              where p.prosecdef and n.nspname in ('app', 'auth', 'public')",
            &[],
        )
        .await
        .expect("functions");
    assert!(!rows.is_empty());
    for r in rows {
        let name: String = r.get(0);
        let config: Vec<String> = r.get(1);
        // pg_temp listed last: with `search_path = ''` PostgreSQL still looks
        // in pg_temp first for types, which a caller could shadow.
        assert!(
            config
                .iter()
                .any(|c| c == "search_path=pg_catalog, pg_temp"),
            "{name}: SECURITY DEFINER without SET search_path = pg_catalog, pg_temp ({config:?})"
        );
        assert!(!r.get::<_, bool>(2), "{name}: PUBLIC may execute it");
    }
}

#[tokio::test]
async fn request_roles_cannot_create_in_our_schemas() {
    let db = TestDb::new().await;
    let admin = db.admin().await;
    for role in REQUEST_ROLES.iter().chain(&["vectra_authenticator"]) {
        for schema in ["public", "app", "auth"] {
            let can: bool = admin
                .query_one(
                    "select has_schema_privilege($1, $2, 'create')",
                    &[role, &schema],
                )
                .await
                .expect("schema privilege")
                .get(0);
            assert!(!can, "{role} may create in {schema}");
        }
    }
}

#[tokio::test]
async fn the_definer_and_reader_roles_are_powerless_logins_of_nobody() {
    let db = TestDb::new().await;
    let admin = db.admin().await;
    for role in ["vectra_definer", "vectra_tenant_reader"] {
        let row = admin
            .query_one(
                "select rolcanlogin, rolbypassrls, rolsuper, rolcreaterole, rolcreatedb,
                        pg_has_role('vectra_authenticator', oid, 'member')
                   from pg_roles where rolname = $1",
                &[&role],
            )
            .await
            .expect(role);
        assert!(!row.get::<_, bool>(0), "{role} can log in");
        assert!(!row.get::<_, bool>(1), "{role} has BYPASSRLS");
        assert!(!row.get::<_, bool>(2), "{role} is superuser");
        assert!(!row.get::<_, bool>(3) && !row.get::<_, bool>(4), "{role}");
        assert!(!row.get::<_, bool>(5), "the service could switch to {role}");
        for request_role in REQUEST_ROLES {
            let member: bool = admin
                .query_one(
                    "select pg_has_role($1, $2, 'member')",
                    &[request_role, &role],
                )
                .await
                .expect("membership")
                .get(0);
            assert!(!member, "{request_role} can become {role}");
        }
    }
    // vectra_definer owns functions of schema app and nothing else.
    let owned: Vec<String> = admin
        .query(
            "select c.oid::regclass::text from pg_class c join pg_roles r on r.oid = c.relowner
              where r.rolname = 'vectra_definer'
             union all
             select n.nspname from pg_namespace n join pg_roles r on r.oid = n.nspowner
              where r.rolname = 'vectra_definer'
             union all
             select p.oid::regprocedure::text from pg_proc p join pg_roles r on r.oid = p.proowner
              join pg_namespace n on n.oid = p.pronamespace
              where r.rolname = 'vectra_definer' and n.nspname <> 'app'",
            &[],
        )
        .await
        .expect("owned")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(owned.is_empty(), "{owned:?}");
    // Every SECURITY DEFINER function of app is vectra_definer's, but those
    // that need pgcrypto, refinery's table or the cursor key (and touch no
    // tenant row), and app.list_positions: the positions of a page past
    // row-level security, within the caller's scope (sql/tests/16_lists.sql).
    let others: Vec<String> = admin
        .query(
            "select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
              join pg_roles r on r.oid = p.proowner
              where n.nspname = 'app' and p.prosecdef and r.rolname <> 'vectra_definer'
              order by 1",
            &[],
        )
        .await
        .expect("definers")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        others,
        vec![
            "app.list_positions(text,text,boolean,jsonb,jsonb,integer,integer)",
            "app.make_cursor(text,jsonb)",
            "app.new_token()",
            "app.open_cursor(text,text)",
            "app.schema_version()",
        ]
    );
    // And it can create nothing anywhere.
    for schema in ["public", "app", "auth"] {
        let can: bool = admin
            .query_one(
                "select has_schema_privilege('vectra_definer', $1, 'create')",
                &[&schema],
            )
            .await
            .expect("schema privilege")
            .get(0);
        assert!(!can, "vectra_definer may create in {schema}");
    }
}

#[tokio::test]
async fn no_role_but_the_owner_reads_the_secrets() {
    let db = TestDb::new().await;
    let admin = db.admin().await;
    for role in ["vectra_tenant_reader", "vectra_definer", "vectra_worker"] {
        for (table, column) in [
            ("users", "password_hash"),
            ("invitations", "token_hash"),
            ("email_outbox", "context"),
            ("sessions", "token_hash"),
            ("sessions", "token_key"),
            ("one_time_tokens", "token_hash"),
        ] {
            let has: bool = admin
                .query_one(
                    "select has_column_privilege($1, 'public.' || $2, $3, 'select')",
                    &[&role, &table, &column],
                )
                .await
                .expect("column privilege")
                .get(0);
            assert!(!has, "{role} can read {table}.{column}");
        }
    }
}

/// A request role with TEMP could shadow a type in pg_temp; the
/// migration takes TEMP from PUBLIC, and no role of ours gets it back.
#[tokio::test]
async fn no_request_role_creates_temporary_objects() {
    let db = TestDb::new().await;
    let admin = db.admin().await;
    for role in REQUEST_ROLES.iter().chain(&[
        "vectra_authenticator",
        "vectra_tenant_reader",
        "vectra_definer",
    ]) {
        let temp: bool = admin
            .query_one(
                "select has_database_privilege($1, current_database(), 'TEMPORARY')",
                &[role],
            )
            .await
            .expect("privilege")
            .get(0);
        assert!(!temp, "{role} may create temporary objects");
    }
    // A fresh database, migrated: the same.
    let fresh = TestDb::empty().await;
    vectra::db::migrate::run(&crate::harness::migrate_config(&fresh.admin_url(), None))
        .await
        .expect("migrate");
    let temp: bool = fresh
        .admin()
        .await
        .query_one(
            "select has_database_privilege('vectra_anon', current_database(), 'TEMPORARY')",
            &[],
        )
        .await
        .expect("privilege")
        .get(0);
    assert!(!temp, "PUBLIC keeps TEMP after vectra migrate");
}

/// What is wrong with one call against the migrated schema (nothing: empty).
async fn mismatches(admin: &tokio_postgres::Client, call: &vectra::db::calls::Call) -> Vec<String> {
    let statement = match admin.prepare(call.sql).await {
        Ok(s) => s,
        Err(e) => return vec![format!("{}: {}", call.name, message(&e))],
    };
    let params = statement.params();
    if params.len() != call.params.len() {
        return vec![format!(
            "{}: SQL takes {} parameters, Rust passes {}",
            call.name,
            params.len(),
            call.params.len()
        )];
    }
    let mut wrong = Vec::new();
    for (i, (ty, sent)) in params.iter().zip(call.params).enumerate() {
        if ty != sent {
            wrong.push(format!(
                "{}: parameter ${} is {ty}, Rust sends {sent}",
                call.name,
                i + 1
            ));
        }
    }
    let columns: Vec<_> = statement
        .columns()
        .iter()
        .map(|c| c.type_().clone())
        .collect();
    if !(call.result)(&columns) {
        wrong.push(format!("{}: returns {columns:?}", call.name));
    }
    wrong
}

/// Every statement of `vectra::db::calls` (all the SQL the service sends),
/// prepared against the migrated schema: the function exists, takes as many
/// parameters as the Rust function passes, each of exactly the type the Rust
/// value is sent as (the service parses its statements with those types),
/// and returns what the Rust side reads.
#[tokio::test]
async fn every_sql_function_the_code_calls_exists_with_its_signature() {
    use vectra::db::calls::{CATALOG, CREATE_PLATFORM_ADMIN, Call};

    let db = TestDb::new().await;
    let admin = db.admin().await;
    let mut wrong = Vec::new();
    for call in CATALOG.iter().chain([&CREATE_PLATFORM_ADMIN]) {
        wrong.extend(mismatches(&admin, call).await);
    }
    assert!(
        wrong.is_empty(),
        "calls that do not match the schema:\n{}",
        wrong.join("\n")
    );
    assert!(CATALOG.len() > 60, "the catalog lists the service's calls");

    // The check catches what it is for: a missing function, a parameter
    // too many, a parameter of the wrong type, a result read as another type.
    use tokio_postgres::types::Type;
    fn one_int(columns: &[Type]) -> bool {
        matches!(columns, [t] if *t == Type::INT4)
    }
    fn any(_: &[Type]) -> bool {
        true
    }
    const TEXT: &[Type] = &[Type::TEXT];
    const TEXT_TEXT: &[Type] = &[Type::TEXT, Type::TEXT];
    const TEXT_INT_TEXT: &[Type] = &[Type::TEXT, Type::INT4, Type::TEXT];
    const INT_INT_TEXT: &[Type] = &[Type::INT4, Type::INT4, Type::TEXT];
    let broken = [
        Call {
            name: "missing",
            sql: "select app.no_such_function($1)",
            params: TEXT,
            result: any,
        },
        Call {
            name: "arity",
            sql: "select app.get_lead($1, $2)",
            params: TEXT_TEXT,
            result: any,
        },
        Call {
            name: "param",
            sql: "select app.list_invitations($1, $2, $3)",
            params: TEXT_INT_TEXT,
            result: any,
        },
        Call {
            name: "result",
            sql: "select app.list_invitations($1, $2, $3)",
            params: INT_INT_TEXT,
            result: one_int,
        },
    ];
    for call in &broken {
        let name = call.name;
        assert!(
            !mismatches(&admin, call).await.is_empty(),
            "{name} not caught"
        );
    }
    // And the well-formed twin of the last passes.
    let good = Call {
        name: "good",
        sql: "select app.list_invitations($1, $2, $3)",
        params: INT_INT_TEXT,
        result: any,
    };
    assert!(mismatches(&admin, &good).await.is_empty());
}

/// Handlers and the worker send no SQL text of their own: every statement
/// is one of `db::calls` (so the test above covers them all).
#[test]
fn no_sql_text_outside_the_calls_module() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for dir in ["http", "email", "auth", "domain"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("src dir") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("read");
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                if code.contains("\"select ") || code.contains(".db.query(") {
                    found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "SQL outside db::calls:\n{}",
        found.join("\n")
    );
}
