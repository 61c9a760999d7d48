//! Extractors: a handler that takes one of these requires that kind of
//! caller, and the type decides the database role of its transaction.
//!
//! They check the JWT only; the database re-checks the claims in
//! `auth.begin_request` when the handler's transaction starts.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::jwt::{Claims, JwtKeys};
use crate::db::Actor;

pub const ORG_USER_REQUIRED: &str = "Organization user access required";

/// Why an extractor refused the caller; `error.rs` renders it as the 401 or
/// 403 problem+json.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// No usable bearer token (401).
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The wrong kind of caller for the route (403).
    #[error("{0}")]
    Forbidden(&'static str),
}
pub const PLATFORM_ADMIN_REQUIRED: &str = "Platform admin access required";

/// Any signed-in user, platform admin included.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub claims: Claims,
}

impl AuthUser {
    /// `vectra_anon` with the caller's settings: for functions about the
    /// caller alone (their profile, their sessions, their password).
    pub fn actor(&self) -> Actor {
        Actor::Authenticated(self.claims.session())
    }
}

impl<S> FromRequestParts<S> for AuthUser
where
    JwtKeys: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(Refused::Unauthorized("Missing bearer token"))?;
        let value = header
            .to_str()
            .map_err(|_| Refused::Unauthorized("Malformed Authorization header"))?;
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => return Err(Refused::Unauthorized("Expected a Bearer token")),
        };
        let claims = JwtKeys::from_ref(state).verify(token).map_err(|e| {
            tracing::debug!(error = %e, "access token refused");
            Refused::Unauthorized("Invalid or expired access token")
        })?;
        Ok(Self { claims })
    }
}

/// Organization roles, highest first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Manager,
    Admin,
    Owner,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "manager" => Some(Role::Manager),
            "member" => Some(Role::Member),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Member => "member",
        }
    }
}

/// A user of an organization (not the platform admin).
#[derive(Debug, Clone)]
pub struct OrgUser {
    pub claims: Claims,
    pub role: Role,
}

impl OrgUser {
    /// `vectra_member` with the organization's settings.
    pub fn actor(&self) -> Actor {
        Actor::Member(self.claims.session())
    }
}

impl<S> FromRequestParts<S> for OrgUser
where
    JwtKeys: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let AuthUser { claims } = AuthUser::from_request_parts(parts, state).await?;
        match (claims.org, Role::parse(&claims.role)) {
            (Some(_), Some(role)) => Ok(Self { claims, role }),
            _ => Err(Refused::Forbidden(ORG_USER_REQUIRED)),
        }
    }
}

/// The platform admin. Its email must be verified, which the database checks
/// when the transaction switches to `vectra_platform_admin`.
#[derive(Debug, Clone)]
pub struct PlatformAdmin {
    pub claims: Claims,
}

impl PlatformAdmin {
    pub fn actor(&self) -> Actor {
        Actor::PlatformAdmin(self.claims.session())
    }
}

impl<S> FromRequestParts<S> for PlatformAdmin
where
    JwtKeys: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let AuthUser { claims } = AuthUser::from_request_parts(parts, state).await?;
        if claims.role == "platform_admin" && claims.org.is_none() {
            Ok(Self { claims })
        } else {
            Err(Refused::Forbidden(PLATFORM_ADMIN_REQUIRED))
        }
    }
}
