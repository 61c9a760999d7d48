//! Notifications: `POST /user/notifications/send` (owner, admin:
//! `org_to_prospects`, `org_owner_to_members`), `POST /admin/notifications/send`
//! (the platform admin: `vectra_to_users`, `vectra_to_org_owner`,
//! `system_alerts`), their history, and the one-click unsubscribe link.
//!
//! The caller is checked first (`app.authorize`: role, live session, active
//! organization, verified email), before anything the body holds costs
//! work. Then the handlers check and normalize the body (every bad field
//! named at once; `body_html` bounded in size and nesting, then sanitized
//! with ammonia off the async workers) and call one SQL function, which
//! checks the sender again, resolves the recipients, skips the suppressed
//! ones and queues one outbox row per recipient in the same transaction.
//! `Idempotency-Key` makes a retried send answer the first 202.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::AppState;
use super::json::{ApiJson, PathId, QueryParams, unknown_field};
use super::list::ListQuery;
use crate::auth::{OrgUser, PlatformAdmin};
use crate::blocking::Bounded;
use crate::db::{Actor, JsonText, calls};
use crate::domain::Email;
use crate::email::html;
use crate::error::{ApiError, FieldError};

/// The caller's notifications.
pub fn user_router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/user/notifications/send", post(send))
        .route("/api/v1/user/notifications", get(list))
        .route("/api/v1/user/notifications/{notification_id}", get(detail))
}

/// The console's notifications (the admin router's gate applies to these).
pub fn admin_router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/notifications/send", post(admin_send))
        .route("/api/v1/admin/notifications", get(admin_list))
        .route(
            "/api/v1/admin/notifications/{notification_id}",
            get(admin_detail),
        )
}

/// Unsubscribing, for anyone holding a link.
pub fn unsubscribe_router() -> Router<AppState> {
    Router::new().route(
        "/api/v1/unsubscribe",
        get(unsubscribe_page).post(unsubscribe),
    )
}

pub use crate::domain::enums::{
    ORGANIZATION_NOTIFICATION_TYPES as ORGANIZATION_TYPES,
    PLATFORM_NOTIFICATION_TYPES as PLATFORM_TYPES,
};
/// Most addresses one `recipients` list holds.
pub const MAX_LISTED: usize = 1000;
pub const MAX_SUBJECT_CHARS: usize = 200;
pub const MAX_BODY_CHARS: usize = 20_000;
pub const MAX_BODY_HTML_CHARS: usize = 100_000;
/// Unknown fields named in one 422 at most.
pub const MAX_UNKNOWN_FIELDS: usize = 20;
pub const MAX_ACTION_TEXT_CHARS: usize = 100;
pub const MAX_URL_CHARS: usize = 2048;

/// Which endpoint is checking the body.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Organization,
    Platform,
}

impl Endpoint {
    fn types(self) -> &'static [&'static str] {
        match self {
            Endpoint::Organization => ORGANIZATION_TYPES,
            Endpoint::Platform => PLATFORM_TYPES,
        }
    }

    /// The 403 for a type of the other endpoint (the SQL functions say the same).
    fn not_yours(self, kind: &str) -> ApiError {
        ApiError::forbidden(match self {
            Endpoint::Organization => format!(
                "An organization sends org_to_prospects or org_owner_to_members; {kind} is the platform admin's"
            ),
            Endpoint::Platform => format!(
                "The platform admin sends vectra_to_users, vectra_to_org_owner or system_alerts; {kind} is an organization's"
            ),
        })
    }
}

/// The body, checked field by field and normalized (trimmed texts, emails
/// lower-cased and deduplicated), with the field errors found so far and
/// the raw `body_html`, bounded in size, still to sanitize ([`finished`]).
struct Checked {
    out: Map<String, Value>,
    errors: Vec<FieldError>,
    html: Option<String>,
}

fn html_error() -> FieldError {
    FieldError::new(
        "body_html",
        format!("must be HTML of at most {MAX_BODY_HTML_CHARS} characters"),
    )
}

