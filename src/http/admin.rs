//! `/api/v1/admin`: the platform console. Every path below it, known or not,
//! first requires the platform admin (403 `Platform admin access required`
//! for anyone else), so the console's shape is not probeable.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::from_extractor_with_state;
use axum::routing::any;

use crate::app::AppState;
use crate::auth::PlatformAdmin;
use crate::error::{ApiError, Problem};

pub fn router(state: AppState) -> Router<AppState> {
    // A catch-all route rather than a fallback: axum does not use a nested
    // router's fallback when the router has no routes.
    Router::new()
        .route("/", any(unknown))
        .route("/{*rest}", any(unknown))
        .layer(from_extractor_with_state::<PlatformAdmin, AppState>(state))
}

/// An unknown admin path: 404 for a platform admin whose session and
/// verified email the database confirms, their refusal otherwise.
async fn unknown(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    req: Request,
) -> Result<Problem, ApiError> {
    state.db.query(&admin.actor(), "select 1", &[]).await?;
    Ok(Problem::new(
        StatusCode::NOT_FOUND,
        format!("No route for {} {}", req.method(), req.uri().path()),
    ))
}
