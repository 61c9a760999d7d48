//! HTTP routes, one module per route group; each exposes `router()`.

pub mod admin;
pub mod auth;
pub mod dev;
pub mod health;
pub mod json;
pub mod list;
pub mod notifications;
pub mod prometheus;
pub mod prospecting;
pub mod user;

use axum::Router;

use crate::app::AppState;

/// Everything under `/api/v1`.
pub fn api(state: AppState) -> Router<AppState> {
    Router::new()
        .nest("/auth", auth::router())
        .nest(
            "/user",
            user::router()
                .merge(prospecting::router())
                .merge(notifications::user_router()),
        )
        .merge(notifications::unsubscribe_router())
        .merge(admin::router(state))
}