/// Everything but the HTML, which [`finished`] sanitizes. Cheap: linear in
/// the body, which the body limit bounds.
fn checked_body(
    endpoint: Endpoint,
    body: &Map<String, Value>,
    allow_http: bool,
) -> Result<Checked, ApiError> {
    let kind = match body.get("type") {
        Some(Value::String(t)) => t.as_str(),
        _ => "",
    };
    let others = match endpoint {
        Endpoint::Organization => Endpoint::Platform,
        Endpoint::Platform => Endpoint::Organization,
    };
    if others.types().contains(&kind) {
        return Err(endpoint.not_yours(kind));
    }
    let mut errors = Vec::new();
    let mut out = Map::new();
    if endpoint.types().contains(&kind) {
        out.insert("type".into(), json!(kind));
    } else {
        errors.push(FieldError::new(
            "type",
            crate::domain::enums::one_of(endpoint.types()),
        ));
    }
    // Named one by one, up to a point: a megabyte of unknown keys must not
    // become a megabyte of errors.
    const FIELDS: &[&str] = &[
        "type",
        "recipients",
        "subject",
        "body",
        "body_html",
        "action_url",
        "action_text",
        "organization_ids",
    ];
    for key in body
        .keys()
        .filter(|k| !FIELDS.contains(&k.as_str()))
        .take(MAX_UNKNOWN_FIELDS)
    {
        errors.push(FieldError::new(key, unknown_field(FIELDS)));
    }
    match text(body, "subject") {
        Some(s)
            if (1..=MAX_SUBJECT_CHARS).contains(&s.chars().count())
                && !s.chars().any(char::is_control) =>
        {
            out.insert("subject".into(), json!(s));
        }
        _ => errors.push(FieldError::new(
            "subject",
            format!("must be 1 to {MAX_SUBJECT_CHARS} characters on one line"),
        )),
    }
    match text(body, "body") {
        Some(s) if (1..=MAX_BODY_CHARS).contains(&s.chars().count()) => {
            out.insert("body".into(), json!(s));
        }
        _ => errors.push(FieldError::new(
            "body",
            format!("must be 1 to {MAX_BODY_CHARS} characters"),
        )),
    }
    let mut html = None;
    match body.get("body_html") {
        None | Some(Value::Null) => {}
        // Bounded before any parsing: the parser's cost grows faster than
        // the input.
        Some(Value::String(raw)) if raw.chars().count() <= MAX_BODY_HTML_CHARS => {
            html = Some(raw.clone());
        }
        Some(_) => errors.push(html_error()),
    }
    match body.get("action_url") {
        None | Some(Value::Null) => {
            if !matches!(body.get("action_text"), None | Some(Value::Null)) {
                errors.push(FieldError::new("action_text", "needs an action_url"));
            }
        }
        Some(Value::String(raw)) => {
            match action_url(raw, allow_http) {
                Ok(url) => {
                    out.insert("action_url".into(), json!(url));
                }
                Err(message) => errors.push(FieldError::new("action_url", message)),
            }
            match text(body, "action_text") {
                Some(t) if (1..=MAX_ACTION_TEXT_CHARS).contains(&t.chars().count()) => {
                    out.insert("action_text".into(), json!(t));
                }
                _ => errors.push(FieldError::new(
                    "action_text",
                    format!(
                        "is required with action_url (1 to {MAX_ACTION_TEXT_CHARS} characters)"
                    ),
                )),
            }
        }
        Some(_) => errors.push(FieldError::new("action_url", "must be a string")),
    }
    let by_organization = kind == "vectra_to_org_owner" && body.contains_key("organization_ids");
    if body.contains_key("organization_ids") && kind != "vectra_to_org_owner" {
        errors.push(FieldError::new(
            "organization_ids",
            "only for vectra_to_org_owner",
        ));
    }
    if by_organization {
        if body.contains_key("recipients") {
            errors.push(FieldError::new(
                "recipients",
                "send recipients or organization_ids, not both",
            ));
        }
        match body.get("organization_ids") {
            Some(Value::Array(ids)) if (1..=MAX_LISTED).contains(&ids.len()) => {
                let parsed: Option<Vec<Uuid>> = ids
                    .iter()
                    .map(|v| v.as_str().and_then(|s| s.parse().ok()))
                    .collect();
                match parsed {
                    Some(mut ids) => {
                        ids.sort_unstable();
                        ids.dedup();
                        out.insert("organization_ids".into(), json!(ids));
                    }
                    None => errors.push(FieldError::new(
                        "organization_ids",
                        "must be a list of organization ids",
                    )),
                }
            }
            _ => errors.push(FieldError::new(
                "organization_ids",
                format!("must be a list of 1 to {MAX_LISTED} organization ids"),
            )),
        }
    } else {
        match body.get("recipients") {
            Some(Value::String(all)) if all == "all" => {
                out.insert("recipients".into(), json!("all"));
            }
            Some(Value::Array(list)) if (1..=MAX_LISTED).contains(&list.len()) => {
                let mut emails = Vec::with_capacity(list.len());
                let mut bad = Vec::new();
                for (i, v) in list.iter().enumerate() {
                    match v.as_str().map(Email::parse) {
                        Some(Ok(e)) => emails.push(e.to_string()),
                        _ => bad.push((i + 1).to_string()),
                    }
                }
                if bad.is_empty() {
                    emails.sort_unstable();
                    emails.dedup();
                    out.insert("recipients".into(), json!(emails));
                } else {
                    bad.truncate(20);
                    errors.push(FieldError::new(
                        "recipients",
                        format!(
                            "must all be email addresses (not entries {})",
                            bad.join(", ")
                        ),
                    ));
                }
            }
            _ => errors.push(FieldError::new(
                "recipients",
                format!("must be \"all\" or a list of 1 to {MAX_LISTED} email addresses"),
            )),
        }
    }
    Ok(Checked { out, errors, html })
}

