//! `GET /.well-known/jwks.json`: the public keys that verify access tokens,
//! for other services (and gateways) to verify them without holding a key
//! that signs. At the root, not under `/api/v1`, where verifiers look for it
//! (RFC 8615), and unauthenticated: it holds nothing secret.

use axum::Router;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;
use crate::auth::JwtKeys;

pub const PATH: &str = "/.well-known/jwks.json";

/// How long verifiers may cache the key set: a key added as the standby
/// must be published at least this long before it starts signing.
pub const CACHE_CONTROL_VALUE: &str = "public, max-age=300";

pub fn router() -> Router<AppState> {
    Router::new().route(PATH, get(jwks))
}

/// `GET /.well-known/jwks.json`: a JWK Set (RFC 7517) of the Ed25519 public
/// keys, the signing one first; `{"keys":[]}` with HS256 alone.
async fn jwks(State(keys): State<JwtKeys>) -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "application/jwk-set+json"),
            (CACHE_CONTROL, CACHE_CONTROL_VALUE),
        ],
        keys.jwks(),
    )
}
