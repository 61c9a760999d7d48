//! `/api/v1/auth`: registration, sessions, passwords, email verification,
//! invitations. Each handler parses its input, hashes or verifies passwords,
//! and calls the SQL functions of schema `auth` (sql/schema/functions/auth.*.sql).

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::AppState;
use super::json::ApiJson;
use crate::auth::AuthUser;
use crate::auth::rate_limit::Key;
use crate::auth::tokens::{OpenedSession, TokenResponse};
use crate::client_addr::ClientAddr;
use crate::db::{Actor, calls};
use crate::domain::{Email, Fields, FullName, OrganizationName, Password, checked};
use crate::error::{ApiError, FieldError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/register", post(register))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/refresh", post(refresh))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/change-password", post(change_password))
        .route("/api/v1/auth/verify-email", post(verify_email))
        .route(
            "/api/v1/auth/send-verification-email",
            post(send_verification_email),
        )
        .route(
            "/api/v1/auth/resend-verification-email",
            post(resend_verification_email),
        )
        .route("/api/v1/auth/forgot-password", post(forgot_password))
        .route("/api/v1/auth/reset-password", post(reset_password))
        .route("/api/v1/auth/accept-invitation", post(accept_invitation))
        .route("/api/v1/auth/me", get(me_moved))
}

/// The token pair for a session the database opened (the `jsonb` of
/// `auth.login`, `auth.refresh`, `auth.verify_email`, `auth.accept_invitation`).
fn tokens(state: &AppState, opened: Value) -> Result<Json<TokenResponse>, ApiError> {
    let opened: OpenedSession = serde_json::from_value(opened)
        .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("an opened session: {e}")))?;
    Ok(Json(state.jwt.tokens(opened)?))
}

fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(512).collect())
}

fn accepted(detail: &str) -> impl IntoResponse + use<> {
    (StatusCode::ACCEPTED, Json(json!({ "detail": detail })))
}

/// The routes that must not reveal whether an email has an account answer
/// no sooner than this after the request arrived, whichever path they took:
/// the work done for a known email (a token, an outbox row) then cannot be
/// timed. Longer than that work, and than a password hash, on a loaded machine.
pub const SILENT_ROUTE_FLOOR: Duration = Duration::from_millis(100);

async fn no_sooner_than(started: tokio::time::Instant) {
    tokio::time::sleep_until(started + SILENT_ROUTE_FLOOR).await;
}

#[derive(Deserialize)]
struct RegisterBody {
    email: String,
    password: String,
    full_name: String,
    #[serde(default)]
    organization_name: Option<String>,
}

/// `POST /api/v1/auth/register`: the same 202 whether the email is new or
/// not. A new email gets its organization (or, for `PLATFORM_ADMIN_EMAIL`,
/// the platform admin) and a verification link; an existing one is told by
/// email that someone tried to register with it.
async fn register(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<impl IntoResponse, ApiError> {
    let started = tokio::time::Instant::now();
    state
        .limits
        .check(
            &state.db,
            &[
                Key::Ip("register", client),
                Key::Email("register", &body.email),
            ],
        )
        .await?;
    let mut f = Fields::new();
    let email = f.check("email", Email::parse(&body.email));
    let password = f.check("password", Password::parse(&body.password, email.as_ref()));
    let full_name = f.check("full_name", FullName::parse(&body.full_name));
    // The database decides who is the platform admin (auth.settings); this
    // only spares that address a pointless 422.
    let is_platform_admin = email
        .as_ref()
        .is_some_and(|e| e.as_str() == state.config.instance.platform_admin_email);
    let organization_name = match (&body.organization_name, is_platform_admin) {
        (_, true) => None,
        (Some(name), false) => f.check("organization_name", OrganizationName::parse(name)),
        (None, false) => {
            f.reject("organization_name", "is required");
            None
        }
    };
    f.finish()?;
    let (email, password, full_name) = (checked(email)?, checked(password)?, checked(full_name)?);
    let hash = state.passwords.hash(password.expose().to_owned()).await?;
    calls::register(
        &state.db,
        &Actor::Anonymous,
        email.as_str(),
        &hash,
        full_name.as_str(),
        organization_name.as_ref().map(|n| n.as_str()),
    )
    .await?;
    no_sooner_than(started).await;
    Ok(accepted(REGISTERED))
}

const REGISTERED: &str = "Check your email: the link in it confirms your address and signs you in";

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
}

const BAD_CREDENTIALS: &str = "Invalid email or password";

