//! The middleware every response passes through, in two layers around the
//! trace span ([`edge`]: the request id and the client's address;
//! [`finish`]: the problem+json shape of errors produced outside the
//! handlers and the security headers), and the fallback. Each is one layer
//! rather than one per concern: every layer boxes a future and clones the
//! service below it for each request.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::client_addr::TrustedProxies;
use crate::error::{PROBLEM_JSON, Problem};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest `X-Request-Id` a caller may choose.
pub const MAX_REQUEST_ID_CHARS: usize = 128;

/// The outer edge, before the trace span opens:
///
/// - **The request id.** A caller's `X-Request-Id` is kept when it is one
///   header of 1 to 128 characters of letters, digits and `-_.:+/=@` (UUIDs,
///   trace ids, a proxy's ids); any other value is dropped and the service
///   makes its own (a UUID), so a request id never carries markup, control
///   characters or a megabyte into the logs and the response. The response
///   carries it, unless it has one already.
/// - **The client's address** ([`crate::client_addr::attach`]), from the
///   trusted proxies only, before anything logs or counts it.
pub async fn edge(State(proxies): State<TrustedProxies>, mut req: Request, next: Next) -> Response {
    let id = match kept_request_id(req.headers()) {
        Some(id) => id,
        None => {
            let mut text = [0; uuid::fmt::Hyphenated::LENGTH];
            let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
            // A UUID's text is always a valid header value.
            let id = HeaderValue::from_str(text).unwrap_or(HeaderValue::from_static("-"));
            req.headers_mut().insert(REQUEST_ID, id.clone());
            id
        }
    };
    crate::client_addr::attach(&proxies, &mut req);
    let mut response = next.run(req).await;
    response.headers_mut().entry(REQUEST_ID).or_insert(id);
    response
}

/// The caller's request id, if it may be kept ([`edge`]).
fn kept_request_id(headers: &HeaderMap) -> Option<HeaderValue> {
    let mut all = headers.get_all(REQUEST_ID).iter();
    let id = all.next()?;
    let b = id.as_bytes();
    let acceptable = all.next().is_none()
        && (1..=MAX_REQUEST_ID_CHARS).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.:+/=@".contains(c));
    acceptable.then(|| id.clone())
}

/// The inner edge, inside the trace span, around the timeout: every error
/// as problem+json ([`problem_for_bare_errors`]), then the security headers
/// ([`security_headers`]). `https`: whether the service is reached over
/// https (`PUBLIC_BASE_URL`).
pub async fn finish(State(https): State<bool>, req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    // A shared handle on the header's bytes: read as text only for an error.
    let request_id = req.headers().get(REQUEST_ID).cloned();
    let response = next.run(req).await;
    let mut response = problem_for_bare_errors(request_id, response).await;
    security_headers(&mut response, is_api, https);
    response
}

/// Headers every response carries. API responses hold tokens or tenant data,
/// so no cache keeps them; HSTS only when the service is reached over https.
fn security_headers(response: &mut Response, is_api: bool, https: bool) {
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
async fn problem_for_bare_errors(request_id: Option<HeaderValue>, response: Response) -> Response {
    let status = response.status();
    let is_error = status.is_client_error() || status.is_server_error();
    if !is_error {
        return response;
    }
    let request_id = request_id.and_then(|v| v.to_str().ok().map(str::to_owned));
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
