//! The contract's sources of truth agree: the Rust constants the code and
//! the OpenAPI document read are the SQL enums and limits; the harness's
//! response check catches what the document does not describe; and each
//! kind of bad input answers one way wherever it appears.

use serde_json::{Value, json};

use crate::harness::{TestApp, TestDb, contract};
use vectra::domain::enums::{self, SQL_ENUMS};

/// Every enumeration of `domain::enums` that is a PostgreSQL enum holds the
/// same values in the same order; a value added on one side fails here.
#[tokio::test]
async fn the_enumerations_are_the_sql_enums() {
    let db = TestDb::new().await;
    let admin = db.admin().await;
    let rows = admin
        .query(
            "select t.typname::text, array_agg(e.enumlabel::text order by e.enumsortorder)
               from pg_type t join pg_enum e on e.enumtypid = t.oid
              where t.typnamespace = 'public'::regnamespace
              group by t.typname",
            &[],
        )
        .await
        .expect("pg_enum");
    let sql: std::collections::BTreeMap<String, Vec<String>> =
        rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    for (name, values) in SQL_ENUMS {
        assert_eq!(
            sql.get(*name).map(Vec::as_slice),
            Some(
                values
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .as_slice()
            ),
            "public.{name} and its constant differ"
        );
    }
    // Every SQL enum the API shows has its constant (token_purpose is the
    // database's own).
    let named: Vec<&str> = SQL_ENUMS.iter().map(|(n, _)| *n).collect();
    let missing: Vec<&String> = sql
        .keys()
        .filter(|n| !named.contains(&n.as_str()) && *n != "token_purpose")
        .collect();
    assert!(missing.is_empty(), "enums without a constant: {missing:?}");
}

/// The page bounds the document states are `app.check_page`'s.
#[tokio::test]
async fn the_page_bounds_are_the_databases() {
    use vectra::domain::{MAX_PAGE, MAX_PER_PAGE};
    let db = TestDb::new().await;
    let admin = db.admin().await;
    let check = |page: i32, per_page: i32| {
        let admin = &admin;
        async move {
            admin
                .query("select app.check_page($1, $2)", &[&page, &per_page])
                .await
        }
    };
    check(MAX_PAGE, MAX_PER_PAGE)
        .await
        .expect("the largest page");
    check(1, 1).await.expect("the smallest page");
    assert!(check(MAX_PAGE + 1, 1).await.is_err());
    assert!(check(1, MAX_PER_PAGE + 1).await.is_err());
    assert!(check(0, 1).await.is_err());
}

/// The check the harness runs on every response: an undeclared field, a
/// missing one, a wrong type, an undocumented status or content type and a
/// missing required header are each a violation. (A real response with a
/// field the document does not declare fails its test the same way.)
#[tokio::test]
async fn the_response_check_catches_what_the_document_does_not_say() {
    let app = TestApp::spawn().await;
    let owner = app.verified_owner("olive@contract.test", "Contract").await;
    let lead = app
        .post(
            "/api/v1/user/leads",
            json!({"email": "lee@prospect.test"}),
            Some(&owner.access),
        )
        .await
        .expect(201);
    let path = format!("/api/v1/user/leads/{}", lead.str("/id"));
    let mut headers = lead.headers.clone();
    let bytes = |v: &Value| serde_json::to_vec(v).unwrap();
    let check = |status: u16, headers: &reqwest::header::HeaderMap, body: &Value| {
        contract::check("GET", &path, status, headers, &bytes(body))
    };
    assert_eq!(check(200, &headers, &lead.body), Vec::<String>::new());

    let mut extra = lead.body.clone();
    extra["secret"] = json!("x");
    let found = check(200, &headers, &extra).join("\n");
    assert!(found.contains("secret"), "{found}");

    let mut missing = lead.body.clone();
    missing.as_object_mut().unwrap().remove("updated_at");
    let found = check(200, &headers, &missing).join("\n");
    assert!(found.contains("updated_at"), "{found}");

    let mut wrong = lead.body.clone();
    wrong["status"] = json!("won");
    assert!(!check(200, &headers, &wrong).is_empty());

    let found = check(202, &headers, &lead.body).join("\n");
    assert!(found.contains("status 202 is not documented"), "{found}");

    let found = check(401, &headers, &lead.body).join("\n");
    assert!(found.contains("content type"), "{found}");
    assert!(found.contains("www-authenticate"), "{found}");

    headers.remove("x-request-id");
    let found = check(200, &headers, &lead.body).join("\n");
    assert!(found.contains("X-Request-Id"), "{found}");
}

