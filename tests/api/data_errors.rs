//! Values the database cannot hold are the client's mistake: a 422, never a
//! 500. The service's own checks catch what they can and name the field; the
//! database's data exceptions (SQLSTATE class 22) are the net behind them.

use serde_json::json;
use vectra::error::ApiError;

use crate::harness::{TestApp, TestDb};
use crate::organization::team;

const MEETINGS: &str = "/api/v1/user/meetings";

/// Every kind of data exception PostgreSQL raises for a value, as the
/// service maps it.
#[tokio::test]
async fn every_data_exception_is_a_422() {
    let db = TestDb::new().await;
    let admin = db.admin().await;
    for (sql, code) in [
        ("select '0000-01-01T00:00:00Z'::timestamptz", "22008"),
        ("select 'yesterday-ish'::date", "22007"),
        ("select 2147483648::int4", "22003"),
        ("select 'not-a-uuid'::uuid", "22P02"),
        ("select 1 / 0", "22012"),
        ("select 'x'::char(1)::int", "22P02"),
        ("select '{\"a\": 1'::jsonb", "22P02"),
        ("select E'\\\\x0'::bytea", "22023"),
        ("select power(10::float8, 400)", "22003"),
        ("select substr('x', 1, -1)", "22011"),
    ] {
        let e = admin.query(sql, &[]).await.expect_err(sql);
        assert_eq!(e.code().map(|c| c.code()), Some(code), "{sql}: {e}");
        let api = ApiError::from(e);
        assert_eq!(api.status().as_u16(), 422, "{sql}: {api:?}");
        let ApiError::Problem(p) = api else {
            panic!("{sql}: not a problem")
        };
        assert!(!p.detail.contains("postgres"), "{}", p.detail);
    }
}

/// Year 0 (which PostgreSQL does not have) and other times out of range,
/// in a body to create and in a body to change: a 422 naming the field.
#[tokio::test]
async fn a_time_out_of_range_is_named_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let acme = team(&app, "acme").await;
    let lead = app
        .post(
            "/api/v1/user/leads",
            json!({"email": "lea@prospect.test"}),
            Some(&acme.owner.access),
        )
        .await
        .expect(201)
        .str("/id");
    let meeting = app
        .post(
            MEETINGS,
            json!({"lead_id": lead, "scheduled_at": "2031-01-01T09:00:00Z"}),
            Some(&acme.owner.access),
        )
        .await
        .expect(201)
        .str("/id");
    let out_of_range = [(
        "scheduled_at",
        "must be a time between the years 1 and 9999",
    )];
    for at in [
        "0000-01-01T00:00:00Z",
        "0001-01-01T00:30:00+01:00",
        "9999-12-31T23:30:00-01:00",
    ] {
        app.post(
            MEETINGS,
            json!({"lead_id": lead, "scheduled_at": at}),
            Some(&acme.owner.access),
        )
        .await
        .invalid(&out_of_range);
        app.patch(
            &format!("{MEETINGS}/{meeting}"),
            json!({"scheduled_at": at}),
            Some(&acme.owner.access),
        )
        .await
        .invalid(&out_of_range);
    }
    // The first instant PostgreSQL can hold in year 1 is fine, and stored in UTC.
    let moved = app
        .patch(
            &format!("{MEETINGS}/{meeting}"),
            json!({"scheduled_at": "0001-01-01T01:30:00+01:00"}),
            Some(&acme.owner.access),
        )
        .await
        .expect(200);
    assert_eq!(moved.body["scheduled_at"], "0001-01-01T00:30:00+00:00");
    assert_eq!(app.count("select count(*) from meetings").await, 1);
    // Numbers out of range in a query string: named too.
    app.get(
        &format!("{MEETINGS}?page=99999999999999999999&per_page=1e3"),
        Some(&acme.owner.access),
    )
    .await
    .invalid(&[
        ("page", "must be a whole number from 1 to 1000000"),
        ("per_page", "must be a whole number from 1 to 100"),
    ]);
}
