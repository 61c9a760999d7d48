//! `/api/v1/user`: the signed-in user and their organization.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use crate::app::AppState;
use crate::auth::{AuthUser, OrgUser};
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/organizations/me", get(my_organization))
}

/// `GET /api/v1/user/me`: the caller's profile and organization (null for
/// the platform admin).
async fn me(State(state): State<AppState>, user: AuthUser) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        state
            .db
            .call(&user.actor(), "select auth.me()", &[])
            .await?,
    ))
}

/// `GET /api/v1/user/organizations/me`: the caller's organization.
async fn my_organization(
    State(state): State<AppState>,
    user: OrgUser,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        state
            .db
            .call(&user.actor(), "select app.my_organization()", &[])
            .await?,
    ))
}
