//! The HTTP surface: the shared state, the router with its middleware, and
//! one module per route group (each exposes `router()`).

pub mod admin;
pub mod auth;
pub mod dev;
pub mod health;
pub mod json;
pub mod jwks;
pub mod list;
pub mod middleware;
pub mod notifications;
pub mod openapi;
pub mod prometheus;
pub mod prospecting;
mod state;
pub mod user;

pub use middleware::REQUEST_ID;
pub use state::{AppState, DevMode, Services};

use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::from_fn;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::client_addr::ClientAddr;
use crate::metrics as service_metrics;

/// The whole HTTP surface, with its middleware.
pub fn router(state: AppState) -> Router {
    let config = &state.config;
    let dev = match &state.dev {
        Some(dev) => dev::router(dev.mailbox.is_some()),
        None => Router::new(),
    };
    let (max_body, timeout) = (config.max_body_bytes, config.request_timeout);
    let https = config.public_base_url.starts_with("https://");
    let metrics = state.metrics.clone();
    let proxies = config.trusted_proxies.clone();
    let cors = cors(&config.cors_allowed_origins);
    Router::new()
        .merge(dev)
        .merge(health::router())
        .merge(jwks::router())
        .merge(docs(&state))
        .merge(prometheus::router(&state))
        .merge(api(state.clone()))
        .fallback(middleware::fallback)
        // Inside the router, once it has matched the path, around every route
        // and the fallback: the metrics learn the route template first, so a
        // request the body limit (or the route's 405, or an extractor)
        // refuses is still counted under its route.
        .layer(
            tower::ServiceBuilder::new()
                .layer(from_fn(service_metrics::tag_route))
                .layer(RequestBodyLimitLayer::new(max_body))
                .map_request(|req: axum::http::Request<_>| req.map(axum::body::Body::new)),
        )
        .with_state(state)
        // Layers run bottom-up on the way in: the request id exists before the
        // trace span opens, and every error response leaves as problem+json.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            timeout,
        ))
        // Errors as problem+json, then the security headers.
        .layer(from_fn_with_state(https, middleware::finish))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    // The fields are read only when the span is enabled
                    // (RUST_LOG at info or finer for this target).
                    tracing::info_span!(
                        "request",
                        method = %req.method(),
                        path = %req.uri().path(),
                        request_id = req
                            .headers()
                            .get(REQUEST_ID)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or(""),
                        client = req
                            .extensions()
                            .get::<ClientAddr>()
                            .map(|c| tracing::field::display(c.0)),
                        status = tracing::field::Empty,
                    )
                })
                .on_response(|res: &Response, latency: Duration, span: &Span| {
                    span.record("status", res.status().as_u16());
                    tracing::info!(latency_ms = latency.as_millis() as u64, "response");
                }),
        )
        // The request id (kept or made, and on the response) and who the
        // client is (TRUSTED_PROXIES), before anything logs or counts it.
        .layer(from_fn_with_state(proxies, middleware::edge))
        // Every response, errors and timeouts included, carries the CORS
        // headers an allowed origin needs to read it.
        .layer(tower::util::option_layer(cors))
        // Outermost: every request is counted and timed, whatever answered it.
        .layer(from_fn_with_state(metrics, service_metrics::record))
}

/// CORS for browser clients on other origins (`CORS_ALLOWED_ORIGINS`): exact
/// origins, bearer tokens (no cookies, so no credentials mode), preflights
/// answered and cached for ten minutes. No origins: no CORS headers at all.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PATCH,
                Method::PUT,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("idempotency-key"),
                REQUEST_ID,
            ])
            .expose_headers([REQUEST_ID, header::RETRY_AFTER, header::WWW_AUTHENTICATE])
            .max_age(Duration::from_secs(600)),
    )
}

/// An HTML page of ours, with the Content-Security-Policy that says what it
/// may load (the dev mailbox's pages, the unsubscribe page).
pub fn html_page(html: String, csp: &'static str) -> Response {
    let mut response = axum::response::Html(html).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_SECURITY_POLICY,
        axum::http::HeaderValue::from_static(csp),
    );
    response
}

/// Everything under `/api/v1`, each route registered with its full path:
/// `Router::nest` would wrap every route in two more services (strip the
/// prefix, record it), boxed and cloned for each request, per level of
/// nesting (docs/performance.md, "Routes without nesting").
fn api(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(user::router())
        .merge(prospecting::router())
        .merge(notifications::user_router())
        .merge(notifications::unsubscribe_router())
        .merge(admin::router(state))
}

/// The contract: `GET /api/v1/openapi.json`, and Swagger UI at `/docs` when
/// `DOCS_ENABLED` (the default).
fn docs(state: &AppState) -> Router<AppState> {
    let document = openapi::document(state.config.metrics_token.is_some());
    if state.config.docs_enabled {
        utoipa_swagger_ui::SwaggerUi::new("/docs")
            .external_url_unchecked("/api/v1/openapi.json", document)
            .into()
    } else {
        Router::new().route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let document = document.clone();
                async move { axum::Json(document) }
            }),
        )
    }
}
