//! `/api/v1/admin`: the platform console. Every path below it, known or not,
//! first requires the platform admin (403 `Platform admin access required`
//! for anyone else), so the console's shape is not probeable.
//!
//! Each handler checks its input and calls one `app.admin_*` function as
//! `vectra_platform_admin`: reads are SECURITY INVOKER under the
//! platform-admin select policies; writes are SECURITY DEFINER functions that
//! confirm a live session of a verified platform admin and write the audit
//! log. The database decides; nothing here repeats its rules.

use axum::extract::{OriginalUri, State};
use axum::http::{Method, StatusCode};
use axum::middleware::from_extractor_with_state;
use axum::response::IntoResponse;
use axum::routing::{any, get, patch, post};
use axum::{Json, Router};
use serde_json::{Map, Value};

use super::AppState;
use super::json::{ApiJson, PathId, QueryParams, unknown_field};
use super::list::ListQuery;
use super::user::InviteBody;
use crate::auth::PlatformAdmin;
use crate::db::{JsonText, calls};
use crate::domain::{Email, display_name};
use crate::error::{ApiError, FieldError, Problem};

pub fn router(state: AppState) -> Router<AppState> {
    // Catch-all routes rather than a fallback (a merged router's fallback
    // would be the whole service's), with and without the trailing slash,
    // so that no path under /api/v1/admin escapes the gate.
    Router::new()
        .route("/api/v1/admin/overview", get(overview))
        .route(
            "/api/v1/admin/organizations",
            get(list_organizations).post(create_organization),
        )
        .route(
            "/api/v1/admin/organizations/{org_id}",
            get(get_organization)
                .patch(update_organization)
                .delete(delete_organization),
        )
        .route(
            "/api/v1/admin/organizations/{org_id}/users/invite",
            post(invite),
        )
        .route("/api/v1/admin/users", get(list_users))
        .route("/api/v1/admin/users/{user_id}", patch(update_user))
        .route("/api/v1/admin/system/metrics", get(system_metrics))
        .merge(super::notifications::admin_router())
        .route("/api/v1/admin", any(unknown))
        .route("/api/v1/admin/", any(unknown))
        .route("/api/v1/admin/{*rest}", any(unknown))
        .layer(from_extractor_with_state::<PlatformAdmin, AppState>(state))
}

pub use crate::domain::enums::PLANS;
/// Largest `settings` object accepted, serialized.
pub const MAX_SETTINGS_BYTES: usize = 16 * 1024;

/// `GET /admin/overview`: every count of the platform, in one statement.
async fn overview(
    State(state): State<AppState>,
    admin: PlatformAdmin,
) -> Result<JsonText, ApiError> {
    Ok(calls::admin_overview(&state.db, &admin.actor()).await?)
}

/// `GET /admin/organizations`: `plan`, `status`, `q` (name or slug),
/// `page`, `per_page`, `sort` (created_at, name, plan, users_count) and
/// `order`; newest first by default.
async fn list_organizations(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    mut query: ListQuery,
) -> Result<JsonText, ApiError> {
    let search = query.search();
    let cursor = query.cursor();
    query.finish()?;
    Ok(calls::admin_list_organizations(
        &state.db,
        &admin.actor(),
        query.page.page,
        query.page.per_page,
        query.filter("plan"),
        query.filter("status"),
        search.as_deref(),
        query.sort("created_at"),
        query.desc(true),
        cursor.as_deref(),
    )
    .await?)
}

/// `GET /admin/organizations/{org_id}`: the organization, its owners, its
/// counts and its pending invitations.
async fn get_organization(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    PathId(org_id): PathId,
) -> Result<JsonText, ApiError> {
    Ok(calls::admin_get_organization(&state.db, &admin.actor(), org_id).await?)
}

