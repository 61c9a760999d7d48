//! Access tokens: HS256 JWTs signed with `JWT_SECRET`.
//!
//! Claims: `sub` (user id), `org` (organization id, null for the platform
//! admin), `role`, `sid` (session id), `iat`, `exp`, `iss`, `aud`. The
//! database re-checks `sub`, `org`, `role` and `sid` on every request
//! (`auth.begin_request`), so a token outlives nothing it describes.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::SessionClaims;

pub const ISSUER: &str = "vectra";
pub const AUDIENCE: &str = "vectra-api";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub org: Option<Uuid>,
    pub role: String,
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

impl Claims {
    pub fn session(&self) -> SessionClaims {
        SessionClaims {
            session_id: self.sid,
            user_id: self.sub,
            org_id: self.org,
            role: self.role.clone(),
        }
    }
}

/// Signing and verification keys, with the validation rules. Cheap to
/// clone (every request's extractor takes one): the keys are shared.
#[derive(Clone)]
pub struct JwtKeys(std::sync::Arc<Keys>);

struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        Self(std::sync::Arc::new(Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }))
    }

    pub fn ttl(&self) -> Duration {
        self.0.ttl
    }

    /// A signed access token for a session.
    pub fn issue(&self, session: &SessionClaims) -> anyhow::Result<String> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            sub: session.user_id,
            org: session.org_id,
            role: session.role.clone(),
            sid: session.session_id,
            iat: now,
            exp: now + self.0.ttl.as_secs() as i64,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.0.encoding,
        )?)
    }

    /// Verifies signature, algorithm, issuer, audience and expiry (no leeway).
    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        jsonwebtoken::decode::<Claims>(token, &self.0.decoding, &self.0.validation)
            .map(|d| d.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> SessionClaims {
        SessionClaims {
            session_id: Uuid::new_v4(),
            user_id: Uuid::new_v4(),
            org_id: Some(Uuid::new_v4()),
            role: "admin".into(),
        }
    }

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trip_keeps_the_session() {
        let keys = JwtKeys::new(SECRET, Duration::from_secs(60));
        let s = session();
        let claims = keys
            .verify(&keys.issue(&s).expect("issue"))
            .expect("verify");
        assert_eq!(claims.session(), s);
        assert_eq!(claims.exp - claims.iat, 60);
    }

    #[test]
    fn another_key_or_a_tampered_token_fails() {
        let keys = JwtKeys::new(SECRET, Duration::from_secs(60));
        let other = JwtKeys::new(b"another-secret-another-secret-xx", Duration::from_secs(60));
        let token = keys.issue(&session()).expect("issue");
        assert!(other.verify(&token).is_err());
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = parts[1].chars().rev().collect();
        assert!(keys.verify(&parts.join(".")).is_err());
    }
}
