//! One error type for the HTTP layer, rendered as RFC 9457 problem+json,
//! and the one place where the lower layers' errors (`db::Error`,
//! `domain::Invalid`, `rate_limit::Limited`) become HTTP.
//!
//! Client-facing problems carry a status, a title and a detail the client may
//! read. Everything else is `Unexpected`: its cause chain goes to the log and
//! the client gets a plain 500.
//!
//! SQL functions signal client errors with SQLSTATEs of our own class `VA`
//! (documented in docs/api.md and docs/security.md):
//! `VA400` `VA401` `VA403` `VA404` `VA409` `VA422` `VA429` `VA503`. The
//! exception message becomes the problem's `detail`; for `VA422` the
//! exception's DETAIL may hold a JSON object of field errors
//! (`{"field": "message"}`), for `VA429` and `VA503`
//! `{"retry_after": seconds}` (sent as `Retry-After`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio_postgres::error::SqlState;

use crate::auth::extract::Refused;
use crate::auth::rate_limit::{Limited, Refusal};
use crate::{db, domain};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// `Retry-After` of a 503 when the database is unavailable.
pub const RETRY_UNAVAILABLE_SECS: u64 = 5;
const DATABASE_UNAVAILABLE: &str = "The database is unavailable; try again shortly.";

pub use crate::domain::FieldError;

/// A client-facing problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: StatusCode,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub hint: Option<String>,
    pub retry_after: Option<u64>,
    /// The `instance` member: the request id (set by the middleware that
    /// knows it, `http::middleware::problem_for_bare_errors`).
    pub instance: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
            errors: Vec::new(),
            hint: None,
            retry_after: None,
            instance: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// The `type` member: a stable URN per kind of problem, documented in docs/api.md.
    pub fn type_uri(&self) -> &'static str {
        match self.status {
            StatusCode::BAD_REQUEST => "urn:vectra:problem:bad-request",
            StatusCode::UNAUTHORIZED => "urn:vectra:problem:unauthorized",
            StatusCode::FORBIDDEN => "urn:vectra:problem:forbidden",
            StatusCode::NOT_FOUND => "urn:vectra:problem:not-found",
            StatusCode::METHOD_NOT_ALLOWED => "urn:vectra:problem:method-not-allowed",
            StatusCode::CONFLICT => "urn:vectra:problem:conflict",
            StatusCode::PAYLOAD_TOO_LARGE => "urn:vectra:problem:payload-too-large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "urn:vectra:problem:unsupported-media-type",
            StatusCode::UNPROCESSABLE_ENTITY => "urn:vectra:problem:validation",
            StatusCode::TOO_MANY_REQUESTS => "urn:vectra:problem:rate-limited",
            StatusCode::SERVICE_UNAVAILABLE => "urn:vectra:problem:unavailable",
            StatusCode::GATEWAY_TIMEOUT => "urn:vectra:problem:timeout",
            s if s.is_client_error() => "urn:vectra:problem:client-error",
            _ => "urn:vectra:problem:internal",
        }
    }
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    type_uri: &'a str,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    instance: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = ProblemBody {
            type_uri: self.type_uri(),
            title: self.status.canonical_reason().unwrap_or("Error"),
            status: self.status.as_u16(),
            detail: &self.detail,
            instance: self.instance.as_deref(),
            hint: self.hint.as_deref(),
            errors: &self.errors,
        };
        let json = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (self.status, json).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"vectra\""),
            );
        }
        response
    }
}

/// The error every handler returns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{}", .0.detail)]
    Problem(Problem),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Problem(p) => p.status,
            ApiError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::Problem(Problem::new(StatusCode::BAD_REQUEST, detail))
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::Problem(Problem::new(StatusCode::UNAUTHORIZED, detail))
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::Problem(Problem::new(StatusCode::FORBIDDEN, detail))
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::Problem(Problem::new(StatusCode::NOT_FOUND, detail))
    }
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::Problem(Problem::new(StatusCode::CONFLICT, detail))
    }
    /// 503 with `Retry-After`: the database is down, restarting, full or
    /// read-only; a load balancer and a client know to try again.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        let mut p = Problem::new(StatusCode::SERVICE_UNAVAILABLE, detail);
        p.retry_after = Some(RETRY_UNAVAILABLE_SECS);
        Self::Problem(p)
    }
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] if one.row.is_none() => format!("{}: {}", one.field, one.message),
            _ if errors.iter().any(|e| e.row.is_some()) => {
                "The import has invalid rows; nothing was imported".to_owned()
            }
            _ => "The request has invalid fields".to_owned(),
        };
        Self::Problem(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail).with_errors(errors))
    }
}

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        ApiError::Problem(p)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Problem(p) => {
                if p.status.is_server_error() {
                    tracing::warn!(status = %p.status, detail = %p.detail, "request failed");
                }
                p.into_response()
            }
            ApiError::Unexpected(e) => {
                tracing::error!(error = ?e, "unexpected error");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "An unexpected error occurred; it has been logged.",
                )
                .into_response()
            }
        }
    }
}