/// `POST /api/v1/auth/login`: tokens for a valid email and password.
async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<impl IntoResponse, ApiError> {
    // Every attempt counts against the address; only failures count against
    // the email, so a stranger's bad guesses delay the real user briefly
    // rather than lock them out.
    state
        .limits
        .check_login(&state.db, client, &body.email)
        .await?;
    // A malformed email cannot match an account: the same 401, the same work.
    let email = Email::parse(&body.email).ok();
    let found = match &email {
        Some(email) => calls::login_lookup(&state.db, &Actor::Anonymous, email.as_str())
            .await?
            .0
            .first()
            .map(|r| (r.get::<_, Uuid>(0), r.get::<_, String>(1))),
        None => None,
    };
    let (user_id, hash) = match found {
        Some((id, hash)) => (Some(id), Some(hash)),
        None => (None, None),
    };
    let valid = state.passwords.verify(body.password, hash.clone()).await?;
    let (Some(user_id), Some(hash), true) = (user_id, hash, valid) else {
        state.limits.login_failed(&state.db, &body.email).await?;
        return Err(ApiError::unauthorized(BAD_CREDENTIALS));
    };
    state.limits.login_succeeded(&state.db, &body.email).await?;
    let opened = calls::login(
        &state.db,
        &Actor::Anonymous,
        user_id,
        &hash,
        user_agent(&headers).as_deref(),
        client,
    )
    .await?;
    tokens(&state, opened)
}

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: String,
}

