//! Issuing a token pair: the access token (a JWT of the session's claims)
//! beside the refresh token the database made, for every route that opens
//! or rotates a session (login, refresh, email verification, invitations).

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::JwtKeys;
use crate::db::SessionClaims;

/// What every token-issuing route answers.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub user: Value,
}

/// What the session-opening SQL functions return.
#[derive(Debug, Deserialize)]
pub struct OpenedSession {
    pub session_id: Uuid,
    pub refresh_token: String,
    pub user: Value,
}

/// The parts of a profile that go into the access token.
#[derive(Deserialize)]
struct ProfileClaims {
    id: Uuid,
    role: String,
    organization: Option<OrganizationRef>,
}

#[derive(Deserialize)]
struct OrganizationRef {
    id: Uuid,
}

impl JwtKeys {
    /// The token pair for a session the database just opened or rotated.
    pub fn tokens(&self, opened: OpenedSession) -> anyhow::Result<TokenResponse> {
        let profile: ProfileClaims =
            serde_json::from_value(opened.user.clone()).context("profile without claims")?;
        let access_token = self.issue(&SessionClaims {
            session_id: opened.session_id,
            user_id: profile.id,
            org_id: profile.organization.map(|o| o.id),
            role: profile.role,
        })?;
        Ok(TokenResponse {
            access_token,
            refresh_token: opened.refresh_token,
            token_type: "bearer",
            expires_in: self.ttl().as_secs(),
            user: opened.user,
        })
    }
}