/// The lower layers' errors, mapped here and nowhere else.
impl From<db::Error> for ApiError {
    fn from(e: db::Error) -> Self {
        match e {
            db::Error::Postgres(e) => e.into(),
            db::Error::Pool(deadpool_postgres::PoolError::Backend(e)) => e.into(),
            db::Error::Pool(e) => {
                tracing::error!(error = %e, "database pool error");
                ApiError::unavailable(DATABASE_UNAVAILABLE)
            }
            e @ db::Error::Result { .. } => ApiError::Unexpected(e.into()),
        }
    }
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => match problem_for_db_error(db) {
                Some(p) => ApiError::Problem(p),
                None => ApiError::Unexpected(anyhow::Error::new(e).context("database error")),
            },
            // A connection that closed, or that could not be made or used
            // (refused, reset, timed out): the database, not the request.
            None if e.is_closed() || caused_by_io(&e) => {
                tracing::error!(error = %e, "database unreachable");
                ApiError::unavailable(DATABASE_UNAVAILABLE)
            }
            None => ApiError::Unexpected(anyhow::Error::new(e).context("database client error")),
        }
    }
}

impl From<domain::Invalid> for ApiError {
    fn from(e: domain::Invalid) -> Self {
        match e {
            domain::Invalid::Fields(errors) => ApiError::validation(errors),
            e @ domain::Invalid::Unchecked => ApiError::Unexpected(e.into()),
        }
    }
}

impl From<Refused> for ApiError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Unauthorized(detail) => ApiError::unauthorized(detail),
            Refused::Forbidden(detail) => ApiError::forbidden(detail),
        }
    }
}

/// The extractors' rejection, answered like every other problem.
impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Limited(limited) => limited.into(),
            Refusal::Db(e) => e.into(),
        }
    }
}

impl From<Limited> for ApiError {
    fn from(limited: Limited) -> Self {
        let mut p = Problem::new(StatusCode::TOO_MANY_REQUESTS, limited.to_string());
        p.retry_after = Some(limited.retry_after_secs());
        ApiError::Problem(p)
    }
}

fn caused_by_io(e: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// The one place where SQLSTATEs become HTTP. `None` means "not the client's
/// fault": the caller logs it and answers 500.
pub fn problem_for_db_error(db: &tokio_postgres::error::DbError) -> Option<Problem> {
    let code = db.code().code();
    let message = db.message().to_owned();
    let status = match code {
        "VA400" => StatusCode::BAD_REQUEST,
        "VA401" => StatusCode::UNAUTHORIZED,
        "VA403" => StatusCode::FORBIDDEN,
        "VA404" => StatusCode::NOT_FOUND,
        "VA409" => StatusCode::CONFLICT,
        "VA429" | "VA503" => {
            // DETAIL: {"retry_after": seconds}
            let (status, default) = if code == "VA429" {
                (StatusCode::TOO_MANY_REQUESTS, 60)
            } else {
                (StatusCode::SERVICE_UNAVAILABLE, RETRY_UNAVAILABLE_SECS)
            };
            let retry_after = db
                .detail()
                .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
                .and_then(|v| v.get("retry_after").and_then(serde_json::Value::as_u64))
                .unwrap_or(default);
            let mut p = Problem::new(status, message);
            p.retry_after = Some(retry_after.max(1));
            p.hint = db.hint().map(str::to_owned);
            return Some(p);
        }
        "VA422" => {
            let errors = db.detail().map(field_errors_of_detail).unwrap_or_default();
            // One field: say which in the detail, as Rust-side validation does.
            let detail = match errors.as_slice() {
                [one] => format!("{}: {}", one.field, one.message),
                _ => message,
            };
            let mut p = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail).with_errors(errors);
            p.hint = db.hint().map(str::to_owned);
            return Some(p);
        }
        _ => return problem_for_standard_sqlstate(db),
    };
    let mut p = Problem::new(status, message);
    p.hint = db.hint().map(str::to_owned);
    Some(p)
}

/// The DETAIL of a `VA422`: `{"field": "message", …}`, or
/// `{"errors": [{"row", "field", "message"}, …]}` for a batch.
fn field_errors_of_detail(detail: &str) -> Vec<FieldError> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str(detail) else {
        return Vec::new();
    };
    if let Some(rows) = map.get("errors").filter(|v| v.is_array()) {
        return serde_json::from_value(rows.clone()).unwrap_or_default();
    }
    map.into_iter()
        .map(|(field, v)| {
            let message = v
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string());
            FieldError::new(field, message)
        })
        .collect()
}

