//! Lists in O(page) (`app.page`, `app.list_positions`): in every documented sort and order, a walk by
//! `page` and a walk by `next_cursor` return each row exactly once and in the
//! documented order, ties included; a cursor walk survives rows inserted
//! between its pages; a cursor is checked (forged, altered, or made for
//! another list, sort, order or filter: a 422 naming it); totals are exact up
//! to the cap and flagged beyond; `page` stays within its depth; the counts
//! kept with campaigns and organizations follow every write.
//!
//! The expected order is the documented one, asked of the database
//! independently (as the superuser, `ORDER BY key, id`), never the list's own.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::platform_admin;
use crate::harness::{Reply, TestApp};
use crate::organization::team;

const LEADS: &str = "/api/v1/user/leads";
const MEETINGS: &str = "/api/v1/user/meetings";
const CAMPAIGNS: &str = "/api/v1/user/campaigns";
const ORGANIZATIONS: &str = "/api/v1/admin/organizations";

fn ids(r: &Reply) -> Vec<String> {
    r.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("items: {}", r.body))
        .iter()
        .map(|x| x["id"].as_str().expect("an id").to_owned())
        .collect()
}

fn field(r: &Reply, name: &str) -> String {
    r.body["errors"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["field"] == name))
        .and_then(|e| e["message"].as_str())
        .unwrap_or_else(|| panic!("no error on {name}: {}", r.body))
        .to_owned()
}

fn with(path: &str, query: &str, more: &str) -> String {
    let sep = if query.is_empty() || more.is_empty() {
        ""
    } else {
        "&"
    };
    format!("{path}?{query}{sep}{more}")
}

/// Every page by number, `per_page` rows each, until a short page.
async fn walk_pages(
    app: &TestApp,
    token: &str,
    path: &str,
    query: &str,
    per_page: usize,
) -> Vec<String> {
    let mut all = Vec::new();
    for page in 1.. {
        let r = app
            .get(
                &with(path, query, &format!("per_page={per_page}&page={page}")),
                Some(token),
            )
            .await
            .expect(200);
        let got = ids(&r);
        let done = got.len() < per_page;
        all.extend(got);
        if done {
            break;
        }
    }
    all
}

/// Every page by cursor; `between` runs after the first page.
async fn walk_cursor(
    app: &TestApp,
    token: &str,
    path: &str,
    query: &str,
    per_page: usize,
) -> Vec<String> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let more = match &cursor {
            None => format!("per_page={per_page}"),
            Some(c) => format!("per_page={per_page}&cursor={c}"),
        };
        let r = app
            .get(&with(path, query, &more), Some(token))
            .await
            .expect(200);
        let got = ids(&r);
        assert!(got.len() <= per_page);
        all.extend(got);
        match r.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => {
                assert!(r.body["next_cursor"].is_null(), "{}", r.body);
                break;
            }
        }
    }
    all
}

/// The ids in the documented order, asked of the database directly.
async fn expected(app: &TestApp, sql: &str, org: Uuid) -> Vec<String> {
    app.db
        .admin()
        .await
        .query(sql, &[&org])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| r.get::<_, Uuid>(0).to_string())
        .collect()
}

fn no_duplicates(ids: &[String]) {
    let set: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(set.len(), ids.len(), "a row came twice");
}

/// Walks `path?query` by page and by cursor, `per_page` rows a page, and
/// asserts that both give the rows of `sql` (the documented order), each once.
async fn walks_match(
    app: &TestApp,
    token: &str,
    path: &str,
    query: &str,
    per_page: usize,
    sql: &str,
    org: Uuid,
) -> Vec<String> {
    let want = expected(app, sql, org).await;
    let by_page = walk_pages(app, token, path, query, per_page).await;
    assert_eq!(by_page, want, "{path}?{query}, by page");
    let by_cursor = walk_cursor(app, token, path, query, per_page).await;
    assert_eq!(by_cursor, want, "{path}?{query}, by cursor");
    no_duplicates(&by_cursor);
    want
}