/// The checked body with its HTML sanitized (nesting bounded first, see
/// `email::html`) on the blocking pool; or every field error at once.
async fn finished(heavy: &Bounded, checked: Checked) -> Result<Value, ApiError> {
    let Checked {
        mut out,
        mut errors,
        html,
    } = checked;
    if let Some(raw) = html {
        match heavy.run(move || html::sanitize(&raw)).await? {
            Err(too_complex) => errors.push(FieldError::new("body_html", too_complex.to_string())),
            // Measured again once sanitized: that is what is stored (and
            // what the database checks), and cleaning can lengthen it
            // (`&` → `&amp;`).
            Ok(clean) if clean.chars().count() > MAX_BODY_HTML_CHARS => errors.push(html_error()),
            Ok(clean) if clean.trim().is_empty() => {}
            Ok(clean) => {
                out.insert("body_html".into(), json!(clean));
            }
        }
    }
    if errors.is_empty() {
        Ok(Value::Object(out))
    } else {
        Err(ApiError::validation(errors))
    }
}

/// A string field, trimmed.
fn text<'a>(body: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str).map(str::trim)
}

/// An absolute https URL (http too when the service itself is served over
/// http, for local work), without credentials.
fn action_url(raw: &str, allow_http: bool) -> Result<String, String> {
    let wanted = if allow_http {
        "must be an absolute http or https URL"
    } else {
        "must be an absolute https URL"
    };
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(format!("must be at most {MAX_URL_CHARS} characters"));
    }
    let url = url::Url::parse(raw.trim()).map_err(|_| wanted.to_owned())?;
    let scheme_ok = url.scheme() == "https" || (allow_http && url.scheme() == "http");
    if !scheme_ok || url.host_str().is_none_or(str::is_empty) {
        return Err(wanted.to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not hold credentials".to_owned());
    }
    Ok(url.to_string())
}

/// The `Idempotency-Key` header: 1 to 255 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(raw) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match raw.to_str() {
        Ok(k) if (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(k.to_owned()))
        }
        _ => Err(ApiError::validation(vec![FieldError::new(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        )])),
    }
}

fn allow_http(state: &AppState) -> bool {
    state.config.public_base_url.starts_with("http://")
}

/// The roles that send on each endpoint.
const ORGANIZATION_SENDERS: &[&str] = &["owner", "admin"];
const PLATFORM_SENDER: &[&str] = &["platform_admin"];

/// `POST /api/v1/user/notifications/send` (owner, admin).
async fn send(
    State(state): State<AppState>,
    user: OrgUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = user.actor();
    // Who asks, before what they sent costs anything.
    calls::authorize(&state.db, &actor, ORGANIZATION_SENDERS).await?;
    let key = idempotency_key(&headers)?;
    let checked = checked_body(Endpoint::Organization, &body, allow_http(&state))?;
    drop(body);
    let body = finished(&state.heavy, checked).await?;
    let answer = calls::send_notification(&state.db, &actor, &body, key.as_deref()).await?;
    Ok((StatusCode::ACCEPTED, answer))
}

