//! `/api/v1/user/campaigns`, `/leads`, `/meetings`: each route for each role
//! (allowed and denied), another tenant's ids, the status machines, lists,
//! and the bulk import.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{Reply, TestApp};
use crate::organization::{Team, team};

const CAMPAIGNS: &str = "/api/v1/user/campaigns";
const LEADS: &str = "/api/v1/user/leads";
const MEETINGS: &str = "/api/v1/user/meetings";

fn ids(r: &Reply) -> Vec<String> {
    r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|x| x["id"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn field(r: &Reply, name: &str) -> String {
    r.body["errors"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["field"] == name))
        .and_then(|e| e["message"].as_str())
        .unwrap_or_else(|| panic!("no error on {name}: {r:?}"))
        .to_owned()
}

/// A campaign with two leads and a meeting, made by the owner.
async fn some_data(app: &TestApp, t: &Team) -> (String, String, String) {
    let campaign = app
        .post(
            CAMPAIGNS,
            json!({"name": "Spring push"}),
            Some(&t.owner.access),
        )
        .await
        .expect(201)
        .str("/id");
    let lead = app
        .post(
            LEADS,
            json!({"email": "Lea@Prospect.test", "full_name": "Lea Stone", "company": "Stone & Co", "campaign_id": campaign}),
            Some(&t.owner.access),
        )
        .await
        .expect(201)
        .str("/id");
    app.post(
        LEADS,
        json!({"email": "max@other.test"}),
        Some(&t.owner.access),
    )
    .await
    .expect(201);
    let meeting = app
        .post(
            MEETINGS,
            json!({"lead_id": lead, "scheduled_at": "2031-03-04T10:00:00Z"}),
            Some(&t.owner.access),
        )
        .await
        .expect(201)
        .str("/id");
    (campaign, lead, meeting)
}

#[tokio::test]
async fn every_role_reads_managers_write_admins_delete() {
    let app = TestApp::spawn().await;
    let t = team(&app, "acme").await;
    let (campaign, lead, meeting) = some_data(&app, &t).await;
    for (role, who) in t.by_role() {
        for path in [
            CAMPAIGNS.to_owned(),
            LEADS.to_owned(),
            MEETINGS.to_owned(),
            format!("{CAMPAIGNS}/{campaign}"),
            format!("{LEADS}/{lead}"),
            format!("{MEETINGS}/{meeting}"),
        ] {
            app.get(&path, Some(&who.access)).await.expect(200);
        }
        let writes = [
            app.post(
                CAMPAIGNS,
                json!({"name": format!("By {role}")}),
                Some(&who.access),
            )
            .await,
            app.post(
                LEADS,
                json!({"email": format!("{role}@lead.test")}),
                Some(&who.access),
            )
            .await,
            app.patch(
                &format!("{LEADS}/{lead}"),
                json!({"company": format!("Co {role}")}),
                Some(&who.access),
            )
            .await,
            app.patch(
                &format!("{MEETINGS}/{meeting}"),
                json!({"scheduled_at": "2031-03-05T10:00:00Z"}),
                Some(&who.access),
            )
            .await,
            app.post(
                &format!("{LEADS}/import"),
                json!([{"email": format!("{role}@import.test")}]),
                Some(&who.access),
            )
            .await,
        ];
        for r in writes {
            if role == "member" {
                r.problem(
                    403,
                    "This action requires one of the roles: owner, admin, manager",
                );
            } else {
                assert!(r.status.is_success(), "{role}: {r:?}");
            }
        }
    }
    assert_eq!(app.count("select count(*) from campaigns").await, 4);
    // Deleting: managers and members are refused, and nothing goes.
    for who in [&t.manager, &t.member] {
        for path in [
            format!("{MEETINGS}/{meeting}"),
            format!("{LEADS}/{lead}"),
            format!("{CAMPAIGNS}/{campaign}"),
        ] {
            app.delete(&path, Some(&who.access))
                .await
                .problem(403, "This action requires one of the roles: owner, admin");
        }
    }
    assert_eq!(app.count("select count(*) from meetings").await, 1);
    // An admin deletes: the meeting, then the campaign (its lead stays, without it).
    app.delete(&format!("{MEETINGS}/{meeting}"), Some(&t.admin.access))
        .await
        .expect(204);
    app.delete(&format!("{CAMPAIGNS}/{campaign}"), Some(&t.admin.access))
        .await
        .expect(204);
    let r = app
        .get(&format!("{LEADS}/{lead}"), Some(&t.member.access))
        .await
        .expect(200);
    assert!(r.body["campaign_id"].is_null(), "{r:?}");
    app.delete(&format!("{LEADS}/{lead}"), Some(&t.owner.access))
        .await
        .expect(204);
    app.get(&format!("{LEADS}/{lead}"), Some(&t.owner.access))
        .await
        .problem(404, "Lead not found");
    // The platform admin is not an organization user.
    let admin = crate::auth::platform_admin(&app).await;
    app.get(LEADS, Some(&admin.access))
        .await
        .problem(403, "Organization user access required");
}

#[tokio::test]
async fn another_tenants_prospecting_data_is_not_found_and_not_listed() {
    let app = TestApp::spawn().await;
    let a = team(&app, "alpha").await;
    let b = team(&app, "beta").await;
    let (campaign, lead, meeting) = some_data(&app, &b).await;
    let before = app.count("select count(*) + sum(length(t::text)) from (select c::text as t from campaigns c union all select l::text from leads l union all select m::text from meetings m) x").await;
    for who in [&a.owner, &a.admin] {
        for (path, what) in [
            (format!("{CAMPAIGNS}/{campaign}"), "Campaign not found"),
            (format!("{LEADS}/{lead}"), "Lead not found"),
            (format!("{MEETINGS}/{meeting}"), "Meeting not found"),
        ] {
            app.get(&path, Some(&who.access)).await.problem(404, what);
            app.delete(&path, Some(&who.access))
                .await
                .problem(404, what);
        }
        app.patch(
            &format!("{CAMPAIGNS}/{campaign}"),
            json!({"name": "Taken"}),
            Some(&who.access),
        )
        .await
        .problem(404, "Campaign not found");
        app.patch(
            &format!("{LEADS}/{lead}"),
            json!({"status": "lost"}),
            Some(&who.access),
        )
        .await
        .problem(404, "Lead not found");
        app.patch(
            &format!("{MEETINGS}/{meeting}"),
            json!({"status": "cancelled"}),
            Some(&who.access),
        )
        .await
        .problem(404, "Meeting not found");
        // B's ids inside A's bodies: unknown in A.
        let r = app
            .post(
                LEADS,
                json!({"email": "x@y.test", "campaign_id": campaign}),
                Some(&who.access),
            )
            .await
            .expect(422);
        assert_eq!(
            field(&r, "campaign_id"),
            "no such campaign in this organization"
        );
        let r = app
            .post(
                MEETINGS,
                json!({"lead_id": lead, "scheduled_at": "2031-01-01T00:00:00Z"}),
                Some(&who.access),
            )
            .await
            .expect(422);
        assert_eq!(field(&r, "lead_id"), "no such lead in this organization");
        // And B's rows are in none of A's lists, whatever the filter.
        for path in [
            CAMPAIGNS.to_owned(),
            LEADS.to_owned(),
            MEETINGS.to_owned(),
            format!("{LEADS}?campaign_id={campaign}"),
            format!("{MEETINGS}?lead_id={lead}"),
            format!("{LEADS}?q=prospect"),
        ] {
            let r = app.get(&path, Some(&who.access)).await.expect(200);
            assert_eq!(r.body["total"], 0, "{path}: {r:?}");
        }
    }
    let after = app.count("select count(*) + sum(length(t::text)) from (select c::text as t from campaigns c union all select l::text from leads l union all select m::text from meetings m) x").await;
    assert_eq!(before, after, "B's data changed");
}

#[tokio::test]
async fn statuses_follow_their_machines() {
    let app = TestApp::spawn().await;
    let t = team(&app, "acme").await;
    let (campaign, lead, meeting) = some_data(&app, &t).await;
    let who = Some(t.manager.access.as_str());
    let lead_path = format!("{LEADS}/{lead}");
    // new → qualified skips steps.
    let r = app
        .patch(&lead_path, json!({"status": "qualified"}), who)
        .await
        .expect(422);
    assert_eq!(
        r.body["detail"],
        "status: cannot change from new to qualified"
    );
    for step in ["contacted", "replied", "qualified", "converted"] {
        let r = app
            .patch(&lead_path, json!({"status": step}), who)
            .await
            .expect(200);
        assert_eq!(r.body["status"], step);
    }
    app.patch(&lead_path, json!({"status": "new"}), who)
        .await
        .problem(422, "status: cannot change from converted to new");
    app.patch(&lead_path, json!({"status": "lost"}), who)
        .await
        .expect(200);
    app.patch(&lead_path, json!({"status": "contacted"}), who)
        .await
        .problem(422, "status: cannot change from lost to contacted");
    // Meetings: completed is final, and a finished meeting does not move.
    let m = format!("{MEETINGS}/{meeting}");
    app.patch(&m, json!({"status": "completed"}), who)
        .await
        .expect(200);
    app.patch(&m, json!({"status": "cancelled"}), who)
        .await
        .problem(422, "status: cannot change from completed to cancelled");
    app.patch(
        &m,
        json!({"scheduled_at": "2032-01-01T09:00:00+02:00"}),
        who,
    )
    .await
    .problem(422, "scheduled_at: only a scheduled meeting can be moved");
    // Campaigns: draft → active → paused → active → completed, not back.
    let c = format!("{CAMPAIGNS}/{campaign}");
    app.patch(&c, json!({"status": "paused"}), who)
        .await
        .problem(422, "status: cannot change from draft to paused");
    for step in ["active", "paused", "active", "completed"] {
        app.patch(&c, json!({"status": step}), who)
            .await
            .expect(200);
    }
    app.patch(&c, json!({"status": "draft"}), who)
        .await
        .problem(422, "status: cannot change from completed to draft");
    // The same rule holds for any other path: the trigger.
    let err = app
        .db
        .admin()
        .await
        .execute("update leads set status = 'new' where status = 'lost'", &[])
        .await
        .expect_err("the trigger");
    assert_eq!(crate::harness::sqlstate(&err), "VA422");
    // Unknown values are 422 naming the field and the allowed ones, in the
    // words of the list filter.
    app.patch(&lead_path, json!({"status": "won"}), who)
        .await
        .invalid(&[(
            "status",
            "must be one of new, contacted, replied, qualified, converted, lost",
        )]);
}

#[tokio::test]
async fn bad_input_is_422_naming_the_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let t = team(&app, "acme").await;
    let (_, lead, _) = some_data(&app, &t).await;
    let who = Some(t.owner.access.as_str());
    let before = app.count("select count(*) from leads").await;
    for (body, bad) in [
        (json!({"email": "not an email"}), "email"),
        (
            json!({"email": "a@b.test", "full_name": "Ann\u{202E}"}),
            "full_name",
        ),
        (
            json!({"email": "a@b.test", "company": "x".repeat(201)}),
            "company",
        ),
        (json!({"email": "a@b.test", "status": "won"}), "status"),
        (
            json!({"email": "a@b.test", "campaign_id": "nope"}),
            "campaign_id",
        ),
        (json!({"email": "a@b.test", "phone": "123"}), "phone"),
        (json!({"full_name": "No Email"}), "email"),
    ] {
        let r = app.post(LEADS, body.clone(), who).await.expect(422);
        field(&r, bad);
    }
    app.post(LEADS, json!({"email": "LEA@prospect.test"}), who)
        .await
        .problem(409, "A lead with this email already exists");
    app.patch(&format!("{LEADS}/{lead}"), json!({}), who)
        .await
        .problem(422, "body: send at least one field to change");
    app.patch(
        &format!("{LEADS}/{lead}"),
        json!({"email": "max@other.test"}),
        who,
    )
    .await
    .problem(409, "A lead with this email already exists");
    let r = app
        .post(CAMPAIGNS, json!({"name": " "}), who)
        .await
        .expect(422);
    assert_eq!(field(&r, "name"), "is required");
    let r = app
        .post(
            MEETINGS,
            json!({"lead_id": lead, "scheduled_at": "tomorrow"}),
            who,
        )
        .await
        .expect(422);
    field(&r, "scheduled_at");
    app.get(&format!("{LEADS}/not-a-uuid"), who)
        .await
        .invalid(&[("lead_id", "must be a UUID")]);
    assert_eq!(app.count("select count(*) from leads").await, before);
    // A null clears an optional field.
    let r = app
        .patch(
            &format!("{LEADS}/{lead}"),
            json!({"full_name": null, "campaign_id": null}),
            who,
        )
        .await
        .expect(200);
    assert!(
        r.body["full_name"].is_null() && r.body["campaign_id"].is_null(),
        "{r:?}"
    );
    assert_eq!(r.body["email"], "lea@prospect.test");
}