/// 45 leads of `org` written directly: created_at in groups of three equal
/// times, names repeating (some missing: the email stands in), three
/// statuses, two campaigns and none.
async fn seed_leads(app: &TestApp, org: Uuid) -> (Uuid, Uuid) {
    let admin = app.db.admin().await;
    let c1: Uuid = admin
        .query_one(
            "insert into campaigns (organization_id, name) values ($1, 'One') returning id",
            &[&org],
        )
        .await
        .expect("campaign")
        .get(0);
    let c2: Uuid = admin
        .query_one(
            "insert into campaigns (organization_id, name) values ($1, 'two') returning id",
            &[&org],
        )
        .await
        .expect("campaign")
        .get(0);
    admin
        .execute(
            "insert into leads (organization_id, email, full_name, status, campaign_id, created_at)
             select $1, 'lead' || i || '@walk.test',
                    case when i % 5 = 0 then null when i % 2 = 0 then 'Ann Lee' else 'bob ' || (i % 4) end,
                    (array['new', 'contacted', 'replied'])[1 + i % 3]::lead_status,
                    case i % 3 when 0 then $2::uuid when 1 then $3::uuid end,
                    timestamptz '2026-01-01' + (i / 3) * interval '1 hour'
               from generate_series(1, 45) i",
            &[&org, &c1, &c2],
        )
        .await
        .expect("leads");
    (c1, c2)
}

#[tokio::test]
async fn every_sort_order_and_filter_walks_each_lead_once_in_order() {
    let app = TestApp::spawn().await;
    let t = team(&app, "walkers").await;
    let (c1, _) = seed_leads(&app, t.org_id).await;
    // Another tenant's leads, which no walk may show.
    let other = team(&app, "others").await;
    seed_leads(&app, other.org_id).await;

    let name = "lower(coalesce(full_name, email))";
    let cases = [
        (
            "sort=created_at&order=desc",
            "created_at desc, id desc",
            "true".to_owned(),
        ),
        (
            "sort=created_at&order=asc",
            "created_at asc, id asc",
            "true".to_owned(),
        ),
        (
            "sort=name&order=asc",
            &format!("{name} asc, id asc"),
            "true".to_owned(),
        ),
        (
            "sort=name&order=desc",
            &format!("{name} desc, id desc"),
            "true".to_owned(),
        ),
        (
            "status=new&sort=name&order=asc",
            &format!("{name} asc, id asc"),
            "status = 'new'".to_owned(),
        ),
        (
            &format!("campaign_id={c1}&order=asc") as &str,
            "created_at asc, id asc",
            format!("campaign_id = '{c1}'"),
        ),
        (
            "search=LEE&sort=name&order=desc",
            &format!("{name} desc, id desc"),
            "full_name ilike '%lee%'".to_owned(),
        ),
    ];
    for (query, order, filter) in &cases {
        let sql = format!(
            "select id from leads where organization_id = $1 and {filter} order by {order}"
        );
        let want = walks_match(&app, &t.member.access, LEADS, query, 4, &sql, t.org_id).await;
        assert!(want.len() >= 10, "{query}: {}", want.len());
        // The total is exact (below the cap) and the same on every page.
        let r = app
            .get(
                &with(LEADS, query, "per_page=4&page=2"),
                Some(&t.member.access),
            )
            .await
            .expect(200);
        assert_eq!(r.body["total"], json!(want.len()), "{query}");
        assert_eq!(r.body["total_is_estimate"], json!(false), "{query}");
        // The last page and a page past the end say the same.
        for page in [want.len().div_ceil(4), 100] {
            let r = app
                .get(
                    &with(LEADS, query, &format!("per_page=4&page={page}")),
                    Some(&t.member.access),
                )
                .await
                .expect(200);
            assert_eq!(r.body["total"], json!(want.len()), "{query}, page {page}");
            assert_eq!(r.body["next_cursor"], Value::Null, "{query}, page {page}");
        }
    }

    // Meetings and campaigns, the same way.
    let admin = app.db.admin().await;
    admin
        .execute(
            "insert into meetings (organization_id, lead_id, scheduled_at, created_at)
             select organization_id, id, timestamptz '2027-01-01' + (row_number() over (order by id) / 4) * interval '1 day',
                    created_at
               from leads where organization_id = $1",
            &[&t.org_id],
        )
        .await
        .expect("meetings");
    for (query, order) in [
        ("sort=scheduled_at&order=asc", "scheduled_at asc, id asc"),
        ("sort=scheduled_at&order=desc", "scheduled_at desc, id desc"),
        ("sort=created_at&order=desc", "created_at desc, id desc"),
    ] {
        let sql = format!("select id from meetings where organization_id = $1 order by {order}");
        walks_match(&app, &t.member.access, MEETINGS, query, 6, &sql, t.org_id).await;
    }
    for i in 0..9 {
        admin
            .execute(
                "insert into campaigns (organization_id, name, created_at) values ($1, $2, timestamptz '2026-02-01')",
                &[&t.org_id, &format!("{} Push", ["alpha", "Beta", "alpha"][i % 3])],
            )
            .await
            .expect("campaign");
    }
    for (query, order) in [
        ("sort=name&order=asc", "lower(name) asc, id asc"),
        ("sort=created_at&order=desc", "created_at desc, id desc"),
    ] {
        let sql = format!("select id from campaigns where organization_id = $1 order by {order}");
        walks_match(&app, &t.member.access, CAMPAIGNS, query, 2, &sql, t.org_id).await;
    }
}