/// `POST /admin/organizations` `{name, plan?, settings?, owner_email?}`:
/// 201 with the organization (and `owner_invitation` when an owner was
/// invited).
async fn create_organization(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<impl IntoResponse, ApiError> {
    let mut errors = Vec::new();
    let mut clean = Map::new();
    const FIELDS: &[&str] = &["name", "plan", "settings", "owner_email"];
    for key in body.keys() {
        if !FIELDS.contains(&key.as_str()) {
            errors.push(FieldError::new(key, unknown_field(FIELDS)));
        }
    }
    match body.get("name") {
        Some(Value::String(raw)) => match display_name(raw) {
            Ok(name) => {
                clean.insert("name".into(), Value::String(name));
            }
            Err(m) => errors.push(FieldError::new("name", m)),
        },
        Some(_) => errors.push(FieldError::new("name", "must be a string")),
        None => errors.push(FieldError::new("name", "is required")),
    }
    check_plan_and_settings(&body, &mut clean, &mut errors);
    match body.get("owner_email") {
        None | Some(Value::Null) => {}
        Some(Value::String(raw)) => match Email::parse(raw) {
            Ok(email) => {
                clean.insert("owner_email".into(), Value::String(email.to_string()));
            }
            Err(m) => errors.push(FieldError::new("owner_email", m)),
        },
        Some(_) => errors.push(FieldError::new("owner_email", "must be a string")),
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let body = Value::Object(clean);
    let created = calls::admin_create_organization(&state.db, &admin.actor(), &body).await?;
    Ok((StatusCode::CREATED, created))
}

/// `plan` one of [`PLANS`]; `settings` an object of at most
/// [`MAX_SETTINGS_BYTES`]. Copies the good ones into `clean`.
fn check_plan_and_settings(
    body: &Map<String, Value>,
    clean: &mut Map<String, Value>,
    errors: &mut Vec<FieldError>,
) {
    match body.get("plan") {
        None => {}
        Some(Value::String(p)) if PLANS.contains(&p.as_str()) => {
            clean.insert("plan".into(), Value::String(p.clone()));
        }
        Some(_) => errors.push(FieldError::new("plan", crate::domain::enums::one_of(PLANS))),
    }
    match body.get("settings") {
        None => {}
        Some(v @ Value::Object(_)) if v.to_string().len() <= MAX_SETTINGS_BYTES => {
            clean.insert("settings".into(), v.clone());
        }
        Some(_) => errors.push(FieldError::new(
            "settings",
            "must be a JSON object of at most 16 KiB",
        )),
    }
}

/// `PATCH /admin/organizations/{org_id}` `{name?, plan?, settings?,
/// status?}` with status `active` or `suspended`. The SQL function names
/// every bad field at once.
async fn update_organization(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    PathId(org_id): PathId,
    ApiJson(changes): ApiJson<Map<String, Value>>,
) -> Result<JsonText, ApiError> {
    let changes = Value::Object(changes);
    Ok(calls::admin_update_organization(&state.db, &admin.actor(), org_id, &changes).await?)
}

/// `DELETE /admin/organizations/{org_id}`: soft (status `deleted`,
/// restorable); `?hard=true` erases it and every row of it.
async fn delete_organization(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    PathId(org_id): PathId,
    params: QueryParams,
) -> Result<JsonText, ApiError> {
    let hard = match params.get("hard") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::validation(vec![FieldError::new(
                "hard",
                "must be true or false",
            )]));
        }
    };
    Ok(calls::admin_delete_organization(&state.db, &admin.actor(), org_id, hard).await?)
}

/// `POST /admin/organizations/{org_id}/users/invite` `{email, role}`: any
/// role, owner included, into an active organization. 201.
async fn invite(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    PathId(org_id): PathId,
    ApiJson(body): ApiJson<InviteBody>,
) -> Result<impl IntoResponse, ApiError> {
    let email = body.email()?;
    let invitation = calls::admin_invite(
        &state.db,
        &admin.actor(),
        org_id,
        email.as_str(),
        &body.role,
    )
    .await?;
    Ok((StatusCode::CREATED, invitation))
}

/// `GET /admin/users`: every user, platform admins included and marked;
/// `organization_id`, `role`, `status`, `q` (name or email), `page`,
/// `per_page`, `sort` (created_at, name, email, last_login_at), `order`.
async fn list_users(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    mut query: ListQuery,
) -> Result<JsonText, ApiError> {
    let search = query.search();
    let organization_id = query.uuid("organization_id");
    let cursor = query.cursor();
    query.finish()?;
    Ok(calls::admin_list_users(
        &state.db,
        &admin.actor(),
        query.page.page,
        query.page.per_page,
        organization_id,
        query.filter("role"),
        query.filter("status"),
        search.as_deref(),
        query.sort("created_at"),
        query.desc(true),
        cursor.as_deref(),
    )
    .await?)
}

/// `PATCH /admin/users/{user_id}` `{status}`: `suspended` (its sessions end)
/// or `active`.
async fn update_user(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    PathId(user_id): PathId,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<JsonText, ApiError> {
    let body = Value::Object(body);
    Ok(calls::admin_update_user(&state.db, &admin.actor(), user_id, &body).await?)
}

/// `GET /admin/system/metrics`: the process's request counts and latency,
/// the pool, and the database's figures read in the admin's request.
async fn system_metrics(
    State(state): State<AppState>,
    admin: PlatformAdmin,
) -> Result<Json<Value>, ApiError> {
    let stats = calls::service_stats(&state.db, &admin.actor()).await?;
    Ok(super::prometheus::system_metrics(&state, stats))
}

/// An unknown admin path: 404 for a platform admin whose session and
/// verified email the database confirms, their refusal otherwise.
async fn unknown(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    method: Method,
    OriginalUri(uri): OriginalUri,
) -> Result<Problem, ApiError> {
    calls::confirm_session(&state.db, &admin.actor()).await?;
    Ok(Problem::new(
        StatusCode::NOT_FOUND,
        format!("No route for {method} {}", uri.path()),
    ))
}