/// One wording and one status for each kind of bad value, wherever it is:
/// a path, a query string, a body. And every problem names its request.
#[tokio::test]
async fn each_kind_of_bad_input_answers_one_way() {
    let app = TestApp::spawn().await;
    let owner = app.verified_owner("olive@wording.test", "Wording").await;
    let token = Some(owner.access.as_str());
    let statuses = enums::one_of(enums::LEAD_STATUSES);
    // A UUID: in the path, the query, the body.
    app.get("/api/v1/user/leads/nope", token)
        .await
        .invalid(&[("lead_id", "must be a UUID")]);
    app.get("/api/v1/user/leads?campaign_id=nope", token)
        .await
        .invalid(&[("campaign_id", "must be a UUID")]);
    app.post(
        "/api/v1/user/leads",
        json!({"email": "a@b.test", "campaign_id": "nope"}),
        token,
    )
    .await
    .invalid(&[("campaign_id", "must be a UUID")]);
    app.delete("/api/v1/user/organizations/me/users/nope", token)
        .await
        .invalid(&[("user_id", "must be a UUID")]);
    // A value outside its enumeration: in the query, the body.
    app.get("/api/v1/user/leads?status=won", token)
        .await
        .invalid(&[("status", &statuses)]);
    app.post(
        "/api/v1/user/leads",
        json!({"email": "a@b.test", "status": "won"}),
        token,
    )
    .await
    .invalid(&[("status", &statuses)]);
    // A value of the wrong type, and a field the body does not have.
    app.post("/api/v1/user/leads", json!({"email": 42}), token)
        .await
        .invalid(&[("email", "must be a string")]);
    app.post(
        "/api/v1/user/leads",
        json!({"email": "a@b.test", "phone": "1"}),
        token,
    )
    .await
    .invalid(&[(
        "phone",
        "is not a known field (expected email, full_name, company, status, campaign_id)",
    )]);
    // A time that is not RFC 3339.
    app.post(
        "/api/v1/user/meetings",
        json!({"lead_id": "00000000-0000-0000-0000-000000000000", "scheduled_at": "tomorrow"}),
        token,
    )
    .await
    .invalid(&[(
        "scheduled_at",
        "must be an RFC 3339 date-time with an offset",
    )]);

    // `instance` is the request id: the caller's, or the one made for it.
    let r = app
        .send_with(
            app.http
                .get(app.url("/api/v1/user/leads/nope"))
                .bearer_auth(&owner.access)
                .header("x-request-id", "trace-42"),
        )
        .await
        .expect(422);
    assert_eq!(r.body["instance"], "trace-42");
    let r = app.get("/no/such/route", None).await.expect(404);
    let id = r.headers["x-request-id"].to_str().unwrap();
    assert_eq!(r.body["instance"], id);
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
}

/// The SQL list functions check their filters against lists of their own
/// (`app.check_filter`): each refusal names exactly the values of the
/// constant the document reads, so neither can gain a value alone.
#[tokio::test]
async fn the_list_filters_accept_the_documented_values() {
    let app = TestApp::spawn().await;
    let owner = app.verified_owner("olive@filters.test", "Filters").await;
    let admin = crate::auth::platform_admin(&app).await;
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            &owner.access,
            "/api/v1/user/campaigns",
            "status",
            enums::CAMPAIGN_STATUSES,
        ),
        (
            &owner.access,
            "/api/v1/user/leads",
            "status",
            enums::LEAD_STATUSES,
        ),
        (
            &owner.access,
            "/api/v1/user/meetings",
            "status",
            enums::MEETING_STATUSES,
        ),
        (
            &owner.access,
            "/api/v1/user/organizations/me/users",
            "role",
            enums::ORGANIZATION_ROLES,
        ),
        (
            &owner.access,
            "/api/v1/user/organizations/me/users",
            "status",
            enums::USER_STATUSES,
        ),
        (
            &owner.access,
            "/api/v1/user/notifications",
            "type",
            enums::NOTIFICATION_TYPES,
        ),
        (
            &admin.access,
            "/api/v1/admin/organizations",
            "plan",
            enums::PLANS,
        ),
        (
            &admin.access,
            "/api/v1/admin/organizations",
            "status",
            enums::ORGANIZATION_STATUSES,
        ),
        (
            &admin.access,
            "/api/v1/admin/users",
            "role",
            enums::USER_ROLES,
        ),
        (
            &admin.access,
            "/api/v1/admin/users",
            "status",
            enums::USER_STATUSES,
        ),
        (
            &admin.access,
            "/api/v1/admin/notifications",
            "type",
            enums::NOTIFICATION_TYPES,
        ),
    ];
    for (token, path, filter, values) in cases {
        let r = app
            .get(&format!("{path}?{filter}=nope"), Some(token))
            .await
            .expect(422);
        let message: Vec<&str> = r.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["field"] == *filter)
            .filter_map(|e| e["message"].as_str())
            .collect();
        assert_eq!(
            message,
            vec![enums::one_of(values).as_str()],
            "{path}?{filter}: {r:?}"
        );
        // And every documented value is accepted.
        for value in *values {
            app.get(&format!("{path}?{filter}={value}"), Some(token))
                .await
                .expect(200);
        }
    }
}
