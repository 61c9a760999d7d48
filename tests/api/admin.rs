//! `/api/v1/admin/*`: the platform console, checked against seeded data,
//! refused to every other caller, and its suspensions and erasures proven
//! with live tokens.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::platform_admin;
use crate::harness::{PASSWORD, PLATFORM_ADMIN_EMAIL, Reply, TestApp, Tokens, seed::TENANT_TABLES};
use crate::organization::{join, team};

const ADMIN: &str = "/api/v1/admin";

/// Every console route with a body it would accept, `{org}` and `{user}`
/// standing for ids.
fn console_routes() -> Vec<(Method, &'static str, Value)> {
    vec![
        (Method::GET, "/overview", Value::Null),
        (Method::GET, "/organizations", Value::Null),
        (Method::POST, "/organizations", json!({"name": "Sneaky"})),
        (Method::GET, "/organizations/{org}", Value::Null),
        (
            Method::PATCH,
            "/organizations/{org}",
            json!({"plan": "enterprise"}),
        ),
        (
            Method::DELETE,
            "/organizations/{org}?hard=true",
            Value::Null,
        ),
        (
            Method::POST,
            "/organizations/{org}/users/invite",
            json!({"email": "spy@elsewhere.test", "role": "owner"}),
        ),
        (Method::GET, "/users", Value::Null),
        (
            Method::PATCH,
            "/users/{user}",
            json!({"status": "suspended"}),
        ),
        (Method::GET, "/system/metrics", Value::Null),
    ]
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    body: &Value,
    token: Option<&str>,
) -> Reply {
    let mut r = app.http.request(method, app.url(path));
    if !body.is_null() {
        r = r.json(body);
    }
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    app.send_with(r).await
}

