//! Password hashing: argon2id with OWASP's minimum parameters (19 MiB, two
//! passes, one lane), always on the blocking pool so a login never stalls
//! the async workers.

use std::sync::LazyLock;

use anyhow::Context;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

fn hasher() -> Argon2<'static> {
    // Constant, valid parameters: `new` cannot fail here.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash of a random password, verified against when the email is unknown
/// so that unknown emails and wrong passwords take the same time.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hasher()
        .hash_password(uuid::Uuid::new_v4().as_bytes())
        .map(|h| h.to_string())
        .unwrap_or_default()
});

/// Hashes a new password (PHC string).
pub async fn hash(password: String) -> anyhow::Result<String> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _guard = span.enter();
        hasher()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
    })
    .await
    .context("password hashing task")?
}

/// Verifies `password` against `hash`, or against a dummy hash when there is
/// no account, taking comparable time either way.
pub async fn verify(password: String, hash: Option<String>) -> anyhow::Result<bool> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _guard = span.enter();
        let known = hash.is_some();
        let stored = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            tracing::error!("stored password hash is not a PHC string");
            return Ok(false);
        };
        let matches = hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await
    .context("password verification task")?
}

/// Forces the dummy hash now, so the first unknown-email login is not slower.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_owasp_parameters() {
        let h = hash("correct horse battery".into()).await.expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(
            verify("correct horse battery".into(), Some(h.clone()))
                .await
                .expect("verify")
        );
        assert!(
            !verify("wrong horse battery".into(), Some(h))
                .await
                .expect("verify")
        );
        assert!(
            !verify("anything at all".into(), None)
                .await
                .expect("verify")
        );
    }
}