#[tokio::test]
async fn lists_filter_search_sort_and_page() {
    let app = TestApp::spawn().await;
    let t = team(&app, "acme").await;
    let who = Some(t.member.access.as_str());
    let owner = Some(t.owner.access.as_str());
    let campaign = app
        .post(CAMPAIGNS, json!({"name": "Zeta"}), owner)
        .await
        .expect(201)
        .str("/id");
    app.post(
        CAMPAIGNS,
        json!({"name": "alpha", "status": "active"}),
        owner,
    )
    .await
    .expect(201);
    let leads = json!([
        {"email": "c@x.test", "full_name": "Carla", "company": "100% Juice", "campaign_id": campaign},
        {"email": "a@x.test", "full_name": "Abel", "status": "contacted", "campaign_id": campaign},
        {"email": "b@x.test", "company": "Bees_Inc"},
    ]);
    app.post(&format!("{LEADS}/import"), leads, owner)
        .await
        .expect(201);
    let r = app
        .get(&format!("{LEADS}?sort=name&order=asc"), who)
        .await
        .expect(200);
    let emails: Vec<&str> = r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|l| l["email"].as_str().unwrap_or(""))
        .collect();
    // By name, else email: Abel, b@x.test, Carla.
    assert_eq!(emails, vec!["a@x.test", "b@x.test", "c@x.test"]);
    let r = app
        .get(
            &format!("{LEADS}?campaign_id={campaign}&status=contacted"),
            who,
        )
        .await
        .expect(200);
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["items"][0]["email"], "a@x.test");
    // Literal search: % and _ are themselves.
    let r = app.get(&format!("{LEADS}?q=100%25"), who).await.expect(200);
    assert_eq!(r.body["total"], 1, "{r:?}");
    let r = app.get(&format!("{LEADS}?q=s_i"), who).await.expect(200);
    assert_eq!(r.body["total"], 1, "{r:?}");
    let r = app.get(&format!("{LEADS}?q=s%25i"), who).await.expect(200);
    assert_eq!(r.body["total"], 0, "{r:?}");
    // Pages.
    let p1 = app
        .get(
            &format!("{LEADS}?per_page=2&sort=created_at&order=asc"),
            who,
        )
        .await
        .expect(200);
    let p2 = app
        .get(
            &format!("{LEADS}?per_page=2&page=2&sort=created_at&order=asc"),
            who,
        )
        .await
        .expect(200);
    assert_eq!(p1.body["total"], 3);
    assert_eq!(ids(&p1).len(), 2);
    assert_eq!(ids(&p2).len(), 1);
    assert!(!ids(&p1).contains(&ids(&p2)[0]));
    // Campaigns with their lead counts, by name.
    let r = app
        .get(&format!("{CAMPAIGNS}?sort=name&order=asc"), who)
        .await
        .expect(200);
    assert_eq!(r.body["items"][0]["name"], "alpha");
    assert_eq!(r.body["items"][1]["leads_count"], 2);
    let r = app
        .get(&format!("{CAMPAIGNS}?status=active"), who)
        .await
        .expect(200);
    assert_eq!(r.body["total"], 1);
    // Refusals name the parameter and the allowed values.
    for (query, bad, message) in [
        ("sort=email", "sort", "must be one of created_at, name"),
        (
            "status=won",
            "status",
            "must be one of new, contacted, replied, qualified, converted, lost",
        ),
        ("order=up", "order", "must be asc or desc"),
        ("campaign_id=x", "campaign_id", "must be a UUID"),
        (
            "per_page=500",
            "per_page",
            "must be a whole number from 1 to 100",
        ),
    ] {
        let r = app.get(&format!("{LEADS}?{query}"), who).await.expect(422);
        assert_eq!(field(&r, bad), message, "{query}");
    }
    let r = app
        .get(&format!("{MEETINGS}?sort=name"), who)
        .await
        .expect(422);
    assert_eq!(field(&r, "sort"), "must be one of scheduled_at, created_at");
}