/// Waits until the worker has handled every queued email.
fn items(r: &Reply, field: &str) -> Vec<String> {
    r.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {r:?}"))
        .iter()
        .map(|i| i[field].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A snapshot of every row of one organization in every tenant table.
async fn rows_of(app: &TestApp, org: Uuid) -> Vec<(String, String)> {
    let admin = app.db.admin().await;
    let mut out = Vec::new();
    for table in TENANT_TABLES {
        let row = admin
            .query_one(
                &format!(
                    "select count(*)::text || ':' || coalesce(md5(string_agg(t::text, ',' order by t::text)), '')
                       from public.{table} t where organization_id = $1"
                ),
                &[&org],
            )
            .await
            .expect(table);
        out.push((table.to_string(), row.get(0)));
    }
    out
}

#[tokio::test]
async fn the_console_refuses_every_other_caller() {
    let app = TestApp::spawn().await;
    let acme = team(&app, "acme").await;
    let before = rows_of(&app, acme.org_id).await;
    let ids = |p: &str| {
        format!(
            "{ADMIN}{}",
            p.replace("{org}", &acme.org_id.to_string())
                .replace("{user}", &acme.member.user_id.to_string())
        )
    };
    for (method, path, body) in console_routes() {
        for (role, who) in acme.by_role() {
            let r = send(&app, method.clone(), &ids(path), &body, Some(&who.access)).await;
            assert_eq!(r.status, 403, "{role} {method} {path}: {r:?}");
            r.problem(403, "Platform admin access required");
        }
        send(&app, method.clone(), &ids(path), &body, None)
            .await
            .expect(401);
        send(&app, method.clone(), &ids(path), &body, Some("not.a.token"))
            .await
            .expect(401);
    }
    // The platform admin's address, registered but not verified: refused
    // with the way out.
    app.post(
        "/api/v1/auth/register",
        json!({"email": PLATFORM_ADMIN_EMAIL, "password": PASSWORD, "full_name": "Pat"}),
        None,
    )
    .await
    .expect(202);
    let unverified = app.login(PLATFORM_ADMIN_EMAIL, PASSWORD).await;
    for (method, path, body) in console_routes() {
        let r = send(
            &app,
            method.clone(),
            &ids(path),
            &body,
            Some(&unverified.access),
        )
        .await
        .problem(403, "Platform admin access requires a verified email");
        assert!(
            r.str("/hint").contains("send-verification-email"),
            "{method} {path}: {r:?}"
        );
    }
    // None of it changed anything.
    assert_eq!(rows_of(&app, acme.org_id).await, before);
    assert_eq!(app.count("select count(*) from organizations").await, 1);
}

#[tokio::test]
async fn the_overview_counts_the_platform_exactly() {
    let app = TestApp::spawn().await;
    let pa = platform_admin(&app).await;
    let acme = team(&app, "acme").await; // 4 users
    let globex = app.verified_owner("owner@globex.test", "Globex").await;
    let globex_id: Uuid = app
        .get("/api/v1/user/me", Some(&globex.access))
        .await
        .str("/organization/id")
        .parse()
        .expect("uuid");
    // An empty organization on the pro plan, made 40 days ago.
    let initech = app
        .post(
            &format!("{ADMIN}/organizations"),
            json!({"name": "Initech", "plan": "pro"}),
            Some(&pa.access),
        )
        .await
        .expect(201);
    let db = app.db.admin().await;
    db.batch_execute(&format!(
        "update organizations set created_at = now() - interval '40 days' where id = '{initech}';
         update users set created_at = now() - interval '40 days' where email = 'owner@globex.test';
         insert into campaigns (organization_id, name, status) values
           ('{acme}', 'A1', 'active'), ('{acme}', 'A2', 'active'), ('{acme}', 'A3', 'draft'),
           ('{globex}', 'G1', 'paused');
         insert into leads (organization_id, email, status) values
           ('{acme}', 'l1@x.test', 'new'), ('{acme}', 'l2@x.test', 'converted'),
           ('{acme}', 'l3@x.test', 'converted'), ('{acme}', 'l4@x.test', 'lost'),
           ('{globex}', 'l5@x.test', 'qualified'), ('{globex}', 'l6@x.test', 'new');
         insert into meetings (organization_id, lead_id, scheduled_at, status)
           select organization_id, id, now() + interval '1 day', 'scheduled' from leads where email in ('l1@x.test', 'l5@x.test');
         insert into meetings (organization_id, lead_id, scheduled_at, status)
           select organization_id, id, now() - interval '1 day', 'scheduled' from leads where email = 'l2@x.test';
         insert into meetings (organization_id, lead_id, scheduled_at, status)
           select organization_id, id, now() + interval '2 days', 'cancelled' from leads where email = 'l3@x.test';",
        initech = initech.str("/id"),
        acme = acme.org_id,
        globex = globex_id,
    ))
    .await
    .expect("seed");
    // One organization suspended, one user suspended, one email failed.
    app.patch(
        &format!("{ADMIN}/organizations/{globex_id}"),
        json!({"status": "suspended"}),
        Some(&pa.access),
    )
    .await
    .expect(200);
    app.patch(
        &format!("{ADMIN}/users/{}", acme.manager.user_id),
        json!({"status": "suspended"}),
        Some(&pa.access),
    )
    .await
    .expect(200);
    app.settle_outbox().await;
    db.batch_execute(&format!(
        "insert into email_outbox (organization_id, to_email, template, context, status, last_error)
         values ('{}', 'gone@x.test', 'verify-email', '{{}}', 'failed', 'mailbox unavailable')",
        acme.org_id
    ))
    .await
    .expect("failed email");
    // Every email so far was delivered: the sink saw them all.
    let delivered = app.mail.all().len() as u64;

    // The overview is a snapshot: taken before all this, it still says so.
    let before = app
        .get(&format!("{ADMIN}/overview"), Some(&pa.access))
        .await
        .expect(200);
    app.refresh_overview().await;
    let mut r = app
        .get(&format!("{ADMIN}/overview"), Some(&pa.access))
        .await
        .expect(200);
    assert_ne!(before.body["leads"], r.body["leads"]);
    let body = r.body.as_object_mut().expect("an object");
    let as_of = body.remove("as_of").expect("as_of");
    let age = body.remove("age_seconds").expect("age_seconds");
    let as_of = time::OffsetDateTime::parse(
        as_of.as_str().expect("a time"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("RFC 3339");
    assert!(
        (time::OffsetDateTime::now_utc() - as_of).whole_seconds() < 60,
        "{as_of}"
    );
    assert!(age.as_u64().is_some_and(|a| a < 60), "{age}");
    assert_eq!(
        r.body,
        json!({
            "organizations": {
                "total": 3,
                "by_status": {"active": 2, "suspended": 1, "deleted": 0},
                "by_plan": {"free": 2, "starter": 0, "pro": 1, "enterprise": 0},
                "new_last_30_days": 2,
            },
            "users": {
                "total": 6,
                "by_role": {"platform_admin": 1, "owner": 2, "admin": 1, "manager": 1, "member": 1},
                "by_status": {"active": 5, "suspended": 1, "removed": 0},
                "new_last_30_days": 5,
            },
            "campaigns": {"total": 4, "active": 2},
            "leads": {"total": 6, "converted": 2, "conversion_rate": 0.3333},
            "meetings": {"scheduled_upcoming": 2},
            "emails": {"sent": delivered, "failed": 1, "pending": 0},
        })
    );
    assert_eq!(
        delivered, 6,
        "two verifications, three invitations, one suspension notice"
    );
}

#[tokio::test]
async fn with_no_leads_the_conversion_rate_is_zero() {
    let app = TestApp::spawn().await;
    let pa = platform_admin(&app).await;
    app.refresh_overview().await;
    let r = app
        .get(&format!("{ADMIN}/overview"), Some(&pa.access))
        .await
        .expect(200);
    assert_eq!(
        r.body["leads"],
        json!({"total": 0, "converted": 0, "conversion_rate": 0})
    );
    assert_eq!(r.body["organizations"]["total"], 0);
    assert_eq!(r.body["users"]["by_role"]["platform_admin"], 1);
}

#[tokio::test]
async fn organizations_filter_sort_and_page() {
    let app = TestApp::spawn().await;
    let pa = platform_admin(&app).await;
    team(&app, "acme").await; // 4 users, free
    app.verified_owner("owner@globex.test", "Globex").await; // 1 user, free
    for (name, plan) in [
        ("Initech", "pro"),
        ("Umbrella 100%", "starter"),
        ("Hooli", "enterprise"),
    ] {
        app.post(
            &format!("{ADMIN}/organizations"),
            json!({"name": name, "plan": plan}),
            Some(&pa.access),
        )
        .await
        .expect(201);
    }
    let list = |query: &str| {
        let app = &app;
        let token = pa.access.clone();
        let path = format!("{ADMIN}/organizations?{query}");
        async move { app.get(&path, Some(&token)).await }
    };
    // Newest first by default; each item with its users_count.
    let r = list("").await.expect(200);
    assert_eq!(
        items(&r, "slug"),
        ["hooli", "umbrella-100", "initech", "globex", "acme"]
    );
    assert_eq!(r.body["total"], 5);
    assert_eq!(r.body["items"][4]["users_count"], 4);
    assert_eq!(r.body["items"][3]["users_count"], 1);
    assert_eq!(r.body["items"][0]["users_count"], 0);
    // Sorts.
    let r = list("sort=name&order=asc").await.expect(200);
    assert_eq!(
        items(&r, "slug"),
        ["acme", "globex", "hooli", "initech", "umbrella-100"]
    );
    let r = list("sort=name&order=desc").await.expect(200);
    assert_eq!(
        items(&r, "slug"),
        ["umbrella-100", "initech", "hooli", "globex", "acme"]
    );
    let r = list("sort=plan&order=desc").await.expect(200);
    assert_eq!(
        items(&r, "plan"),
        ["enterprise", "pro", "starter", "free", "free"]
    );
    let r = list("sort=users_count&order=desc&per_page=2")
        .await
        .expect(200);
    assert_eq!(items(&r, "slug"), ["acme", "globex"]);
    let r = list("sort=created_at&order=asc&per_page=1")
        .await
        .expect(200);
    assert_eq!(items(&r, "slug"), ["acme"]);
    // Filters: plan, status, and q on name or slug, case-insensitive and literal.
    let r = list("plan=free&sort=name&order=asc").await.expect(200);
    assert_eq!(items(&r, "slug"), ["acme", "globex"]);
    let r = list("q=GLOB").await.expect(200);
    assert_eq!(items(&r, "slug"), ["globex"]);
    let r = list("q=umbrella-1").await.expect(200);
    assert_eq!(items(&r, "slug"), ["umbrella-100"], "slug matches");
    let r = list("q=100%25").await.expect(200);
    assert_eq!(items(&r, "slug"), ["umbrella-100"], "% is literal");
    let r = list("q=%25").await.expect(200);
    assert_eq!(
        items(&r, "slug"),
        ["umbrella-100"],
        "% alone matches only a %"
    );
    let r = list("q=_").await.expect(200);
    assert_eq!(r.body["total"], 0, "_ is literal too");
    let hooli = app
        .get(&format!("{ADMIN}/organizations?q=hooli"), Some(&pa.access))
        .await
        .str("/items/0/id");
    app.delete(&format!("{ADMIN}/organizations/{hooli}"), Some(&pa.access))
        .await
        .expect(200);
    let r = list("status=deleted").await.expect(200);
    assert_eq!(items(&r, "slug"), ["hooli"]);
    let r = list("status=active").await.expect(200);
    assert_eq!(r.body["total"], 4);
    // Pages: the last, one past it, and the bounds.
    let r = list("sort=name&order=asc&per_page=2&page=3")
        .await
        .expect(200);
    assert_eq!(items(&r, "slug"), ["umbrella-100"]);
    assert_eq!(
        (
            r.body["page"].clone(),
            r.body["per_page"].clone(),
            r.body["total"].clone()
        ),
        (json!(3), json!(2), json!(5))
    );
    let r = list("per_page=2&page=4").await.expect(200);
    assert_eq!(r.body["items"], json!([]));
    assert_eq!(r.body["total"], 5);
    let r = list("per_page=100").await.expect(200);
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(5));
    // Bad parameters: 422 naming what is allowed.
    for (query, field, message) in [
        ("per_page=101", "per_page", "must be"),
        ("page=0", "page", "must be"),
        (
            "sort=slug",
            "sort",
            "must be one of created_at, name, plan, users_count",
        ),
        (
            "plan=gold",
            "plan",
            "must be one of free, starter, pro, enterprise",
        ),
        (
            "status=gone",
            "status",
            "must be one of active, suspended, deleted",
        ),
        ("order=up", "order", "must be asc or desc"),
        ("page=99999999999999999999", "page", "must be"),
    ] {
        let r = list(query).await.expect(422);
        assert_eq!(r.body["errors"][0]["field"], field, "{query}: {r:?}");
        assert!(
            r.body["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(message),
            "{query}: {r:?}"
        );
    }
}

#[tokio::test]
async fn an_organization_shows_its_owners_counts_and_pending_invitations() {
    let app = TestApp::spawn().await;
    let pa = platform_admin(&app).await;
    let acme = team(&app, "acme").await;
    app.post(
        "/api/v1/user/organizations/me/users/invite",
        json!({"email": "pending@acme.test", "role": "manager"}),
        Some(&acme.owner.access),
    )
    .await
    .expect(201);
    app.db
        .admin()
        .await
        .batch_execute(&format!(
            "insert into campaigns (organization_id, name) values ('{0}', 'C');
             insert into leads (organization_id, email) values ('{0}', 'a@l.test'), ('{0}', 'b@l.test');",
            acme.org_id
        ))
        .await
        .expect("seed");
    let r = app
        .get(
            &format!("{ADMIN}/organizations/{}", acme.org_id),
            Some(&pa.access),
        )
        .await
        .expect(200);
    assert_eq!(r.body["slug"], "acme");
    assert_eq!(r.body["users_count"], 4);
    assert_eq!(
        r.body["counts"],
        json!({"users": 4, "campaigns": 1, "leads": 2, "meetings": 0})
    );
    assert_eq!(r.body["owners"].as_array().map(Vec::len), Some(1));
    assert_eq!(r.body["owners"][0]["email"], "owner@acme.test");
    assert_eq!(r.body["owners"][0]["email_verified"], true);
    let pending = r.body["pending_invitations"].as_array().expect("array");
    assert_eq!(
        pending.len(),
        1,
        "the three accepted ones are not pending: {r:?}"
    );
    assert_eq!(pending[0]["email"], "pending@acme.test");
    assert_eq!(pending[0]["role"], "manager");
    assert!(pending[0].get("token_hash").is_none());
    // Unknown and malformed ids.
    app.get(
        &format!("{ADMIN}/organizations/{}", Uuid::new_v4()),
        Some(&pa.access),
    )
    .await
    .problem(404, "Organization not found");
    app.get(
        &format!("{ADMIN}/organizations/not-a-uuid"),
        Some(&pa.access),
    )
    .await
    .invalid(&[("org_id", "must be a UUID")]);
}

/// The plan's flow: the platform admin creates an organization for a
/// customer, the owner accepts from the emailed link and invites a member,
/// and the platform admin sees both.
#[tokio::test]
async fn an_organization_created_by_the_platform_admin_gets_its_owner_and_team() {
    let app = TestApp::spawn().await;
    let pa = platform_admin(&app).await;
    let r = app
        .post(
            &format!("{ADMIN}/organizations"),
            json!({"name": "  Wayne Enterprises ", "plan": "enterprise", "settings": {"region": "eu"},
                   "owner_email": "Bruce@Wayne.test"}),
            Some(&pa.access),
        )
        .await
        .expect(201);
    assert_eq!(r.body["name"], "Wayne Enterprises");
    assert_eq!(r.body["slug"], "wayne-enterprises");
    assert_eq!(r.body["plan"], "enterprise");
    assert_eq!(r.body["settings"], json!({"region": "eu"}));
    assert_eq!(r.body["users_count"], 0);
    assert_eq!(r.body["owner_invitation"]["email"], "bruce@wayne.test");
    assert_eq!(r.body["owner_invitation"]["role"], "owner");
    let org = r.str("/id");
    // The same name again gets its own slug.
    let again = app
        .post(
            &format!("{ADMIN}/organizations"),
            json!({"name": "Wayne Enterprises"}),
            Some(&pa.access),
        )
        .await
        .expect(201);
    assert_eq!(again.body["slug"], "wayne-enterprises-2", "{again:?}");
    assert!(again.body.get("owner_invitation").is_none());

    let mail = app.mail.last_to("bruce@wayne.test").await;
    assert!(
        mail.subject.contains("Wayne Enterprises"),
        "{}",
        mail.subject
    );
    let accepted = app
        .post(
            "/api/v1/auth/accept-invitation",
            json!({"token": mail.token(), "password": PASSWORD, "full_name": "Bruce Wayne"}),
            None,
        )
        .await
        .expect(201);
    assert_eq!(accepted.body["user"]["role"], "owner");
    let owner = Tokens::from(&accepted);
    let alfred = join(&app, &owner, "alfred@wayne.test", "member").await;

    let r = app
        .get(
            &format!("{ADMIN}/users?organization_id={org}&sort=email&order=asc"),
            Some(&pa.access),
        )
        .await
        .expect(200);
    assert_eq!(
        items(&r, "email"),
        ["alfred@wayne.test", "bruce@wayne.test"]
    );
    assert_eq!(items(&r, "role"), ["member", "owner"]);
    assert_eq!(r.body["items"][0]["id"], alfred.user_id.to_string());
    assert_eq!(
        r.body["items"][0]["organization"]["slug"],
        "wayne-enterprises"
    );
    assert_eq!(r.body["items"][1]["is_platform_admin"], false);
    // The console's writes are in the organization's audit log, in the
    // platform admin's name.
    let audit = app
        .get(
            "/api/v1/user/organizations/me/audit-log?per_page=100",
            Some(&owner.access),
        )
        .await
        .expect(200);
    let by_admin: Vec<&str> = audit.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["actor_id"] == pa.user_id.to_string())
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        by_admin.contains(&"organization.create") && by_admin.contains(&"invitation.create"),
        "{audit:?}"
    );
}

#[tokio::test]
async fn creating_an_organization_names_every_bad_field() {
    let app = TestApp::spawn().await;
    let pa = platform_admin(&app).await;
    let r = app
        .post(
            &format!("{ADMIN}/organizations"),
            json!({"name": "   ", "plan": "gold", "settings": [1], "owner_email": "not-an-email", "status": "active"}),
            Some(&pa.access),
        )
        .await
        .expect(422);
    assert_eq!(
        r.fields(),
        ["name", "owner_email", "plan", "settings", "status"]
    );
    let big = "x".repeat(17 * 1024);
    let r = app
        .post(
            &format!("{ADMIN}/organizations"),
            json!({"name": "Big", "settings": {"k": big}}),
            Some(&pa.access),
        )
        .await
        .expect(422);
    assert_eq!(r.body["errors"][0]["field"], "settings");
    app.post(
        &format!("{ADMIN}/organizations"),
        json!({"name": "Nul\u{0}Co"}),
        Some(&pa.access),
    )
    .await
    .expect(422);
    // An owner who already has an account is refused, and nothing is created.
    app.verified_owner("taken@acme.test", "Acme").await;
    app.post(
        &format!("{ADMIN}/organizations"),
        json!({"name": "Second", "owner_email": "taken@acme.test"}),
        Some(&pa.access),
    )
    .await
    .problem(409, "A user with this email already exists");
    assert_eq!(app.count("select count(*) from organizations").await, 1);
}

#[tokio::test]
async fn the_platform_admin_invites_into_any_active_organization() {
    let app = TestApp::spawn().await;
    let pa = platform_admin(&app).await;
    let acme = team(&app, "acme").await;
    let invite = |org: String, body: Value| {
        let app = &app;
        let token = pa.access.clone();
        async move {
            app.post(
                &format!("{ADMIN}/organizations/{org}/users/invite"),
                body,
                Some(&token),
            )
            .await
        }
    };
    let r = invite(
        acme.org_id.to_string(),
        json!({"email": "Co-Owner@Acme.test", "role": "owner"}),
    )
    .await
    .expect(201);
    assert_eq!(r.body["email"], "co-owner@acme.test");
    assert_eq!(r.body["role"], "owner");
    assert_eq!(r.body["invited_by"], pa.user_id.to_string());
    let mail = app.mail.last_to("co-owner@acme.test").await;
    let accepted = app
        .post(
            "/api/v1/auth/accept-invitation",
            json!({"token": mail.token(), "password": PASSWORD, "full_name": "Co Owner"}),
            None,
        )
        .await
        .expect(201);
    assert_eq!(accepted.body["user"]["role"], "owner");
    assert_eq!(
        accepted.body["user"]["organization"]["id"],
        acme.org_id.to_string()
    );

    invite(
        acme.org_id.to_string(),
        json!({"email": "owner@acme.test", "role": "member"}),
    )
    .await
    .problem(409, "A user with this email already exists");
    invite(
        acme.org_id.to_string(),
        json!({"email": "x@acme.test", "role": "platform_admin"}),
    )
    .await
    .expect(422);
    invite(
        acme.org_id.to_string(),
        json!({"email": "nope", "role": "member"}),
    )
    .await
    .expect(422);
    invite(
        Uuid::new_v4().to_string(),
        json!({"email": "x@acme.test", "role": "member"}),
    )
    .await
    .problem(404, "Organization not found");
    app.patch(
        &format!("{ADMIN}/organizations/{}", acme.org_id),
        json!({"status": "suspended"}),
        Some(&pa.access),
    )
    .await
    .expect(200);
    invite(
        acme.org_id.to_string(),
        json!({"email": "late@acme.test", "role": "member"}),
    )
    .await
    .problem(409, "The organization is suspended; reactivate it first");
    assert_eq!(
        app.count("select count(*) from invitations where email = 'late@acme.test'")
            .await,
        0
    );
}

#[tokio::test]
async fn suspension_blocks_live_tokens_and_login_until_reactivated() {
    let app = TestApp::spawn().await;
    let pa = platform_admin(&app).await;
    let acme = team(&app, "acme").await;
    let globex = app.verified_owner("owner@globex.test", "Globex").await;
    let path = format!("{ADMIN}/organizations/{}", acme.org_id);
    let r = app
        .patch(
            &path,
            json!({"status": "suspended", "plan": "pro"}),
            Some(&pa.access),
        )
        .await
        .expect(200);
    assert_eq!(r.body["status"], "suspended");
    assert_eq!(r.body["plan"], "pro");
    // Every live token of the organization is refused at its next request …
    for (role, who) in acme.by_role() {
        let r = app.get("/api/v1/user/me", Some(&who.access)).await;
        assert_eq!(r.status, 403, "{role}: {r:?}");
        r.problem(403, "Organization suspended");
        app.post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": who.refresh}),
            None,
        )
        .await
        .expect(403);
    }
    // … and at login; another organization is untouched.
    app.post(
        "/api/v1/auth/login",
        json!({"email": "member@acme.test", "password": PASSWORD}),
        None,
    )
    .await
    .problem(403, "This organization is suspended");
    app.get("/api/v1/user/me", Some(&globex.access))
        .await
        .expect(200);
    // The owner is told, with what changed.
    app.settle_outbox().await;
    let mail = app.mail.last_to("owner@acme.test").await;
    assert!(mail.text.contains("plan: free → pro"), "{}", mail.text);
    assert!(
        mail.text.contains("status: active → suspended"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("The Vectra team"), "{}", mail.text);
    assert!(
        app.mail
            .to("member@acme.test")
            .iter()
            .all(|m| !m.text.contains("suspended"))
    );

    // Reactivation: the same tokens work again.
    app.patch(&path, json!({"status": "active"}), Some(&pa.access))
        .await
        .expect(200);
    for (_, who) in acme.by_role() {
        app.get("/api/v1/user/me", Some(&who.access))
            .await
            .expect(200);
    }
    app.login("member@acme.test", PASSWORD).await;
    app.settle_outbox().await;
    let told = app.mail.last_to("owner@acme.test").await;
    assert!(
        told.text.contains("status: suspended → active"),
        "{}",
        told.text
    );
    // Changing nothing sends nothing and logs nothing.
    let mails = app.mail.to("owner@acme.test").len();
    let queued = app.count("select count(*) from email_outbox").await;
    let entries = app
        .count("select count(*) from audit_log where action = 'organization.update'")
        .await;
    app.patch(&path, json!({"status": "active"}), Some(&pa.access))
        .await
        .expect(200);
    // Nothing queued by the request, so nothing to deliver either.
    assert_eq!(app.count("select count(*) from email_outbox").await, queued);
    assert_eq!(app.deliver_mail().await, 0);
    assert_eq!(app.mail.to("owner@acme.test").len(), mails);
    assert_eq!(
        app.count("select count(*) from audit_log where action = 'organization.update'")
            .await,
        entries
    );
    assert_eq!(entries, 2, "suspension and reactivation");
    // Bad changes.
    for body in [
        json!({"status": "deleted"}),
        json!({"status": "removed"}),
        json!({"plan": "gold"}),
        json!({"slug": "taken"}),
        json!({}),
        json!({"settings": "x"}),
        json!({"name": ""}),
    ] {
        let r = app.patch(&path, body.clone(), Some(&pa.access)).await;
        assert_eq!(r.status, 422, "{body}: {r:?}");
    }
    app.patch(
        &format!("{ADMIN}/organizations/{}", Uuid::new_v4()),
        json!({"plan": "pro"}),
        Some(&pa.access),
    )
    .await
    .problem(404, "Organization not found");
}

#[tokio::test]
async fn soft_delete_blocks_and_restores_hard_delete_erases_only_that_organization() {
    let app = TestApp::spawn().await;
    let pa = platform_admin(&app).await;
    let acme = team(&app, "acme").await;
    let globex = team(&app, "globex").await;
    let db = app.db.admin().await;
    for org in [acme.org_id, globex.org_id] {
        db.batch_execute(&format!(
            "insert into campaigns (organization_id, id, name) values ('{org}', gen_random_uuid(), 'C');
             insert into leads (organization_id, campaign_id, email)
               select organization_id, id, 'lead@x.test' from campaigns where organization_id = '{org}';
             insert into meetings (organization_id, lead_id, scheduled_at)
               select organization_id, id, now() + interval '1 day' from leads where organization_id = '{org}';
             insert into notifications (organization_id, sender_id, type, subject, body)
               select '{org}', id, 'org_owner_to_members', 'Hi', 'Hello' from users where email = 'owner@' || (select slug from organizations where id = '{org}') || '.test';"
        ))
        .await
        .expect("seed");
    }
    app.post(
        "/api/v1/user/organizations/me/users/invite",
        json!({"email": "pending@acme.test", "role": "member"}),
        Some(&acme.owner.access),
    )
    .await
    .expect(201);
    app.settle_outbox().await;
    let globex_before = rows_of(&app, globex.org_id).await;
    let path = format!("{ADMIN}/organizations/{}", acme.org_id);

    // Soft: blocked, kept, restorable.
    let r = app.delete(&path, Some(&pa.access)).await.expect(200);
    assert_eq!(
        r.body,
        json!({"id": acme.org_id, "status": "deleted", "erased": false})
    );
    app.get("/api/v1/user/me", Some(&acme.member.access))
        .await
        .problem(403, "Organization deleted");
    app.post(
        "/api/v1/auth/login",
        json!({"email": "owner@acme.test", "password": PASSWORD}),
        None,
    )
    .await
    .problem(403, "This organization has been deleted");
    let shown = app.get(&path, Some(&pa.access)).await.expect(200);
    assert_eq!(shown.body["status"], "deleted");
    assert!(shown.body["deleted_at"].is_string());
    assert_eq!(shown.body["counts"]["leads"], 1, "data kept");
    let restored = app
        .patch(&path, json!({"status": "active"}), Some(&pa.access))
        .await
        .expect(200);
    assert_eq!(restored.body["status"], "active");
    assert!(restored.body["deleted_at"].is_null());
    app.get("/api/v1/user/me", Some(&acme.member.access))
        .await
        .expect(200);

    // Bad flag.
    app.delete(&format!("{path}?hard=yes"), Some(&pa.access))
        .await
        .expect(422);

    // Hard: every row of it, in every tenant table, but the audit log.
    let r = app
        .delete(&format!("{path}?hard=true"), Some(&pa.access))
        .await
        .expect(200);
    assert_eq!(r.body["status"], "erased");
    assert_eq!(r.body["rows"]["users"], 4);
    assert_eq!(r.body["rows"]["leads"], 1);
    for (table, rows) in rows_of(&app, acme.org_id).await {
        if table == "audit_log" {
            continue;
        }
        assert!(rows.starts_with("0:"), "{table} still holds {rows}");
    }
    let erased_users = app
        .count("select count(*) from users where email like '%@acme.test'")
        .await;
    assert_eq!(erased_users, 0);
    assert_eq!(
        app.count("select count(*) from organizations where slug = 'acme'")
            .await,
        0
    );
    assert_eq!(
        app.count("select count(*) from sessions s where not exists (select 1 from users u where u.id = s.user_id)").await,
        0
    );
    // The erasure is on record; the organization's earlier entries too.
    let erase = db
        .query_one(
            "select actor_id, data from audit_log where action = 'organization.erase' and organization_id = $1",
            &[&acme.org_id],
        )
        .await
        .expect("erasure recorded");
    assert_eq!(erase.get::<_, Uuid>(0), pa.user_id);
    assert_eq!(erase.get::<_, Value>(1)["slug"], "acme");
    assert!(
        app.count(&format!(
            "select count(*) from audit_log where organization_id = '{}'",
            acme.org_id
        ))
        .await
            > 3
    );
    // Live tokens of the erased organization are dead.
    app.get("/api/v1/user/me", Some(&acme.owner.access))
        .await
        .expect(401);
    // Nothing of the other organization moved.
    assert_eq!(rows_of(&app, globex.org_id).await, globex_before);
    app.get("/api/v1/user/me", Some(&globex.member.access))
        .await
        .expect(200);
    app.get(&path, Some(&pa.access))
        .await
        .problem(404, "Organization not found");
    app.delete(&path, Some(&pa.access))
        .await
        .problem(404, "Organization not found");
}

#[tokio::test]
async fn users_filter_sort_and_page_across_organizations() {
    let app = TestApp::spawn().await;
    let pa = platform_admin(&app).await;
    let acme = team(&app, "acme").await;
    app.verified_owner("zed@globex.test", "Globex").await;
    app.db
        .admin()
        .await
        .batch_execute(
            "update users set full_name = 'Zed Zebra' where email = 'zed@globex.test';
             update users set full_name = 'Ann Apple' where email = 'member@acme.test';",
        )
        .await
        .expect("names");
    let list = |query: &str| {
        let app = &app;
        let token = pa.access.clone();
        let path = format!("{ADMIN}/users?{query}");
        async move { app.get(&path, Some(&token)).await }
    };
    let r = list("sort=email&order=asc").await.expect(200);
    assert_eq!(
        items(&r, "email"),
        [
            "admin@acme.test",
            "manager@acme.test",
            "member@acme.test",
            "ops@vectra.test",
            "owner@acme.test",
            "zed@globex.test"
        ]
    );
    assert_eq!(r.body["total"], 6);
    let ops = &r.body["items"][3];
    assert_eq!(ops["is_platform_admin"], true);
    assert!(ops["organization"].is_null());
    assert!(r.body["items"][0].get("password_hash").is_none());
    let r = list("sort=name&order=asc&per_page=2").await.expect(200);
    assert_eq!(
        items(&r, "email"),
        ["member@acme.test", "ops@vectra.test"],
        "Ann Apple, Platform Admin"
    );
    let r = list("sort=name&order=desc&per_page=2").await.expect(200);
    assert_eq!(
        items(&r, "email"),
        ["zed@globex.test", "manager@acme.test"],
        "Zed Zebra, The manager"
    );
    let r = list("role=owner&sort=email&order=asc").await.expect(200);
    assert_eq!(items(&r, "email"), ["owner@acme.test", "zed@globex.test"]);
    let r = list("role=platform_admin").await.expect(200);
    assert_eq!(items(&r, "email"), ["ops@vectra.test"]);
    let r = list(&format!("organization_id={}&role=member", acme.org_id))
        .await
        .expect(200);
    assert_eq!(items(&r, "email"), ["member@acme.test"]);
    let r = list("q=ZEBRA").await.expect(200);
    assert_eq!(items(&r, "email"), ["zed@globex.test"], "by name");
    let r = list("q=@ACME.").await.expect(200);
    assert_eq!(r.body["total"], 4, "by email");
    // last_login_at: never-signed-in users first when ascending.
    app.db
        .admin()
        .await
        .batch_execute("update users set last_login_at = null where email = 'admin@acme.test'")
        .await
        .expect("never signed in");
    let r = list("sort=last_login_at&order=asc&per_page=1")
        .await
        .expect(200);
    assert_eq!(items(&r, "email"), ["admin@acme.test"]);
    let r = list("sort=last_login_at&order=desc&per_page=1")
        .await
        .expect(200);
    assert_eq!(
        items(&r, "email"),
        ["zed@globex.test"],
        "the last to sign in"
    );
    // Status filter after a suspension.
    app.patch(
        &format!("{ADMIN}/users/{}", acme.member.user_id),
        json!({"status": "suspended"}),
        Some(&pa.access),
    )
    .await
    .expect(200);
    let r = list("status=suspended").await.expect(200);
    assert_eq!(items(&r, "email"), ["member@acme.test"]);
    let r = list("page=2&per_page=5&sort=email&order=asc")
        .await
        .expect(200);
    assert_eq!(items(&r, "email"), ["zed@globex.test"]);
    for (query, field) in [
        ("role=root", "role"),
        ("status=gone", "status"),
        ("sort=password_hash", "sort"),
        ("organization_id=acme", "organization_id"),
        ("per_page=0", "per_page"),
    ] {
        let r = list(query).await.expect(422);
        assert_eq!(r.body["errors"][0]["field"], field, "{query}: {r:?}");
    }
}

#[tokio::test]
async fn suspending_a_user_ends_its_sessions_and_reactivating_lets_it_sign_in() {
    let app = TestApp::spawn().await;
    let pa = platform_admin(&app).await;
    let acme = team(&app, "acme").await;
    let path = format!("{ADMIN}/users/{}", acme.member.user_id);
    let r = app
        .patch(&path, json!({"status": "suspended"}), Some(&pa.access))
        .await
        .expect(200);
    assert_eq!(r.body["status"], "suspended");
    assert_eq!(r.body["sessions_revoked"], 1);
    app.assert_session_revoked(&acme.member).await;
    app.post(
        "/api/v1/auth/login",
        json!({"email": "member@acme.test", "password": PASSWORD}),
        None,
    )
    .await
    .problem(403, "This account is suspended");
    // The rest of the team is untouched.
    app.get("/api/v1/user/me", Some(&acme.admin.access))
        .await
        .expect(200);
    let r = app
        .patch(&path, json!({"status": "active"}), Some(&pa.access))
        .await
        .expect(200);
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["sessions_revoked"], 0);
    app.login("member@acme.test", PASSWORD).await;
    let actions: Vec<String> = app
        .db
        .admin()
        .await
        .query(
            "select action from audit_log where target_id = $1 and actor_id = $2 order by created_at",
            &[&acme.member.user_id, &pa.user_id],
        )
        .await
        .expect("audit")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(actions, ["user.suspend", "user.reactivate"]);

    // The rules: the last active owner, itself, removed users, bad bodies.
    app.patch(
        &format!("{ADMIN}/users/{}", acme.owner.user_id),
        json!({"status": "suspended"}),
        Some(&pa.access),
    )
    .await
    .problem(
        409,
        "The organization must keep at least one active owner; suspend the organization instead",
    );
    app.patch(
        &format!("{ADMIN}/users/{}", pa.user_id),
        json!({"status": "suspended"}),
        Some(&pa.access),
    )
    .await
    .problem(
        409,
        "Platform admins are managed by the operator, not from the console",
    );
    app.delete(
        &format!(
            "/api/v1/user/organizations/me/users/{}",
            acme.manager.user_id
        ),
        Some(&acme.owner.access),
    )
    .await
    .expect(204);
    app.patch(
        &format!("{ADMIN}/users/{}", acme.manager.user_id),
        json!({"status": "active"}),
        Some(&pa.access),
    )
    .await
    .expect(409);
    for body in [
        json!({"status": "removed"}),
        json!({}),
        json!({"status": "active", "role": "owner"}),
        json!({"status": 1}),
    ] {
        let r = app.patch(&path, body.clone(), Some(&pa.access)).await;
        assert_eq!(r.status, 422, "{body}: {r:?}");
    }
    app.patch(
        &format!("{ADMIN}/users/{}", Uuid::new_v4()),
        json!({"status": "active"}),
        Some(&pa.access),
    )
    .await
    .problem(404, "User not found");
}

#[tokio::test]
async fn system_metrics_report_requests_latency_pool_database_and_outbox() {
    // The delivery metrics are the app's worker's own: it delivers here.
    let app = TestApp::spawn_with_worker(&[]).await;
    let pa = platform_admin(&app).await;
    for _ in 0..3 {
        app.get(&format!("{ADMIN}/overview"), Some(&pa.access))
            .await
            .expect(200);
    }
    app.get("/no/such/path/1", None).await.expect(404);
    app.get("/no/such/path/2", None).await.expect(404);
    app.register("new@acme.test", PASSWORD, "Acme")
        .await
        .expect(202);
    app.mail.last_to("new@acme.test").await;
    app.settle_outbox().await;
    let r = app
        .get(&format!("{ADMIN}/system/metrics"), Some(&pa.access))
        .await
        .expect(200);
    let b = &r.body;
    assert!(b["uptime_seconds"].is_u64(), "{r:?}");
    let total = b["requests"]["total"].as_u64().expect("total");
    let classes = &b["requests"]["by_status_class"];
    assert!(classes["4xx"].as_u64() >= Some(2), "{r:?}");
    assert_eq!(
        total,
        ["1xx", "2xx", "3xx", "4xx", "5xx"]
            .iter()
            .map(|c| classes[c].as_u64().unwrap_or(0))
            .sum::<u64>()
    );
    assert_eq!(classes["5xx"], 0);
    let routes = b["latency_seconds"]["routes"].as_array().expect("routes");
    let overview = routes
        .iter()
        .find(|r| r["route"] == "/api/v1/admin/overview" && r["method"] == "GET")
        .expect("the overview's route");
    assert_eq!(overview["count"], 3);
    for q in ["p50", "p95", "p99"] {
        assert!(
            overview[q].as_f64().is_some_and(|v| v > 0.0 && v < 30.0),
            "{q}: {overview}"
        );
    }
    let unmatched = routes
        .iter()
        .find(|r| r["route"] == "unmatched")
        .expect("unmatched");
    assert_eq!(unmatched["count"], 2, "raw paths never become labels");
    assert!(
        routes
            .iter()
            .all(|r| !r["route"].as_str().unwrap_or("").contains("/no/such"))
    );
    assert!(b["latency_seconds"]["overall"]["count"].as_u64() >= Some(total - 1));
    assert_eq!(b["latency_seconds"]["window_seconds"], 300);
    assert_eq!(b["database"]["pool"]["max_size"], 4);
    let pool = &b["database"]["pool"];
    assert!(pool["size"].as_u64() >= Some(1), "{r:?}");
    assert_eq!(
        pool["in_use"]
            .as_u64()
            .zip(pool["available"].as_u64())
            .map(|(u, a)| u + a),
        pool["size"].as_u64()
    );
    assert_eq!(pool["waiting"], 0);
    assert!(b["database"]["size_bytes"].as_u64() > Some(1_000_000));
    assert!(b["database"]["connections"].as_u64() >= Some(1));
    let sent = app
        .count("select count(*) from email_outbox where status = 'sent'")
        .await;
    assert_eq!(
        b["outbox"],
        json!({"pending": 0, "sending": 0, "failed": 0, "cancelled": 0, "sent_last_24h": sent})
    );
    assert_eq!(sent, 1, "the verification email");
    assert_eq!(b["email_delivery_seconds"]["count"], sent);
    assert!(
        b["email_delivery_seconds"]["p50"]
            .as_f64()
            .is_some_and(|v| v >= 0.0)
    );
}

#[tokio::test]
async fn prometheus_metrics_are_off_by_default() {
    let app = TestApp::spawn().await;
    app.get("/metrics", None)
        .await
        .problem(404, "No route for GET /metrics");
}

#[tokio::test]
async fn prometheus_metrics_need_the_bearer_token() {
    const TOKEN: &str = "metrics-token-0123456789abcdef";
    let app = TestApp::spawn_with(&[("METRICS_TOKEN", TOKEN)]).await;
    let r = app.get("/metrics", None).await.expect(401);
    assert_eq!(
        r.headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    app.get("/metrics", Some("metrics-token-0123456789abcdeX"))
        .await
        .expect(401);
    app.get("/metrics", Some("short")).await.expect(401);
    app.get("/health", None).await.expect(200);
    app.get("/health", None).await.expect(200);
    let r = app.get("/metrics", Some(TOKEN)).await.expect(200);
    assert!(
        r.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/plain")),
        "{r:?}"
    );
    let text = r.body.as_str().expect("text");
    assert!(
        text.contains(
            "vectra_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "vectra_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"401\"} 3"
        ),
        "{text}"
    );
    for name in [
        "# TYPE vectra_http_request_duration_seconds summary",
        "vectra_http_request_duration_seconds{method=\"GET\",route=\"/health\",quantile=\"0.99\"}",
        "vectra_http_all_requests_duration_seconds_count",
        "vectra_db_pool_max_size 4",
        "vectra_database_up 1",
        "vectra_database_size_bytes",
        "vectra_outbox_pending 0",
        "vectra_outbox_failed 0",
        "vectra_outbox_cancelled 0",
        "vectra_uptime_seconds",
    ] {
        assert!(text.contains(name), "{name} missing from {text}");
    }
}

#[tokio::test]
async fn prometheus_metrics_on_their_own_listener() {
    let app = TestApp::spawn_with(&[("METRICS_BIND_ADDR", "127.0.0.1:0")]).await;
    let metrics = app.metrics_base.clone().expect("metrics listener");
    // Not on the main listener (no token), only on the private one.
    app.get("/metrics", None).await.expect(404);
    let pa = platform_admin(&app).await;
    app.get(&format!("{ADMIN}/overview"), Some(&pa.access))
        .await
        .expect(200);
    let r = app
        .http
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("text");
    assert!(
        text.contains("vectra_http_requests_total{method=\"GET\",route=\"/api/v1/admin/overview\",status=\"200\"} 1"),
        "{text}"
    );
    let r = app
        .http
        .get(format!("{metrics}/api/v1/admin/overview"))
        .send()
        .await
        .expect("other path");
    assert_eq!(r.status(), 404, "the metrics listener serves nothing else");
}

#[tokio::test]
async fn console_input_never_errs_with_a_500() {
    let app = TestApp::spawn().await;
    let pa = platform_admin(&app).await;
    let acme = team(&app, "acme").await;
    let org = format!("{ADMIN}/organizations/{}", acme.org_id);
    for (method, path, body) in [
        (
            Method::POST,
            format!("{ADMIN}/organizations"),
            json!({"name": "a\u{0}b"}),
        ),
        (
            Method::POST,
            format!("{ADMIN}/organizations"),
            json!({"name": "Ok", "owner_email": "a\u{0}@b.test"}),
        ),
        (
            Method::POST,
            format!("{ADMIN}/organizations"),
            json!({"name": "Ok", "settings": {"k": "a\u{0}b"}}),
        ),
        (Method::PATCH, org.clone(), json!({"name": "a\u{0}b"})),
        (
            Method::PATCH,
            org.clone(),
            json!({"settings": {"k\u{0}": 1}}),
        ),
        (Method::PATCH, org.clone(), json!({"plan": 1e308})),
        (Method::PATCH, org.clone(), json!({"status": ["active"]})),
        (
            Method::POST,
            format!("{org}/users/invite"),
            json!({"email": "a\u{0}@b.test", "role": "member"}),
        ),
        (
            Method::POST,
            format!("{org}/users/invite"),
            json!({"email": "ok@b.test", "role": "mem\u{0}ber"}),
        ),
        (
            Method::PATCH,
            format!("{ADMIN}/users/{}", acme.member.user_id),
            json!({"status": "act\u{0}ive"}),
        ),
        (
            Method::GET,
            format!("{ADMIN}/organizations?q=a%00b"),
            Value::Null,
        ),
        (
            Method::GET,
            format!("{ADMIN}/users?q=%F0%9F%A6%80&role=%00"),
            Value::Null,
        ),
        (
            Method::GET,
            format!("{ADMIN}/users?organization_id=99999999999999999999"),
            Value::Null,
        ),
        (
            Method::GET,
            format!("{ADMIN}/organizations?page=-1&per_page=1e9"),
            Value::Null,
        ),
        (Method::DELETE, format!("{org}?hard=%00"), Value::Null),
        (
            Method::GET,
            format!("{ADMIN}/organizations/%00"),
            Value::Null,
        ),
    ] {
        let r = send(&app, method.clone(), &path, &body, Some(&pa.access)).await;
        let status = r.status.as_u16();
        assert!(
            (400..500).contains(&status),
            "{method} {path} {body}: {r:?}"
        );
        r.expect(status);
    }
    assert_eq!(app.count("select count(*) from organizations").await, 1);
    assert_eq!(
        app.count("select count(*) from organizations where status = 'active' and plan = 'free' and name = 'acme'").await,
        1
    );
}

/// Two console suspensions of an organization's only two owners, at once:
/// the second waits for the first's locks, then finds the last owner.
#[tokio::test]
async fn concurrent_suspensions_keep_an_active_owner() {
    let app = TestApp::spawn().await;
    let pa = platform_admin(&app).await;
    let acme = team(&app, "acme").await;
    let second = crate::organization::join(&app, &acme.owner, "owner2@acme.test", "owner").await;
    let session: Uuid = app
        .db
        .admin()
        .await
        .query_one(
            "select id from sessions where user_id = $1 and revoked_at is null order by created_at desc limit 1",
            &[&pa.user_id],
        )
        .await
        .expect("the admin's session")
        .get(0);
    let settings = vec![
        ("app.user_id", pa.user_id.to_string()),
        ("app.session_id", session.to_string()),
        ("app.role", "platform_admin".to_owned()),
        ("app.org_id", String::new()),
    ];
    let suspend = "select app.admin_update_user($1, '{\"status\": \"suspended\"}')";
    let t1 = app.db.as_role("vectra_platform_admin", &settings).await;
    let t2 = app.db.as_role("vectra_platform_admin", &settings).await;
    t1.query(suspend, &[&acme.owner.user_id])
        .await
        .expect("the first suspension");
    let second_id = second.user_id;
    let waiting = tokio::spawn(async move {
        let r = t2.query(suspend, &[&second_id]).await;
        (r.map(|_| ()).map_err(|e| crate::harness::message(&e)), t2)
    });
    // The second suspension waits for the first's locks (a lock wait in
    // pg_stat_activity, not a pause).
    app.db.wait_for_lock_waiters(1).await;
    assert!(!waiting.is_finished());
    t1.commit().await;
    let (result, t2) = waiting.await.expect("join");
    assert_eq!(
        result.err().as_deref(),
        Some(
            "The organization must keep at least one active owner; suspend the organization instead"
        )
    );
    t2.commit().await;
    assert_eq!(
        app.count(&format!(
            "select count(*) from users where organization_id = '{}' and role = 'owner' and status = 'active'",
            acme.org_id
        ))
        .await,
        1
    );
}
