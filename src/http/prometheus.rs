//! `GET /metrics`: the Prometheus text format, never public by default.
//!
//! - `METRICS_BIND_ADDR`: a second listener serving only this route (bind it
//!   to a private interface);
//! - `METRICS_TOKEN`: the route requires `Authorization: Bearer <token>`, on
//!   that listener and on the main one (which serves `/metrics` only then).
//!
//! With neither, `/metrics` is an unknown path like any other (404).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AppState;
use crate::db::{Actor, calls};
use crate::error::{ApiError, Problem};
use crate::metrics::Metrics;

/// The route on the main listener: only when a token is configured.
pub fn router(state: &AppState) -> Router<AppState> {
    if state.config.metrics_token.is_some() {
        Router::new().route("/metrics", get(scrape))
    } else {
        Router::new()
    }
}

/// The whole of the private metrics listener, with the main one's timeout.
pub fn private_router(state: AppState) -> Router {
    let timeout = state.config.request_timeout;
    Router::new()
        .route("/metrics", get(scrape))
        .fallback(|| async {
            Problem::new(
                StatusCode::NOT_FOUND,
                "This listener serves GET /metrics only",
            )
        })
        .with_state(state)
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            timeout,
        ))
}

/// Whether `presented` is the token, in time that depends on neither's
/// contents nor length (both are hashed first).
fn token_matches(presented: &str, token: &str) -> bool {
    Sha256::digest(presented.as_bytes())
        .ct_eq(&Sha256::digest(token.as_bytes()))
        .into()
}

async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = &state.config.metrics_token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !token_matches(presented, token.expose()) {
            let mut response =
                ApiError::unauthorized("A valid metrics bearer token is required").into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return Ok(response);
        }
    }
    // The database figures come through the worker's one function, at most
    // one query at a time and at most every STATS_MAX_AGE whatever the
    // scrape rate; a database outage still leaves the process's own metrics
    // readable.
    match state
        .metrics
        .service_stats(|| async { calls::service_stats(&state.db, &Actor::Worker).await })
        .await
    {
        Ok(stats) => {
            state.metrics.set_gauge("vectra_database_up", 1.0);
            set_database_gauges(&state.metrics, &stats);
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: database figures unavailable");
            state.metrics.set_gauge("vectra_database_up", 0.0);
        }
    }
    set_pool_gauges(&state);
    state.metrics.set_token_checks(state.jwt.checks());
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render(),
    )
        .into_response())
}

fn set_database_gauges(metrics: &Metrics, stats: &Value) {
    let number = |path: &[&str]| {
        path.iter()
            .try_fold(stats, |v, k| v.get(k))
            .and_then(Value::as_f64)
    };
    for (name, path) in [
        (
            "vectra_database_size_bytes",
            &["database", "size_bytes"][..],
        ),
        ("vectra_database_connections", &["database", "connections"]),
        ("vectra_outbox_pending", &["outbox", "pending"]),
        ("vectra_outbox_sending", &["outbox", "sending"]),
        ("vectra_outbox_failed", &["outbox", "failed"]),
        ("vectra_outbox_cancelled", &["outbox", "cancelled"]),
        ("vectra_outbox_sent_last_24h", &["outbox", "sent_last_24h"]),
        (
            "vectra_email_delivery_p50_seconds",
            &["email_delivery_seconds", "p50"],
        ),
        (
            "vectra_email_delivery_p95_seconds",
            &["email_delivery_seconds", "p95"],
        ),
        (
            "vectra_email_delivery_p99_seconds",
            &["email_delivery_seconds", "p99"],
        ),
    ] {
        if let Some(v) = number(path) {
            metrics.set_gauge(name, v);
        }
    }
}

/// The pool as `{max_size, size, in_use, available, waiting}`, also set as
/// gauges.
fn set_pool_gauges(state: &AppState) -> Value {
    let status = state.db.pool().status();
    let in_use = status.size.saturating_sub(status.available);
    for (name, v) in [
        ("vectra_db_pool_max_size", status.max_size),
        ("vectra_db_pool_size", status.size),
        ("vectra_db_pool_in_use", in_use),
        ("vectra_db_pool_waiting", status.waiting),
    ] {
        state.metrics.set_gauge(name, v as f64);
    }
    json!({
        "max_size": status.max_size,
        "size": status.size,
        "in_use": in_use,
        "available": status.available,
        "waiting": status.waiting,
    })
}

/// `GET /api/v1/admin/system/metrics` (the platform admin): the same figures
/// as JSON. `stats` is `auth.service_stats()` read in the admin's request.
pub fn system_metrics(state: &AppState, stats: Value) -> Json<Value> {
    let pool = set_pool_gauges(state);
    let mut body = state.metrics.http_summary();
    let stats = stats.as_object().cloned().unwrap_or_default();
    let mut database = stats.get("database").cloned().unwrap_or_else(|| json!({}));
    if let Some(db) = database.as_object_mut() {
        db.insert("pool".to_owned(), pool);
    }
    if let Some(out) = body.as_object_mut() {
        out.insert(
            "uptime_seconds".to_owned(),
            json!(state.metrics.uptime().as_secs()),
        );
        out.insert("database".to_owned(), database);
        out.insert(
            "outbox".to_owned(),
            stats.get("outbox").cloned().unwrap_or(Value::Null),
        );
        out.insert(
            "email_delivery_seconds".to_owned(),
            stats
                .get("email_delivery_seconds")
                .cloned()
                .unwrap_or(Value::Null),
        );
    }
    Json(body)
}

#[cfg(test)]
mod tests {
    use super::token_matches;

    #[test]
    fn the_token_must_match_exactly() {
        let token = "metrics-token-0123456789abcdef";
        assert!(token_matches(token, token));
        assert!(!token_matches("metrics-token-0123456789abcdeX", token));
        assert!(!token_matches("metrics-token", token));
        assert!(!token_matches("", token));
        assert!(!token_matches(&format!("{token}x"), token));
    }
}
