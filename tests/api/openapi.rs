//! The OpenAPI document against the router itself: every routed path and
//! method is documented, every documented operation is routed; the document
//! is served, and Swagger UI answers at /docs (and can be turned off).

use std::collections::BTreeSet;

use crate::harness::TestApp;

/// Routes that are not operations of the API: the admin gate's catch-alls
/// (any method, any unknown path: 401/403/404) and Swagger UI's pages.
fn is_operation(path: &str) -> bool {
    !matches!(
        path,
        "/api/v1/admin"
            | "/api/v1/admin/"
            | "/api/v1/admin/{*rest}"
            | "/docs"
            | "/docs/"
            | "/docs/{*rest}"
    )
}

fn compare(routed: &[(String, String)], documented: Vec<(String, String)>) {
    let routed: BTreeSet<(String, String)> = routed
        .iter()
        .filter(|(_, p)| is_operation(p))
        .cloned()
        .collect();
    let documented: BTreeSet<(String, String)> = documented.into_iter().collect();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routed but not in the OpenAPI document: {undocumented:?}\nin the document but not routed: {unrouted:?}"
    );
    // The walk saw the whole router, not an empty or partial one.
    assert_eq!(routed.len(), documented.len());
    assert!(routed.len() >= 60, "{} operations", routed.len());
}

#[tokio::test]
async fn the_document_names_every_route_and_only_routes() {
    // Without METRICS_TOKEN the main listener has no /metrics.
    let app = TestApp::spawn().await;
    compare(&app.routes, vectra::http::openapi::operations(false));
    let with_metrics =
        TestApp::spawn_with(&[("METRICS_TOKEN", "0123456789abcdef0123456789abcdef")]).await;
    compare(
        &with_metrics.routes,
        vectra::http::openapi::operations(true),
    );
    assert!(
        with_metrics
            .routes
            .iter()
            .any(|(m, p)| m == "GET" && p == "/metrics")
    );

    // What is served is that document: OpenAPI 3.1, every operation in it.
    let r = app.get("/api/v1/openapi.json", None).await.expect(200);
    assert_eq!(r.body["openapi"], "3.1.0");
    let mut served = Vec::new();
    for (path, item) in r.body["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            served.push((method.to_uppercase(), path.clone()));
        }
    }
    served.sort();
    let mut expected = vectra::http::openapi::operations(false);
    expected.sort();
    assert_eq!(served, expected);
    assert_eq!(
        r.body["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(
        r.body["paths"]["/api/v1/user/me"]["get"]["security"],
        serde_json::json!([{"bearer": []}])
    );
}

#[tokio::test]
async fn swagger_ui_answers_at_docs_and_can_be_turned_off() {
    let app = TestApp::spawn().await;
    let page = app.http.get(app.url("/docs/")).send().await.expect("docs");
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let init = app
        .http
        .get(app.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .expect("initializer");
    assert_eq!(init.status(), 200);
    assert!(init.text().await.unwrap().contains("/api/v1/openapi.json"));

    let off = TestApp::spawn_with(&[("DOCS_ENABLED", "false")]).await;
    off.get("/docs/", None)
        .await
        .problem(404, "No route for GET /docs/");
    assert!(!off.routes.iter().any(|(_, p)| p.starts_with("/docs")));
    off.get("/api/v1/openapi.json", None).await.expect(200);
}

/// docs/api.md's route table lists the same operations as the document.
#[test]
fn the_route_table_of_the_docs_matches_the_document() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md")).unwrap();
    let table = text
        .split("## Routes")
        .nth(1)
        .and_then(|t| t.split("\n\n").nth(1))
        .expect("the route table of docs/api.md");
    let mut documented = BTreeSet::new();
    for row in table.lines().skip(2) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (methods, path) = (cells[1], cells[2].trim_matches('`'));
        if methods == "any" {
            continue;
        }
        let path = path.split('?').next().unwrap();
        for method in methods.split(", ") {
            documented.insert((method.to_owned(), path.to_owned()));
        }
    }
    let spec: BTreeSet<(String, String)> = vectra::http::openapi::operations(true)
        .into_iter()
        .collect();
    let missing: Vec<_> = spec.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&spec).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "in the document, not in docs/api.md's table: {missing:?}\nin the table, not in the document: {extra:?}"
    );
}
