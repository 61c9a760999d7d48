//! `/api/v1/user`: the signed-in user, their organization and its team.
//!
//! Each handler is one SQL function of schema `app` (V6), run as
//! `vectra_member`: the policies confine it to the caller's organization and
//! the function enforces who may do what. The role checks here only answer
//! early; the SQL functions check the same rules again.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::json::ApiJson;
use super::list::ListQuery;
use crate::app::AppState;
use crate::auth::{AuthUser, OrgUser, Role};
use crate::domain::{Email, Fields, checked};
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route(
            "/organizations/me",
            get(my_organization).patch(update_organization),
        )
        .route("/organizations/me/users", get(list_users))
        .route("/organizations/me/users/invite", post(invite))
        .route("/organizations/me/users/{user_id}/role", patch(change_role))
        .route("/organizations/me/users/{user_id}", delete(remove_user))
        .route("/organizations/me/invitations", get(list_invitations))
        .route(
            "/organizations/me/invitations/{invitation_id}",
            delete(revoke_invitation),
        )
        .route(
            "/organizations/me/invitations/{invitation_id}/resend",
            post(resend_invitation),
        )
        .route("/organizations/me/audit-log", get(audit_log))
        .route("/sessions", get(list_sessions))
        .route("/sessions/revoke-others", post(end_other_sessions))
        .route("/sessions/{session_id}", delete(end_session))
}

const OWNER_ADMIN: &[Role] = &[Role::Owner, Role::Admin];

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

/// `PATCH /api/v1/user/organizations/me` (owner, admin): `name` and
/// `settings`; `plan` and `status` belong to the platform admin (422).
async fn update_organization(
    State(state): State<AppState>,
    user: OrgUser,
    ApiJson(changes): ApiJson<serde_json::Map<String, Value>>,
) -> Result<Json<Value>, ApiError> {
    user.require_any(OWNER_ADMIN)?;
    let changes = Value::Object(changes);
    Ok(Json(
        state
            .db
            .call(
                &user.actor(),
                "select app.update_organization($1)",
                &[&changes],
            )
            .await?,
    ))
}

/// `GET /api/v1/user/organizations/me/users` (owner, admin, manager):
/// `page`, `per_page`, `role`, `status`, `search` or `q` (name or email).
async fn list_users(
    State(state): State<AppState>,
    user: OrgUser,
    mut query: ListQuery,
) -> Result<Json<Value>, ApiError> {
    user.require_any(&[Role::Owner, Role::Admin, Role::Manager])?;
    let search = query.search();
    query.finish()?;
    Ok(Json(
        state
            .db
            .call(
                &user.actor(),
                "select app.list_users($1, $2, $3, $4, $5)",
                &[
                    &query.page.page,
                    &query.page.per_page,
                    &query.filter("role"),
                    &query.filter("status"),
                    &search,
                ],
            )
            .await?,
    ))
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
        checked(email)
    }
}

/// `POST /api/v1/user/organizations/me/users/invite` (owner, admin): emails
/// an invitation link; answers 201 with the invitation (never its token).
async fn invite(
    State(state): State<AppState>,
    user: OrgUser,
    ApiJson(body): ApiJson<InviteBody>,
) -> Result<impl IntoResponse, ApiError> {
    user.require_any(OWNER_ADMIN)?;
    let email = body.email()?;
    let invitation: Value = state
        .db
        .call(
            &user.actor(),
            "select app.invite_user($1, $2)",
            &[&email.as_str(), &body.role],
        )
        .await?;
    Ok((StatusCode::CREATED, Json(invitation)))
}

#[derive(Deserialize)]
struct RoleBody {
    role: String,
}

/// `PATCH /api/v1/user/organizations/me/users/{user_id}/role` (owner, admin).
async fn change_role(
    State(state): State<AppState>,
    user: OrgUser,
    Path(user_id): Path<Uuid>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<Json<Value>, ApiError> {
    user.require_any(OWNER_ADMIN)?;
    Ok(Json(
        state
            .db
            .call(
                &user.actor(),
                "select app.change_user_role($1, $2)",
                &[&user_id, &body.role],
            )
            .await?,
    ))
}

/// `DELETE /api/v1/user/organizations/me/users/{user_id}` (owner, admin): a
/// soft delete that ends the user's sessions.
async fn remove_user(
    State(state): State<AppState>,
    user: OrgUser,
    Path(user_id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    user.require_any(OWNER_ADMIN)?;
    state
        .db
        .query(&user.actor(), "select app.remove_user($1)", &[&user_id])
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/user/organizations/me/invitations` (owner, admin): pending
/// invitations, newest first.
async fn list_invitations(
    State(state): State<AppState>,
    user: OrgUser,
    query: ListQuery,
) -> Result<Json<Value>, ApiError> {
    user.require_any(OWNER_ADMIN)?;
    query
        .call(
            &state,
            &user.actor(),
            "select app.list_invitations($1, $2)",
            &[],
        )
        .await
}

/// `DELETE /api/v1/user/organizations/me/invitations/{id}` (owner, admin).
async fn revoke_invitation(
    State(state): State<AppState>,
    user: OrgUser,
    Path(invitation_id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    user.require_any(OWNER_ADMIN)?;
    state
        .db
        .query(
            &user.actor(),
            "select app.revoke_invitation($1)",
            &[&invitation_id],
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/user/organizations/me/invitations/{id}/resend` (owner,
/// admin): a new link and expiry; the old link stops working.
async fn resend_invitation(
    State(state): State<AppState>,
    user: OrgUser,
    Path(invitation_id): Path<Uuid>,
) -> Result<Json<Value>, ApiError> {
    user.require_any(OWNER_ADMIN)?;
    Ok(Json(
        state
            .db
            .call(
                &user.actor(),
                "select app.resend_invitation($1)",
                &[&invitation_id],
            )
            .await?,
    ))
}

/// `GET /api/v1/user/organizations/me/audit-log` (owner, admin): newest
/// first; `action` filters, `page` and `per_page` paginate.
async fn audit_log(
    State(state): State<AppState>,
    user: OrgUser,
    query: ListQuery,
) -> Result<Json<Value>, ApiError> {
    user.require_any(OWNER_ADMIN)?;
    query
        .call(
            &state,
            &user.actor(),
            "select app.list_audit_log($1, $2, $3)",
            &["action"],
        )
        .await
}

/// `GET /api/v1/user/sessions`: the caller's live sessions (one per sign-in:
/// created, last used, user agent, IP, which one is this request's), most
/// recently used first.
async fn list_sessions(
    State(state): State<AppState>,
    user: AuthUser,
    query: ListQuery,
) -> Result<Json<Value>, ApiError> {
    query
        .call(
            &state,
            &user.actor(),
            "select auth.my_sessions($1, $2)",
            &[],
        )
        .await
}

/// `DELETE /api/v1/user/sessions/{session_id}`: ends one of the caller's
/// sessions (its access tokens stop working on their next request; ending
/// the current one is a logout). Another user's session is a 404.
async fn end_session(
    State(state): State<AppState>,
    user: AuthUser,
    Path(session_id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    state
        .db
        .query(&user.actor(), "select auth.end_session($1)", &[&session_id])
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/user/sessions/revoke-others`: ends every session of the
/// caller except the current one.
async fn end_other_sessions(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Value>, ApiError> {
    let revoked: i32 = state
        .db
        .call(&user.actor(), "select auth.end_other_sessions()", &[])
        .await?;
    Ok(Json(serde_json::json!({ "sessions_revoked": revoked })))
}