/// `POST /api/v1/auth/refresh`: rotates the refresh token. The token that
/// just rotated, presented again within `REFRESH_GRACE_PERIOD` (a second
/// tab, a retried request), yields the same successor; any other
/// already-rotated token revokes the whole session.
async fn refresh(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<impl IntoResponse, ApiError> {
    if body.refresh_token.is_empty() || body.refresh_token.len() > 256 {
        return Err(ApiError::unauthorized("Invalid refresh token"));
    }
    let result = calls::refresh(
        &state.db,
        &Actor::Anonymous,
        &body.refresh_token,
        user_agent(&headers).as_deref(),
        client,
    )
    .await?;
    if result.get("error").is_some() {
        tracing::warn!("refresh token reuse: session revoked");
        return Err(ApiError::unauthorized(
            "Refresh token already used; the session has been revoked",
        ));
    }
    tokens(&state, result)
}

/// `POST /api/v1/auth/logout`: revokes the caller's session; its access
/// tokens stop working on their next request.
async fn logout(State(state): State<AppState>, user: AuthUser) -> Result<StatusCode, ApiError> {
    calls::logout(&state.db, &user.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct ChangePasswordBody {
    current_password: String,
    new_password: String,
}

/// `POST /api/v1/auth/change-password`: revokes every other session.
async fn change_password(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<ChangePasswordBody>,
) -> Result<impl IntoResponse, ApiError> {
    // Each attempt costs a password verification and maybe a hash.
    state
        .limits
        .check(&state.db, &[Key::User("change-password", user.claims.sub)])
        .await?;
    let actor = user.actor();
    let rows = calls::current_credentials(&state.db, &actor).await?.0;
    let Some(row) = rows.first() else {
        return Err(ApiError::unauthorized("Account not found"));
    };
    let (email, current_hash): (String, String) = (row.get(0), row.get(1));
    let email = stored_email(&email)?;
    let mut f = Fields::new();
    let new_password = f.check(
        "new_password",
        Password::parse(&body.new_password, Some(&email)),
    );
    f.finish()?;
    let new_password = checked(new_password)?;
    if !state
        .passwords
        .verify(body.current_password, Some(current_hash.clone()))
        .await?
    {
        return Err(ApiError::validation(vec![FieldError::new(
            "current_password",
            "is incorrect",
        )]));
    }
    let new_hash = state
        .passwords
        .hash(new_password.expose().to_owned())
        .await?;
    let revoked = calls::change_password(&state.db, &actor, &current_hash, &new_hash).await?;
    Ok(Json(json!({
        "detail": "Password changed; other sessions have been signed out",
        "sessions_revoked": revoked,
    })))
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
}

/// Tokens are 43 base64url characters; anything far off cannot be one.
fn plausible_token(token: &str) -> bool {
    !token.is_empty() && token.len() <= 256
}

/// `POST /api/v1/auth/verify-email`: marks the email verified and signs the
/// user in (a token pair): following the emailed link is the sign-up's last
/// step. An account that may not sign in (suspended …) is still verified,
/// and told why with a 403.
async fn verify_email(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<impl IntoResponse, ApiError> {
    if !plausible_token(&body.token) {
        return Err(ApiError::bad_request("Invalid or expired token"));
    }
    let result = calls::verify_email(
        &state.db,
        &Actor::Anonymous,
        &body.token,
        user_agent(&headers).as_deref(),
        client,
    )
    .await?;
    if let Some(reason) = result.get("error").and_then(Value::as_str) {
        return Err(ApiError::forbidden(format!("Email verified. {reason}")));
    }
    tokens(&state, result)
}

const VERIFICATION_QUEUED: &str =
    "If the account exists and is not verified yet, a verification email is on its way";

/// `POST /api/v1/auth/send-verification-email`: a fresh link for the caller.
async fn send_verification_email(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<impl IntoResponse, ApiError> {
    // Each call sends an email: limited like the public routes, per user.
    state
        .limits
        .check(
            &state.db,
            &[Key::User("send-verification", user.claims.sub)],
        )
        .await?;
    calls::send_verification_email(&state.db, &user.actor()).await?;
    Ok(accepted("A verification email is on its way"))
}

#[derive(Deserialize)]
struct EmailBody {
    email: String,
}

/// The shape of the routes that take an email and must not reveal whether it
/// has an account: rate limited, the same 202 whatever the email, answered
/// no sooner than [`SILENT_ROUTE_FLOOR`], and the SQL function (which does
/// nothing for unknown emails) only for a valid one.
struct Silent {
    started: tokio::time::Instant,
    email: Email,
}

impl Silent {
    async fn start(
        state: &AppState,
        client: std::net::IpAddr,
        email: &str,
        route: &'static str,
    ) -> Result<Self, ApiError> {
        let started = tokio::time::Instant::now();
        state
            .limits
            .check(
                &state.db,
                &[Key::Ip(route, client), Key::Email(route, email)],
            )
            .await?;
        // A malformed address is the caller's mistake, said at once: its
        // syntax reveals nothing about which accounts exist.
        let email = Email::parse(email)
            .map_err(|message| ApiError::validation(vec![FieldError::new("email", message)]))?;
        Ok(Self { started, email })
    }

    async fn answer(self, detail: &str) -> impl IntoResponse + use<> {
        no_sooner_than(self.started).await;
        accepted(detail)
    }
}

/// `POST /api/v1/auth/resend-verification-email`: always 202, so it does not
/// reveal which emails have accounts.
async fn resend_verification_email(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<EmailBody>,
) -> Result<impl IntoResponse, ApiError> {
    let silent = Silent::start(&state, client, &body.email, "resend-verification").await?;
    calls::resend_verification_email(&state.db, &Actor::Anonymous, silent.email.as_str()).await?;
    Ok(silent.answer(VERIFICATION_QUEUED).await)
}

const RESET_QUEUED: &str = "If an account exists for this email, a reset link is on its way";

/// `POST /api/v1/auth/forgot-password`: always 202 with the same body.
async fn forgot_password(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<EmailBody>,
) -> Result<impl IntoResponse, ApiError> {
    let silent = Silent::start(&state, client, &body.email, "forgot-password").await?;
    calls::request_password_reset(&state.db, &Actor::Anonymous, silent.email.as_str()).await?;
    Ok(silent.answer(RESET_QUEUED).await)
}

#[derive(Deserialize)]
struct ResetBody {
    token: String,
    new_password: String,
}

const BAD_RESET_TOKEN: &str = "Invalid or expired token";
const BAD_INVITATION: &str = "Invalid or expired invitation";

/// A one-time token (reset, invitation) that could be one; `bad` otherwise
/// (the SQL functions raise the same message for unknown, used, expired).
fn plausible(token: &str, bad: &str) -> Result<(), ApiError> {
    if plausible_token(token) {
        Ok(())
    } else {
        Err(ApiError::bad_request(bad))
    }
}

/// An email read back from the database: valid by construction.
fn stored_email(email: &str) -> Result<Email, ApiError> {
    Email::parse(email)
        .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("stored email invalid: {e}")))
}

/// `POST /api/v1/auth/reset-password`: single-use token; signs out everywhere.
/// The new password is checked against the email the token is bound to.
async fn reset_password(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetBody>,
) -> Result<impl IntoResponse, ApiError> {
    plausible(&body.token, BAD_RESET_TOKEN)?;
    let email = calls::reset_password_email(&state.db, &Actor::Anonymous, &body.token).await?;
    let email = stored_email(&email)?;
    let mut f = Fields::new();
    let password = f.check(
        "new_password",
        Password::parse(&body.new_password, Some(&email)),
    );
    f.finish()?;
    let hash = state
        .passwords
        .hash(checked(password)?.expose().to_owned())
        .await?;
    calls::reset_password(&state.db, &Actor::Anonymous, &body.token, &hash).await?;
    Ok(Json(json!({
        "detail": "Password reset; every session has been signed out"
    })))
}

#[derive(Deserialize)]
struct AcceptInvitationBody {
    token: String,
    password: String,
    full_name: String,
}

/// `POST /api/v1/auth/accept-invitation`: creates the invited account (email
/// verified, invited role) and signs it in.
async fn accept_invitation(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AcceptInvitationBody>,
) -> Result<impl IntoResponse, ApiError> {
    plausible(&body.token, BAD_INVITATION)?;
    let email = calls::invitation_email(&state.db, &Actor::Anonymous, &body.token).await?;
    let email = stored_email(&email)?;
    let mut f = Fields::new();
    let password = f.check("password", Password::parse(&body.password, Some(&email)));
    let full_name = f.check("full_name", FullName::parse(&body.full_name));
    f.finish()?;
    let hash = state
        .passwords
        .hash(checked(password)?.expose().to_owned())
        .await?;
    let opened = calls::accept_invitation(
        &state.db,
        &Actor::Anonymous,
        &body.token,
        &hash,
        checked(full_name)?.as_str(),
        user_agent(&headers).as_deref(),
        client,
    )
    .await?;
    Ok((StatusCode::CREATED, tokens(&state, opened)?))
}

/// `GET /api/v1/auth/me`: moved to `/api/v1/user/me` (308 keeps the method).
async fn me_moved() -> Redirect {
    Redirect::permanent("/api/v1/user/me")
}