#[tokio::test]
async fn an_import_is_all_or_nothing_and_names_its_bad_rows() {
    let app = TestApp::spawn().await;
    let t = team(&app, "acme").await;
    let (campaign, _, _) = some_data(&app, &t).await;
    let who = Some(t.manager.access.as_str());
    let path = format!("{LEADS}/import");
    let before = app.count("select count(*) from leads").await;
    let r = app
        .post(
            &path,
            json!([
                {"email": "ok1@new.test", "campaign_id": campaign},
                {"email": "broken"},
                {"email": "ok2@new.test", "status": "maybe"},
                {"email": "OK1@new.test"},
                {"email": "lea@prospect.test"},
                {"email": "ok3@new.test", "campaign_id": Uuid::new_v4()},
            ]),
            who,
        )
        .await
        .expect(422);
    // Field syntax first: rows 2 and 3.
    let rows: Vec<(u64, String)> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap_or(0),
                e["field"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![(2, "email".into()), (3, "status".into())],
        "{r:?}"
    );
    assert_eq!(
        r.body["detail"],
        "The import has invalid rows; nothing was imported"
    );
    // Then what the database sees: a duplicate within the batch, an email the
    // organization has, an unknown campaign.
    let r = app
        .post(
            &path,
            json!([
                {"email": "ok1@new.test", "campaign_id": campaign},
                {"email": "OK1@new.test"},
                {"email": "lea@prospect.test"},
                {"email": "ok3@new.test", "campaign_id": Uuid::new_v4()},
            ]),
            who,
        )
        .await
        .expect(422);
    let rows: Vec<(u64, String, String)> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap_or(0),
                e["field"].as_str().unwrap_or("").to_owned(),
                e["message"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (2, "email".into(), "appears in an earlier row (1)".into()),
            (
                3,
                "email".into(),
                "a lead with this email already exists".into()
            ),
            (
                4,
                "campaign_id".into(),
                "no such campaign in this organization".into()
            ),
        ]
    );
    assert_eq!(
        app.count("select count(*) from leads").await,
        before,
        "a refused import wrote something"
    );
    // CSV, with a header row.
    let csv = "email,full_name,company,status\nnina@csv.test,Nina Park,Park Ltd,contacted\nomar@csv.test,,,\n";
    let r = app
        .send_with(
            app.http
                .post(app.url(&path))
                .bearer_auth(&t.manager.access)
                .header("content-type", "text/csv")
                .body(csv),
        )
        .await
        .expect(201);
    assert_eq!(r.body, json!({"created": 2}));
    let r = app
        .get(&format!("{LEADS}?q=csv.test&sort=name&order=asc"), who)
        .await
        .expect(200);
    assert_eq!(r.body["items"][0]["full_name"], "Nina Park");
    assert_eq!(r.body["items"][0]["status"], "contacted");
    assert!(r.body["items"][1]["company"].is_null());
    let r = app
        .send_with(
            app.http
                .post(app.url(&path))
                .bearer_auth(&t.manager.access)
                .header("content-type", "text/csv")
                .body("mail\nx@y.test\n"),
        )
        .await
        .expect(422);
    assert_eq!(r.body["errors"].as_array().map(Vec::len), Some(2), "{r:?}");
    app.send_with(
        app.http
            .post(app.url(&path))
            .bearer_auth(&t.manager.access)
            .header("content-type", "text/plain")
            .body("x"),
    )
    .await
    .expect(415);
    // Bounds: empty, and more than 5,000.
    app.post(&path, json!([]), who)
        .await
        .problem(422, "body: must hold 1 to 5000 leads");
    let many: Vec<Value> = (0..5001)
        .map(|i| json!({"email": format!("l{i}@bulk.test")}))
        .collect();
    app.post(&path, Value::Array(many), who)
        .await
        .problem(422, "body: must hold 1 to 5000 leads");
    // 5,000 go in at once.
    let five: Vec<Value> = (0..5000)
        .map(|i| json!({"email": format!("l{i}@bulk.test"), "full_name": format!("Lead {i}")}))
        .collect();
    let r = app.post(&path, Value::Array(five), who).await.expect(201);
    assert_eq!(r.body, json!({"created": 5000}));
    assert_eq!(
        app.count("select count(*) from leads where email like '%@bulk.test'")
            .await,
        5000
    );
}

