//! `/api/v1/user`: the signed-in user, their organization and its team.
//!
//! Each handler is one SQL function of schema `app`, run as
//! `vectra_member`: the policies confine it to the caller's organization and
//! the function decides who may do what (`auth.authorize`), so no role
//! check is written here as well.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use super::json::{ApiJson, PathId};
use super::list::ListQuery;
use crate::auth::{AuthUser, OrgUser};
use crate::db::{JsonText, calls};
use crate::domain::{Email, Fields, checked};
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/user/me", get(me))
        .route(
            "/api/v1/user/organizations/me",
            get(my_organization).patch(update_organization),
        )
        .route("/api/v1/user/organizations/me/users", get(list_users))
        .route("/api/v1/user/organizations/me/users/invite", post(invite))
        .route(
            "/api/v1/user/organizations/me/users/{user_id}/role",
            patch(change_role),
        )
        .route(
            "/api/v1/user/organizations/me/users/{user_id}",
            delete(remove_user),
        )
        .route(
            "/api/v1/user/organizations/me/invitations",
            get(list_invitations),
        )
        .route(
            "/api/v1/user/organizations/me/invitations/{invitation_id}",
            delete(revoke_invitation),
        )
        .route(
            "/api/v1/user/organizations/me/invitations/{invitation_id}/resend",
            post(resend_invitation),
        )
        .route("/api/v1/user/organizations/me/audit-log", get(audit_log))
        .route("/api/v1/user/sessions", get(list_sessions))
        .route(
            "/api/v1/user/sessions/revoke-others",
            post(end_other_sessions),
        )
        .route("/api/v1/user/sessions/{session_id}", delete(end_session))
}

/// `GET /api/v1/user/me`: the caller's profile and organization (null for
/// the platform admin).
async fn me(State(state): State<AppState>, user: AuthUser) -> Result<JsonText, ApiError> {
    Ok(calls::me(&state.db, &user.actor()).await?)
}

/// `GET /api/v1/user/organizations/me`: the caller's organization.
async fn my_organization(
    State(state): State<AppState>,
    user: OrgUser,
) -> Result<JsonText, ApiError> {
    Ok(calls::my_organization(&state.db, &user.actor()).await?)
}

/// `PATCH /api/v1/user/organizations/me` (owner, admin): `name` and
/// `settings`; `plan` and `status` belong to the platform admin (422).
async fn update_organization(
    State(state): State<AppState>,
    user: OrgUser,
    ApiJson(changes): ApiJson<serde_json::Map<String, Value>>,
) -> Result<JsonText, ApiError> {
    let changes = Value::Object(changes);
    Ok(calls::update_organization(&state.db, &user.actor(), &changes).await?)
}

/// `GET /api/v1/user/organizations/me/users` (owner, admin, manager):
/// `page`, `per_page`, `role`, `status`, `search` or `q` (name or email).
async fn list_users(
    State(state): State<AppState>,
    user: OrgUser,
    mut query: ListQuery,
) -> Result<JsonText, ApiError> {
    let search = query.search();
    let cursor = query.cursor();
    query.finish()?;
    Ok(calls::list_users(
        &state.db,
        &user.actor(),
        query.page.page,
        query.page.per_page,
        query.filter("role"),
        query.filter("status"),
        search.as_deref(),
        cursor.as_deref(),
    )
    .await?)
}

/// The body of both invitation routes (the team's and the console's).
#[derive(Deserialize)]
pub(super) struct InviteBody {
    email: String,
    pub role: String,
}

impl InviteBody {
    /// The invitee's address, normalized, or the 422 naming `email`.
    pub fn email(&self) -> Result<Email, ApiError> {
        let mut f = Fields::new();
        let email = f.check("email", Email::parse(&self.email));
        f.finish()?;
        Ok(checked(email)?)
    }
}

/// `POST /api/v1/user/organizations/me/users/invite` (owner, admin): emails
/// an invitation link; answers 201 with the invitation (never its token).
async fn invite(
    State(state): State<AppState>,
    user: OrgUser,
    ApiJson(body): ApiJson<InviteBody>,
) -> Result<impl IntoResponse, ApiError> {
    let email = body.email()?;
    let invitation =
        calls::invite_user(&state.db, &user.actor(), email.as_str(), &body.role).await?;
    Ok((StatusCode::CREATED, invitation))
}