/// `POST /api/v1/admin/notifications/send` (the platform admin).
async fn admin_send(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = admin.actor();
    calls::authorize(&state.db, &actor, PLATFORM_SENDER).await?;
    let key = idempotency_key(&headers)?;
    let checked = checked_body(Endpoint::Platform, &body, allow_http(&state))?;
    drop(body);
    let body = finished(&state.heavy, checked).await?;
    let answer = calls::admin_send_notification(&state.db, &actor, &body, key.as_deref()).await?;
    Ok((StatusCode::ACCEPTED, answer))
}

/// `GET /api/v1/user/notifications` (owner, admin): `type`, `page`, `per_page`.
async fn list(
    State(state): State<AppState>,
    user: OrgUser,
    mut query: ListQuery,
) -> Result<JsonText, ApiError> {
    let cursor = query.cursor();
    query.finish()?;
    Ok(calls::list_notifications(
        &state.db,
        &user.actor(),
        query.page.page,
        query.page.per_page,
        query.filter("type"),
        cursor.as_deref(),
    )
    .await?)
}

/// `GET /api/v1/user/notifications/{id}` (owner, admin): `page`, `per_page`
/// of its recipients.
async fn detail(
    State(state): State<AppState>,
    user: OrgUser,
    PathId(id): PathId,
    mut query: ListQuery,
) -> Result<Json<Value>, ApiError> {
    let cursor = query.cursor();
    query.finish()?;
    let n = calls::get_notification(
        &state.db,
        &user.actor(),
        id,
        query.page.page,
        query.page.per_page,
        cursor.as_deref(),
    )
    .await?;
    Ok(Json(sanitized(&state, n).await?))
}

/// One notification with a page of its recipients. `body_html` is shown
/// sanitized whoever stored it (a row written by direct SQL included), so a
/// console that previews it runs no script; HTML too complex to check (only
/// a row written around the API can hold it) is not shown at all.
async fn sanitized(state: &AppState, mut n: Value) -> Result<Value, ApiError> {
    if let Some(Value::String(raw)) = n.get_mut("body_html") {
        let raw = std::mem::take(raw);
        n["body_html"] = match state.heavy.run(move || html::sanitize(&raw)).await? {
            Ok(clean) => Value::String(clean),
            Err(_) => Value::Null,
        };
    }
    Ok(n)
}

/// `GET /api/v1/admin/notifications`: `type`, `organization_id`, `page`, `per_page`.
async fn admin_list(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    mut query: ListQuery,
) -> Result<JsonText, ApiError> {
    let org = query.uuid("organization_id");
    let cursor = query.cursor();
    query.finish()?;
    Ok(calls::admin_list_notifications(
        &state.db,
        &admin.actor(),
        query.page.page,
        query.page.per_page,
        query.filter("type"),
        org,
        cursor.as_deref(),
    )
    .await?)
}

/// `GET /api/v1/admin/notifications/{id}`: `page`, `per_page` of its recipients.
async fn admin_detail(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    PathId(id): PathId,
    mut query: ListQuery,
) -> Result<Json<Value>, ApiError> {
    let cursor = query.cursor();
    query.finish()?;
    let n = calls::admin_get_notification(
        &state.db,
        &admin.actor(),
        id,
        query.page.page,
        query.page.per_page,
        cursor.as_deref(),
    )
    .await?;
    Ok(Json(sanitized(&state, n).await?))
}

fn token(params: &QueryParams) -> Result<&str, ApiError> {
    params
        .get("token")
        .ok_or_else(|| ApiError::bad_request("Invalid unsubscribe link"))
}

async fn unsubscribe_call(
    state: &AppState,
    params: &QueryParams,
    apply: bool,
) -> Result<Response, ApiError> {
    let token = token(params)?;
    let target = calls::unsubscribe(&state.db, &Actor::Anonymous, token, apply).await?;
    let page = state
        .templates
        .render_page(
            "unsubscribe.html",
            &json!({"target": target, "token": token}),
        )
        .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("unsubscribe page: {e:#}")))?;
    // A page of ours with a form posting back to itself, nothing else.
    Ok(super::html_page(
        page,
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    ))
}