fn seed_demo(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_vectra"))
        .arg("seed-demo")
        .args(args)
        .env("DATABASE_ADMIN_URL", app.db.admin_url())
        .output()
        .expect("run vectra seed-demo")
}

/// What a dataset is made of, times left out (they are relative to now).
async fn shape(app: &TestApp) -> String {
    app.db
        .admin()
        .await
        .query_one(
            "select md5(string_agg(x, '|' order by x)) from (
               select 'o ' || name || ' ' || slug || ' ' || plan || ' ' || status as x from organizations
               union all select 'u ' || email || ' ' || full_name || ' ' || role || ' ' || status from users
               union all select 'c ' || c.name || ' ' || c.status || ' ' || o.slug from campaigns c join organizations o on o.id = c.organization_id
               union all select 'l ' || l.email || ' ' || coalesce(l.full_name, '') || ' ' || coalesce(l.company, '') || ' ' || l.status
                                || ' ' || coalesce(c.name, '') from leads l left join campaigns c on c.organization_id = l.organization_id and c.id = l.campaign_id
               union all select 'm ' || l.email || ' ' || m.status || ' ' || (m.scheduled_at > now())::text from meetings m join leads l on l.organization_id = m.organization_id and l.id = m.lead_id
             ) s",
            &[],
        )
        .await
        .expect("shape")
        .get(0)
}

