//! The middleware every response passes through: security headers, the
//! problem+json shape of errors produced outside the handlers, the fallback.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{PROBLEM_JSON, Problem};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest `X-Request-Id` a caller may choose.
pub const MAX_REQUEST_ID_CHARS: usize = 128;

/// A caller's `X-Request-Id` is kept when it is 1 to 128 characters of
/// letters, digits and `-_.:+/=@` (UUIDs, trace ids, a proxy's ids); any
/// other value is dropped and the service makes its own (a UUID), so a
/// request id never carries markup, control characters or a megabyte into
/// the logs and the response.
pub async fn drop_bad_request_id(mut req: Request, next: Next) -> Response {
    let acceptable = |v: &HeaderValue| {
        let b = v.as_bytes();
        (1..=MAX_REQUEST_ID_CHARS).contains(&b.len())
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.:+/=@".contains(c))
    };
    if req.headers().get_all(REQUEST_ID).iter().count() > 1
        || req
            .headers()
            .get(REQUEST_ID)
            .is_some_and(|v| !acceptable(v))
    {
        req.headers_mut().remove(REQUEST_ID);
    }
    next.run(req).await
}

/// Headers every response carries. API responses hold tokens or tenant data,
/// so no cache keeps them; HSTS only when the service is reached over https.
pub async fn security_headers(State(https): State<bool>, req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if is_api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

pub async fn fallback(req: Request) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        format!("No route for {} {}", req.method(), req.uri().path()),
    )
}

/// Every error leaves as problem+json with its `instance`: the request id
/// (`X-Request-Id`, as the response carries it), so that a client can quote
/// the problem and an operator find its log lines. Errors produced outside
/// our handlers (axum's extractor rejections, 405, the body limit, the
/// timeout) come with plain-text or empty bodies; they get the same shape
/// as everything else.
pub async fn problem_for_bare_errors(req: Request, next: Next) -> Response {
    let request_id = req
        .headers()
        .get(super::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(req).await;
    let status = response.status();
    let is_error = status.is_client_error() || status.is_server_error();
    if !is_error {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    let (mut parts, body) = response.into_parts();
    // Problems are small (an import's row errors are bounded to a hundred).
    let bytes = axum::body::to_bytes(body, 1024 * 1024)
        .await
        .unwrap_or_default();
    if !is_problem {
        let text = String::from_utf8_lossy(&bytes);
        let detail = match text.trim() {
            "" => match status {
                StatusCode::METHOD_NOT_ALLOWED => {
                    "This route does not accept this method".to_owned()
                }
                StatusCode::GATEWAY_TIMEOUT => "The request took too long".to_owned(),
                StatusCode::PAYLOAD_TOO_LARGE => "The request body is too large".to_owned(),
                _ => status.canonical_reason().unwrap_or("Error").to_owned(),
            },
            t => t.to_owned(),
        };
        let mut problem = Problem::new(status, detail);
        problem.instance = request_id;
        let mut response = problem.into_response();
        for name in [header::ALLOW, header::RETRY_AFTER] {
            if let Some(v) = parts.headers.get(&name) {
                response.headers_mut().insert(name, v.clone());
            }
        }
        return response;
    }
    let body = match (
        request_id,
        serde_json::from_slice::<serde_json::Value>(&bytes),
    ) {
        (Some(id), Ok(serde_json::Value::Object(mut problem))) => {
            problem.insert("instance".to_owned(), serde_json::Value::String(id));
            serde_json::to_vec(&problem).unwrap_or_else(|_| bytes.to_vec())
        }
        _ => bytes.to_vec(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}