#[tokio::test]
async fn a_cursor_walk_survives_rows_inserted_between_its_pages() {
    let app = TestApp::spawn().await;
    let t = team(&app, "inserts").await;
    seed_leads(&app, t.org_id).await;
    let before = expected(
        &app,
        "select id from leads where organization_id = $1 order by created_at desc, id desc",
        t.org_id,
    )
    .await;
    let first = app
        .get(&format!("{LEADS}?per_page=10"), Some(&t.owner.access))
        .await
        .expect(200);
    let mut walked = ids(&first);
    // Newer leads (before the cursor) and leads among the older ones (after it).
    app.db
        .admin()
        .await
        .execute(
            "insert into leads (organization_id, email, created_at)
             select $1, 'late' || i || '@walk.test',
                    case when i % 2 = 0 then now() else timestamptz '2026-01-01 00:30' end
               from generate_series(1, 6) i",
            &[&t.org_id],
        )
        .await
        .expect("late leads");
    let mut cursor = first.body["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    loop {
        let r = app
            .get(
                &format!("{LEADS}?per_page=10&cursor={cursor}"),
                Some(&t.owner.access),
            )
            .await
            .expect(200);
        walked.extend(ids(&r));
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    no_duplicates(&walked);
    let walked_set: BTreeSet<&String> = walked.iter().collect();
    for id in &before {
        assert!(
            walked_set.contains(id),
            "a lead of before the inserts was skipped"
        );
    }
    // The three older ones come after the cursor: the walk shows them; the
    // three newer ones were before it.
    assert_eq!(walked.len(), before.len() + 3);

    // Pages by number shift instead: the same inserts between pages repeat a row.
    let page1 = ids(&app
        .get(
            &format!("{LEADS}?per_page=10&page=1"),
            Some(&t.owner.access),
        )
        .await
        .expect(200));
    app.db
        .admin()
        .await
        .execute(
            "insert into leads (organization_id, email) values ($1, 'newest@walk.test')",
            &[&t.org_id],
        )
        .await
        .expect("newest");
    let page2 = ids(&app
        .get(
            &format!("{LEADS}?per_page=10&page=2"),
            Some(&t.owner.access),
        )
        .await
        .expect(200));
    assert_eq!(page2[0], page1[9], "what a cursor is for");
}

#[tokio::test]
async fn a_cursor_belongs_to_its_list_sort_order_and_filters() {
    let app = TestApp::spawn().await;
    let t = team(&app, "cursors").await;
    let (c1, c2) = seed_leads(&app, t.org_id).await;
    let token = Some(t.owner.access.as_str());
    let next = |r: &Reply| {
        r.body["next_cursor"]
            .as_str()
            .expect("next_cursor")
            .to_owned()
    };
    let by_name = next(
        &app.get(&format!("{LEADS}?per_page=5&sort=name"), token)
            .await
            .expect(200),
    );
    let in_c1 = next(
        &app.get(&format!("{LEADS}?per_page=5&campaign_id={c1}"), token)
            .await
            .expect(200),
    );
    let meetings_cursor = {
        app.db
            .admin()
            .await
            .execute(
                "insert into meetings (organization_id, lead_id, scheduled_at)
                 select organization_id, id, now() + interval '1 day' from leads where organization_id = $1",
                &[&t.org_id],
            )
            .await
            .expect("meetings");
        next(
            &app.get(&format!("{MEETINGS}?per_page=5"), token)
                .await
                .expect(200),
        )
    };
    // Each works where it was made.
    app.get(
        &format!("{LEADS}?per_page=5&sort=name&cursor={by_name}"),
        token,
    )
    .await
    .expect(200);
    // And nowhere else: another sort, order, filter value, list.
    let stale = "is not a cursor of this list with these filters and this order; start again from the first page";
    for path in [
        format!("{LEADS}?per_page=5&sort=created_at&cursor={by_name}"),
        format!("{LEADS}?per_page=5&sort=name&order=asc&cursor={by_name}"),
        format!("{LEADS}?per_page=5&sort=name&status=new&cursor={by_name}"),
        format!("{LEADS}?per_page=5&campaign_id={c2}&cursor={in_c1}"),
        format!("{LEADS}?per_page=5&cursor={in_c1}"),
        format!("{LEADS}?per_page=5&cursor={meetings_cursor}"),
        format!("{CAMPAIGNS}?cursor={by_name}"),
    ] {
        let r = app.get(&path, token).await.expect(422);
        assert_eq!(field(&r, "cursor"), stale, "{path}");
    }
    // Altered: its position, or its signature; made up; too long.
    let (payload, signature) = by_name.split_once('.').expect("payload.signature");
    let mut altered = payload.as_bytes().to_vec();
    altered[10] = if altered[10] == b'A' { b'B' } else { b'A' };
    let altered = format!("{}.{signature}", String::from_utf8(altered).expect("ascii"));
    let resigned = format!("{payload}.{}", "A".repeat(signature.len()));
    for bad in [
        altered,
        resigned,
        "abc".to_owned(),
        format!("{by_name}.x"),
        "x".repeat(2000),
    ] {
        let r = app
            .get(&format!("{LEADS}?per_page=5&sort=name&cursor={bad}"), token)
            .await
            .expect(422);
        assert!(
            field(&r, "cursor").starts_with("is not a cursor of this list"),
            "{bad}"
        );
    }
    for junk in ["%F0%9F%92%A9", "a%20b", "..", "."] {
        let r = app
            .get(&format!("{LEADS}?cursor={junk}"), token)
            .await
            .expect(422);
        assert!(
            field(&r, "cursor").starts_with("is not a cursor of this list"),
            "{junk}"
        );
    }
    let r = app
        .get(&format!("{LEADS}?cursor=%00"), token)
        .await
        .expect(422);
    assert_eq!(field(&r, "cursor"), "must not contain NUL characters");
    // A cursor goes with the first page only.
    let r = app
        .get(
            &format!("{LEADS}?per_page=5&sort=name&page=2&cursor={by_name}"),
            token,
        )
        .await
        .expect(422);
    assert_eq!(field(&r, "page"), "must be 1 (or left out) with a cursor");
    // Another tenant's user holding this cursor reads its own leads from
    // that position: a cursor is a position, never a key to rows.
    let other = team(&app, "holders").await;
    seed_leads(&app, other.org_id).await;
    let r = app
        .get(
            &format!("{LEADS}?per_page=50&sort=name&cursor={by_name}"),
            Some(&other.owner.access),
        )
        .await
        .expect(200);
    let theirs: BTreeSet<String> = expected(
        &app,
        "select id from leads where organization_id = $1",
        other.org_id,
    )
    .await
    .into_iter()
    .collect();
    assert!(!ids(&r).is_empty());
    assert!(ids(&r).iter().all(|id| theirs.contains(id)));
}

#[tokio::test]
async fn totals_are_exact_up_to_the_cap_and_flagged_beyond() {
    let app = TestApp::spawn().await;
    let t = team(&app, "counted").await;
    let admin = app.db.admin().await;
    let cap: i32 = admin
        .query_one("select app.exact_count_cap()", &[])
        .await
        .expect("cap")
        .get(0);
    assert_eq!(cap, 1000);
    admin
        .execute(
            "insert into leads (organization_id, email, status)
             select $1, 'n' || i || '@count.test', case when i <= 7 then 'lost' else 'new' end::lead_status
               from generate_series(1, $2) i",
            &[&t.org_id, &cap],
        )
        .await
        .expect("leads");
    admin.batch_execute("analyze leads").await.expect("analyze");
    let token = Some(t.owner.access.as_str());
    // Exactly the cap: exact.
    let r = app.get(LEADS, token).await.expect(200);
    assert_eq!(r.body["total"], json!(cap));
    assert_eq!(r.body["total_is_estimate"], json!(false));
    // One more: the planner's estimate, never below cap + 1, flagged.
    admin
        .execute(
            "insert into leads (organization_id, email) values ($1, 'one-more@count.test')",
            &[&t.org_id],
        )
        .await
        .expect("one more");
    let r = app.get(LEADS, token).await.expect(200);
    assert_eq!(r.body["total_is_estimate"], json!(true), "{}", r.body);
    assert!(r.body["total"].as_i64().expect("total") > i64::from(cap));
    // A filter below the cap is exact again.
    let r = app
        .get(&format!("{LEADS}?status=lost"), token)
        .await
        .expect(200);
    assert_eq!(
        (r.body["total"].clone(), r.body["total_is_estimate"].clone()),
        (json!(7), json!(false))
    );
    // page reaches the first 10,000 rows of a list, 1,000 of a search.
    let r = app
        .get(&format!("{LEADS}?per_page=20&page=501"), token)
        .await
        .expect(422);
    assert_eq!(
        field(&r, "page"),
        "must stay within the first 10000 rows; follow next_cursor to go further"
    );
    let r = app
        .get(&format!("{LEADS}?per_page=20&page=500"), token)
        .await
        .expect(200);
    assert_eq!(r.body["items"], json!([]));
    let r = app
        .get(&format!("{LEADS}?per_page=20&page=51&search=count"), token)
        .await
        .expect(422);
    assert_eq!(
        field(&r, "page"),
        "must stay within the first 1000 rows; follow next_cursor to go further"
    );
    let r = app
        .get(&format!("{LEADS}?per_page=20&page=50&search=count"), token)
        .await
        .expect(200);
    assert_eq!(ids(&r).len(), 20);
    // A search of leads needs a trigram.
    let r = app
        .get(&format!("{LEADS}?search=%20ab%20"), token)
        .await
        .expect(422);
    assert_eq!(field(&r, "search"), "must hold at least 3 characters");
}

#[tokio::test]
async fn a_search_in_a_big_list_is_not_counted_past_its_page() {
    let app = TestApp::spawn().await;
    let t = team(&app, "searched").await;
    let admin = app.db.admin().await;
    // 12,000 leads when the statistics are taken (the scope's size as the
    // planner knows it: ten times the cap or more); then all but 500 go,
    // and the statistics stay (autovacuum kept off this table).
    admin
        .batch_execute("alter table leads set (autovacuum_enabled = false)")
        .await
        .expect("autovacuum off");
    admin
        .execute(
            "insert into leads (organization_id, email, full_name)
             select $1, 'b' || i || '@bulk.test', case when i <= 3 then 'Rare Name' end
               from generate_series(1, 12000) i",
            &[&t.org_id],
        )
        .await
        .expect("leads");
    admin.batch_execute("analyze leads").await.expect("analyze");
    admin
        .execute(
            "delete from leads where organization_id = $1 and email like 'b%@bulk.test'
               and substr(email, 2, strpos(email, '@') - 2)::int > 500",
            &[&t.org_id],
        )
        .await
        .expect("delete");
    let token = Some(t.owner.access.as_str());
    // 500 match, but nothing is counted: the total is what the page knows
    // (its 20 and the one after), flagged.
    let r = app
        .get(&format!("{LEADS}?per_page=20&search=bulk"), token)
        .await
        .expect(200);
    assert_eq!(
        (r.body["total"].clone(), r.body["total_is_estimate"].clone()),
        (json!(21), json!(true)),
        "{}",
        r.body
    );
    assert_eq!(ids(&r).len(), 20);
    let r = app
        .get(&format!("{LEADS}?per_page=20&page=3&search=bulk"), token)
        .await
        .expect(200);
    assert_eq!(
        (r.body["total"].clone(), r.body["total_is_estimate"].clone()),
        (json!(61), json!(true))
    );
    // The last page by offset knows the exact total, and so does a search
    // whose matches fit in its first page.
    let r = app
        .get(&format!("{LEADS}?per_page=100&page=5&search=bulk"), token)
        .await
        .expect(200);
    assert_eq!(
        (r.body["total"].clone(), r.body["total_is_estimate"].clone()),
        (json!(500), json!(false))
    );
    let r = app
        .get(&format!("{LEADS}?per_page=20&search=rare%20name"), token)
        .await
        .expect(200);
    assert_eq!(
        (r.body["total"].clone(), r.body["total_is_estimate"].clone()),
        (json!(3), json!(false))
    );
    // A page past the end of a search knows of no match.
    let r = app
        .get(&format!("{LEADS}?per_page=20&page=40&search=bulk"), token)
        .await
        .expect(200);
    assert_eq!(
        (r.body["items"].clone(), r.body["total"].clone()),
        (json!([]), json!(0))
    );
    // Without a search the same list is counted: exact, below the cap.
    let r = app
        .get(&format!("{LEADS}?per_page=20"), token)
        .await
        .expect(200);
    assert_eq!(
        (r.body["total"].clone(), r.body["total_is_estimate"].clone()),
        (json!(500), json!(false))
    );
}

#[tokio::test]
async fn a_search_total_says_nothing_of_another_tenants_rows() {
    // The planner estimates a search from statistics over the whole table:
    // every tenant's sampled values. A's search total must not carry them.
    let app = TestApp::spawn().await;
    let a = team(&app, "prober").await;
    let b = team(&app, "probed").await;
    let admin = app.db.admin().await;
    // A: 1,200 leads named Probe among 9,200 (a scope below ten times the
    // cap, so A's matches are counted). B: 50,000 named Probe.
    admin
        .execute(
            "insert into leads (organization_id, email, full_name)
             select $1, 'a' || i || '@a.test', case when i <= 1200 then 'Probe ' || i else 'Other ' || i end
               from generate_series(1, 9200) i",
            &[&a.org_id],
        )
        .await
        .expect("A's leads");
    admin
        .execute(
            "insert into leads (organization_id, email, full_name)
             select $1, 'b' || i || '@b.test', 'Probe ' || i from generate_series(1, 50000) i",
            &[&b.org_id],
        )
        .await
        .expect("B's leads");
    admin.batch_execute("analyze leads").await.expect("analyze");
    let r = app
        .get(
            &format!("{LEADS}?per_page=20&search=probe"),
            Some(a.owner.access.as_str()),
        )
        .await
        .expect(200);
    // A's own matches, counted: more than the cap, so the cap plus one,
    // flagged; not the planner's estimate, which B's rows would raise to
    // thousands.
    assert_eq!(
        (r.body["total"].clone(), r.body["total_is_estimate"].clone()),
        (json!(1001), json!(true)),
        "{}",
        r.body
    );
    // A page past A's matches: nothing of B's.
    let r = app
        .get(
            &format!("{LEADS}?per_page=20&page=50&search=zzprobe"),
            Some(a.owner.access.as_str()),
        )
        .await
        .expect(200);
    assert_eq!(
        (r.body["items"].clone(), r.body["total"].clone()),
        (json!([]), json!(0))
    );
}

#[tokio::test]
async fn the_counts_kept_with_campaigns_and_organizations_follow_every_write() {
    let app = TestApp::spawn().await;
    let t = team(&app, "counters").await;
    let token = Some(t.owner.access.as_str());
    let campaign = |name: &'static str| {
        let app = &app;
        async move {
            app.post(CAMPAIGNS, json!({"name": name}), token)
                .await
                .expect(201)
                .str("/id")
        }
    };
    let (a, b) = (campaign("A").await, campaign("B").await);
    let lead = app
        .post(
            LEADS,
            json!({"email": "one@count.test", "campaign_id": a}),
            token,
        )
        .await
        .expect(201)
        .str("/id");
    app.post(
        &format!("{LEADS}/import"),
        json!([{"email": "two@count.test", "campaign_id": a}, {"email": "three@count.test", "campaign_id": b},
               {"email": "four@count.test"}]),
        token,
    )
    .await
    .expect(201);
    let check = || async {
        let listed = app
            .get(&format!("{CAMPAIGNS}?sort=name&order=asc"), token)
            .await
            .expect(200);
        let actual: Vec<Value> = expected(
            &app,
            "select c.id from campaigns c where organization_id = $1 order by lower(name), id",
            t.org_id,
        )
        .await
        .into_iter()
        .map(Value::String)
        .collect();
        assert_eq!(
            listed.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|c| c["id"].clone())
                .collect::<Vec<_>>(),
            actual
        );
        let counts: Vec<i64> = app
            .db
            .admin()
            .await
            .query(
                "select count(l.id) from campaigns c left join leads l on l.campaign_id = c.id and l.organization_id = c.organization_id
                  where c.organization_id = $1 group by c.id, c.name order by lower(c.name), c.id",
                &[&t.org_id],
            )
            .await
            .expect("counts")
            .iter()
            .map(|r| r.get(0))
            .collect();
        let shown: Vec<i64> = listed.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|c| c["leads_count"].as_i64().expect("leads_count"))
            .collect();
        assert_eq!(shown, counts);
        counts
    };
    assert_eq!(check().await, vec![2, 1]);
    app.patch(&format!("{LEADS}/{lead}"), json!({"campaign_id": b}), token)
        .await
        .expect(200);
    assert_eq!(check().await, vec![1, 2]);
    app.delete(&format!("{LEADS}/{lead}"), token)
        .await
        .expect(204);
    assert_eq!(check().await, vec![1, 1]);
    app.delete(&format!("{CAMPAIGNS}/{b}"), token)
        .await
        .expect(204);
    assert_eq!(check().await, vec![1]);
    // A counter is not an edit: the campaign's updated_at stayed.
    let c = app
        .get(&format!("{CAMPAIGNS}/{a}"), token)
        .await
        .expect(200);
    assert_eq!(c.body["updated_at"], c.body["created_at"]);

    // Organizations count their users not removed.
    let pa = platform_admin(&app).await;
    let users_count = || async {
        let r = app
            .get(
                &format!("{ORGANIZATIONS}?sort=users_count&order=desc"),
                Some(&pa.access),
            )
            .await
            .expect(200);
        let mine = r.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|o| o["id"] == json!(t.org_id))
            .expect("the organization")
            .clone();
        let actual = app
            .count(&format!(
                "select count(*) from users where organization_id = '{}' and status <> 'removed'",
                t.org_id
            ))
            .await;
        assert_eq!(mine["users_count"], json!(actual));
        actual
    };
    assert_eq!(users_count().await, 4);
    let members = app
        .get("/api/v1/user/organizations/me/users?role=member", token)
        .await
        .expect(200);
    let member_id = members.str("/items/0/id");
    app.delete(
        &format!("/api/v1/user/organizations/me/users/{member_id}"),
        token,
    )
    .await
    .expect(204);
    assert_eq!(users_count().await, 3);
}
