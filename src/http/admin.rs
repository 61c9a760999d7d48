//! `/api/v1/admin`: the platform console. Every path below it, known or not,
//! first requires the platform admin (403 `Platform admin access required`
//! for anyone else), so the console's shape is not probeable.

use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::{Method, StatusCode};
use axum::middleware::from_extractor_with_state;
use axum::routing::any;

use crate::app::AppState;
use crate::auth::PlatformAdmin;
use crate::error::{ApiError, Problem};

pub fn router(state: AppState) -> Router<AppState> {
    // Catch-all routes rather than a fallback (axum does not use a nested
    // router's fallback when it has no routes), with and without the
    // trailing slash, so that no path under /admin escapes the gate.
    Router::new()
        .route("/admin", any(unknown))
        .route("/admin/", any(unknown))
        .route("/admin/{*rest}", any(unknown))
        .layer(from_extractor_with_state::<PlatformAdmin, AppState>(state))
}

/// An unknown admin path: 404 for a platform admin whose session and
/// verified email the database confirms, their refusal otherwise.
async fn unknown(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    method: Method,
    OriginalUri(uri): OriginalUri,
) -> Result<Problem, ApiError> {
    state.db.query(&admin.actor(), "select 1", &[]).await?;
    Ok(Problem::new(
        StatusCode::NOT_FOUND,
        format!("No route for {method} {}", uri.path()),
    ))
}
