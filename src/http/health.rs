//! Liveness and readiness probes.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use crate::db::{Actor, calls, migrate};
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
}

/// `GET /health`: the process is alive. Touches nothing else.
async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /ready`: the database answers (through the same request transaction
/// as every route, as `vectra_anon`) and carries every migration this build
/// knows.
async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    if state.draining.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(ApiError::unavailable(
            "Shutting down: finishing the requests in flight",
        ));
    }
    let expected = migrate::latest_version();
    let current = match calls::schema_version(&state.db, &Actor::Anonymous).await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: database not usable");
            return Err(ApiError::unavailable("The database is not reachable"));
        }
    };
    if i64::from(current) < expected {
        // A 503 says when to look again, like every other.
        return Err(ApiError::unavailable(format!(
            "The database schema is at version {current}; this build needs {expected}. Run `vectra migrate`."
        )));
    }
    Ok(Json(json!({
        "status": "ready",
        "schema_version": current,
        "expected_schema_version": expected,
    })))
}