/// `GET /api/v1/unsubscribe?token=…`: what the link unsubscribes, and a
/// button that does it. Changes nothing (mail scanners follow links).
async fn unsubscribe_page(
    State(state): State<AppState>,
    params: QueryParams,
) -> Result<Response, ApiError> {
    unsubscribe_call(&state, &params, false).await
}

/// `POST /api/v1/unsubscribe?token=…`: unsubscribes, no login (RFC 8058
/// one-click: mail clients post `List-Unsubscribe=One-Click`; any body is
/// accepted).
async fn unsubscribe(
    State(state): State<AppState>,
    params: QueryParams,
) -> Result<Response, ApiError> {
    unsubscribe_call(&state, &params, true).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    /// The whole check, HTML included.
    async fn check(
        endpoint: Endpoint,
        body: &Map<String, Value>,
        allow_http: bool,
    ) -> Result<Value, ApiError> {
        let checked = checked_body(endpoint, body, allow_http)?;
        finished(&Bounded::new(1), checked).await
    }

    fn fields(r: Result<Value, ApiError>) -> Vec<String> {
        match r {
            Err(ApiError::Problem(p)) => p.errors.iter().map(|e| e.field.clone()).collect(),
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_good_body_is_normalized() {
        let v = check(
            Endpoint::Organization,
            &body(json!({
                "type": "org_to_prospects", "recipients": ["B@x.test", "b@X.test", "a@x.test"],
                "subject": "  Hello ", "body": "Hi", "body_html": "<p>Hi<script>alert(1)</script></p>",
                "action_url": "https://example.com/offer", "action_text": "See"
            })),
            false,
        )
        .await
        .expect("valid");
        assert_eq!(v["recipients"], json!(["a@x.test", "b@x.test"]));
        assert_eq!(v["subject"], "Hello");
        assert_eq!(v["body_html"], "<p>Hi</p>");
        assert_eq!(v["action_url"], "https://example.com/offer");
    }

    #[tokio::test]
    async fn every_bad_field_is_named() {
        let f = fields(check(
            Endpoint::Organization,
            &body(json!({
                "type": "org_to_prospects", "recipients": ["ok@x.test", "nope"], "subject": "a\nb",
                "body": "", "action_url": "javascript:alert(1)", "extra": 1
            })),
            true,
        ).await);
        assert_eq!(
            f,
            [
                "extra",
                "subject",
                "body",
                "action_url",
                "action_text",
                "recipients"
            ]
        );
        let f = fields(check(
            Endpoint::Platform,
            &body(
                json!({"type": "vectra_to_org_owner", "recipients": "all", "organization_ids": ["x"],
                         "subject": "s", "body": "b", "action_text": "t"}),
            ),
            false,
        ).await);
        assert_eq!(f, ["action_text", "recipients", "organization_ids"]);
        // HTML too long to parse, or nested too deep, is named with the rest.
        let f = fields(
            check(
                Endpoint::Organization,
                &body(
                    json!({"type": "org_owner_to_members", "recipients": "all", "subject": "s",
                         "body": "", "body_html": "<div>".repeat(150_000)}),
                ),
                false,
            )
            .await,
        );
        assert_eq!(f, ["body", "body_html"]);
        let deep = check(
            Endpoint::Organization,
            &body(
                json!({"type": "org_owner_to_members", "recipients": "all", "subject": "s",
                         "body": "b", "body_html": "<div>".repeat(5_000)}),
            ),
            false,
        )
        .await;
        match deep {
            Err(ApiError::Problem(p)) => assert_eq!(
                p.detail,
                format!(
                    "body_html: must not nest elements more than {} deep",
                    html::MAX_DEPTH
                )
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn urls_are_absolute_https_without_credentials() {
        assert!(action_url("https://a.example/x?y=1", false).is_ok());
        assert!(action_url("http://a.example/", false).is_err());
        assert!(action_url("http://a.example/", true).is_ok());
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "//a.example",
            "/relative",
            "https://u:p@a.example/",
            "ftp://a.example",
        ] {
            assert!(action_url(bad, true).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn another_endpoints_type_is_forbidden_naming_ours() {
        let r = check(
            Endpoint::Organization,
            &body(json!({"type": "system_alerts"})),
            false,
        )
        .await;
        match r {
            Err(ApiError::Problem(p)) => {
                assert_eq!(p.status, StatusCode::FORBIDDEN);
                assert!(
                    p.detail
                        .contains("org_to_prospects or org_owner_to_members")
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