#[tokio::test]
async fn seed_demo_makes_a_reproducible_dataset_its_owners_can_use() {
    let app = TestApp::spawn().await;
    let out = seed_demo(
        &app,
        &[
            "--orgs",
            "4",
            "--users-per-org",
            "5",
            "--leads-per-org",
            "60",
            "--seed",
            "42",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("demo data: 4 organizations, 20 users, "),
        "{stdout}"
    );
    assert_eq!(app.count("select count(*) from organizations").await, 4);
    assert_eq!(app.count("select count(*) from users").await, 20);
    assert_eq!(
        app.count("select count(*) from users where role = 'owner'")
            .await,
        4
    );
    assert_eq!(app.count("select count(*) from leads").await, 240);
    assert_eq!(app.count("select count(*) from leads l where not exists (select 1 from organizations o where o.id = l.organization_id)").await, 0);
    // A funnel, meetings on both sides of now, every row valid for the API.
    // Every stage of the funnel (each value of lead_status) has leads.
    assert_eq!(
        app.count("select count(distinct status) from leads").await,
        app.count("select count(*) from unnest(enum_range(null::lead_status))")
            .await
    );
    assert!(
        app.count(
            "select count(*) from meetings where scheduled_at > now() and status = 'scheduled'"
        )
        .await
            > 0
    );
    assert!(
        app.count(
            "select count(*) from meetings where scheduled_at < now() and status = 'completed'"
        )
        .await
            > 0
    );
    // The same seed on another database: the same data.
    let first = shape(&app).await;
    let other = TestApp::spawn().await;
    let out = seed_demo(
        &other,
        &[
            "--orgs",
            "4",
            "--users-per-org",
            "5",
            "--leads-per-org",
            "60",
            "--seed",
            "42",
        ],
    );
    assert!(out.status.success());
    assert_eq!(first, shape(&other).await, "the same seed gave other data");
    // A printed owner of an active organization signs in and sees its leads.
    let owner = stdout
        .lines()
        .find(|l| l.contains("\tactive\t"))
        .and_then(|l| l.split('\t').nth(3))
        .expect("an active owner")
        .to_owned();
    let tokens = app.login(&owner, vectra::seed::DEMO_PASSWORD).await;
    let r = app.get(LEADS, Some(&tokens.access)).await.expect(200);
    assert_eq!(r.body["total"], 60);
    // Run again: more data alongside (another seed), not a clash.
    let out = seed_demo(&app, &["--orgs", "1", "--seed", "43"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(app.count("select count(*) from organizations").await, 5);
}

#[tokio::test]
async fn seed_demo_refuses_a_database_with_real_users() {
    let app = TestApp::spawn().await;
    app.register("real@customer.test", crate::harness::PASSWORD, "Real Co")
        .await
        .expect(202);
    let out = seed_demo(&app, &["--orgs", "1"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--force"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(app.count("select count(*) from organizations").await, 1);
    let out = seed_demo(&app, &["--orgs", "1", "--force"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(app.count("select count(*) from organizations").await, 2);
}