#[derive(Deserialize)]
struct RoleBody {
    role: String,
}

/// `PATCH /api/v1/user/organizations/me/users/{user_id}/role` (owner, admin).
async fn change_role(
    State(state): State<AppState>,
    user: OrgUser,
    PathId(user_id): PathId,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<JsonText, ApiError> {
    Ok(calls::change_user_role(&state.db, &user.actor(), user_id, &body.role).await?)
}

/// `DELETE /api/v1/user/organizations/me/users/{user_id}` (owner, admin): a
/// soft delete that ends the user's sessions.
async fn remove_user(
    State(state): State<AppState>,
    user: OrgUser,
    PathId(user_id): PathId,
) -> Result<StatusCode, ApiError> {
    calls::remove_user(&state.db, &user.actor(), user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/user/organizations/me/invitations` (owner, admin): pending
/// invitations, newest first.
async fn list_invitations(
    State(state): State<AppState>,
    user: OrgUser,
    mut query: ListQuery,
) -> Result<JsonText, ApiError> {
    let cursor = query.cursor();
    query.finish()?;
    Ok(calls::list_invitations(
        &state.db,
        &user.actor(),
        query.page.page,
        query.page.per_page,
        cursor.as_deref(),
    )
    .await?)
}

/// `DELETE /api/v1/user/organizations/me/invitations/{id}` (owner, admin).
async fn revoke_invitation(
    State(state): State<AppState>,
    user: OrgUser,
    PathId(invitation_id): PathId,
) -> Result<StatusCode, ApiError> {
    calls::revoke_invitation(&state.db, &user.actor(), invitation_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/user/organizations/me/invitations/{id}/resend` (owner,
/// admin): a new link and expiry; the old link stops working.
async fn resend_invitation(
    State(state): State<AppState>,
    user: OrgUser,
    PathId(invitation_id): PathId,
) -> Result<JsonText, ApiError> {
    Ok(calls::resend_invitation(&state.db, &user.actor(), invitation_id).await?)
}

/// `GET /api/v1/user/organizations/me/audit-log` (owner, admin): newest
/// first; `action` filters, `page` and `per_page` paginate.
async fn audit_log(
    State(state): State<AppState>,
    user: OrgUser,
    mut query: ListQuery,
) -> Result<JsonText, ApiError> {
    let cursor = query.cursor();
    query.finish()?;
    Ok(calls::list_audit_log(
        &state.db,
        &user.actor(),
        query.page.page,
        query.page.per_page,
        query.filter("action"),
        cursor.as_deref(),
    )
    .await?)
}

/// `GET /api/v1/user/sessions`: the caller's live sessions (one per sign-in:
/// created, last used, user agent, IP, which one is this request's), most
/// recently used first.
async fn list_sessions(
    State(state): State<AppState>,
    user: AuthUser,
    mut query: ListQuery,
) -> Result<JsonText, ApiError> {
    let cursor = query.cursor();
    query.finish()?;
    Ok(calls::my_sessions(
        &state.db,
        &user.actor(),
        query.page.page,
        query.page.per_page,
        cursor.as_deref(),
    )
    .await?)
}

/// `DELETE /api/v1/user/sessions/{session_id}`: ends one of the caller's
/// sessions (its access tokens stop working on their next request; ending
/// the current one is a logout). Another user's session is a 404.
async fn end_session(
    State(state): State<AppState>,
    user: AuthUser,
    PathId(session_id): PathId,
) -> Result<StatusCode, ApiError> {
    calls::end_session(&state.db, &user.actor(), session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/user/sessions/revoke-others`: ends every session of the
/// caller except the current one.
async fn end_other_sessions(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Value>, ApiError> {
    let revoked = calls::end_other_sessions(&state.db, &user.actor()).await?;
    Ok(Json(serde_json::json!({ "sessions_revoked": revoked })))
}