fn problem_for_standard_sqlstate(db: &tokio_postgres::error::DbError) -> Option<Problem> {
    let code = db.code();
    let constraint = db.constraint().unwrap_or("");
    if *code == SqlState::UNIQUE_VIOLATION {
        // The SQL functions check for duplicates first and raise `VA409`
        // with the message of their rule (a user with this email, a pending
        // invitation, a lead …); a unique index only speaks when two
        // requests race past that check, and then says no more than this.
        return Some(Problem::new(
            StatusCode::CONFLICT,
            "This conflicts with an existing resource; it may have just been created",
        ));
    }
    if *code == SqlState::CHECK_VIOLATION || *code == SqlState::NOT_NULL_VIOLATION {
        let field = db
            .column()
            .map(str::to_owned)
            .unwrap_or_else(|| constraint_field(constraint));
        return Some(
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{field}: invalid value"),
            )
            .with_errors(vec![FieldError::new(field, "invalid value")]),
        );
    }
    if *code == SqlState::FOREIGN_KEY_VIOLATION {
        return Some(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The request refers to a resource that does not exist",
        ));
    }
    if *code == SqlState::STRING_DATA_RIGHT_TRUNCATION {
        return Some(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "A value is longer than allowed",
        ));
    }
    if *code == SqlState::INSUFFICIENT_PRIVILEGE {
        // A policy's WITH CHECK or a missing grant: the request tried to touch
        // something its role may not. Never leak which.
        tracing::warn!(message = db.message(), "insufficient privilege");
        return Some(Problem::new(
            StatusCode::FORBIDDEN,
            "You do not have permission to do this",
        ));
    }
    if *code == SqlState::CHARACTER_NOT_IN_REPERTOIRE || *code == SqlState::UNTRANSLATABLE_CHARACTER
    {
        // NUL in a text value (22021) or in JSON text (22P05): the request
        // extractors refuse these first; this is the net behind them.
        return Some(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "A text value contains a character that cannot be stored (such as NUL)",
        ));
    }
    if *code == SqlState::T_R_DEADLOCK_DETECTED || *code == SqlState::T_R_SERIALIZATION_FAILURE {
        // Two requests wrote the same rows at once and the database undid
        // one: nothing of it was kept, and trying again is safe.
        tracing::info!(
            code = code.code(),
            "a transaction lost a race and rolled back"
        );
        let mut p = Problem::new(
            StatusCode::CONFLICT,
            "A concurrent request changed the same data; nothing was changed: try again",
        );
        p.retry_after = Some(1);
        return Some(p);
    }
    if *code == SqlState::QUERY_CANCELED {
        let mut p = Problem::new(StatusCode::SERVICE_UNAVAILABLE, "The request took too long");
        p.retry_after = Some(RETRY_UNAVAILABLE_SECS);
        return Some(p);
    }
    let class = &code.code()[..2];
    if class == "22" {
        // Any other data exception (a date PostgreSQL cannot hold, a number
        // out of range, text that is not the type it should be): the
        // client's value, which the service's own checks did not catch.
        let field = db.column().map(str::to_owned);
        let detail = match &field {
            Some(f) => format!("{f}: invalid or out of range"),
            None => "A value is invalid or out of range".to_owned(),
        };
        tracing::info!(code = code.code(), message = db.message(), "data exception");
        let errors = field
            .map(|f| vec![FieldError::new(f, "invalid or out of range")])
            .unwrap_or_default();
        return Some(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail).with_errors(errors));
    }
    // The database cannot serve now: its connection failed (08), it lacks
    // resources (53: too many connections, disk full), it is shutting down or
    // starting (57P01-57P03), it hit an I/O error (58), or it is a read-only
    // standby (25006, after a failover).
    if matches!(class, "08" | "53" | "58")
        || matches!(code.code(), "57P01" | "57P02" | "57P03" | "25006")
    {
        tracing::error!(
            code = code.code(),
            message = db.message(),
            "database unavailable"
        );
        let mut p = Problem::new(StatusCode::SERVICE_UNAVAILABLE, DATABASE_UNAVAILABLE);
        p.retry_after = Some(RETRY_UNAVAILABLE_SECS);
        return Some(p);
    }
    None
}

/// `users_full_name_check` → `full_name`: constraint names follow
/// `<table>_<column>_check`, which PostgreSQL generates for column checks.
fn constraint_field(constraint: &str) -> String {
    let trimmed = constraint.strip_suffix("_check").unwrap_or(constraint);
    for table in [
        "organizations_",
        "users_",
        "invitations_",
        "notifications_",
        "email_outbox_",
        "audit_log_",
        "campaigns_",
        "leads_",
        "meetings_",
    ] {
        if let Some(rest) = trimmed.strip_prefix(table) {
            return rest.to_owned();
        }
    }
    trimmed.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_come_from_constraint_names() {
        assert_eq!(constraint_field("users_full_name_check"), "full_name");
        assert_eq!(constraint_field("organizations_settings_check"), "settings");
        assert_eq!(constraint_field("something_else"), "something_else");
    }

    #[test]
    fn validation_detail_names_a_single_field() {
        let e = ApiError::validation(vec![FieldError::new("password", "too short")]);
        assert_eq!(e.to_string(), "password: too short");
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[tokio::test]
    async fn problems_render_as_problem_json() {
        let mut p = Problem::new(StatusCode::TOO_MANY_REQUESTS, "Slow down");
        p.retry_after = Some(7);
        let response = p.into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(v["type"], "urn:vectra:problem:rate-limited");
        assert_eq!(v["title"], "Too Many Requests");
        assert_eq!(v["status"], 429);
        assert_eq!(v["detail"], "Slow down");
        assert!(v.get("errors").is_none());
    }
}
