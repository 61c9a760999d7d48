//! HTTP routes, one module per route group; each exposes `router()`.

pub mod admin;
pub mod auth;
pub mod dev;
pub mod health;
pub mod json;
pub mod list;
pub mod notifications;
pub mod openapi;
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

/// The contract: `GET /api/v1/openapi.json`, and Swagger UI at `/docs` when
/// `DOCS_ENABLED` (the default).
pub fn docs(state: &AppState) -> Router<AppState> {
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
