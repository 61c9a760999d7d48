//! Access tokens: JWTs signed with the Ed25519 key of `JWT_PRIVATE_KEY_FILE`
//! (EdDSA, the key's `kid` in the header) or, without one, with `JWT_SECRET`
//! (HS256, no `kid`, as before keys existed).
//!
//! Claims: `sub` (user id), `org` (organization id, null for the platform
//! admin), `role`, `sid` (session id), `iat`, `exp`, `iss`, `aud`. The
//! database re-checks `sub`, `org`, `role` and `sid` on every request
//! (`auth.begin_request`), so a token outlives nothing it describes.
//!
//! Verification accepts more keys than the one that signs, so that a
//! rotation logs nobody out: EdDSA tokens whose `kid` names the signing key
//! or one of `JWT_PUBLIC_KEY_FILES`, and HS256 tokens signed with
//! `JWT_SECRET` or one of `JWT_PREVIOUS_SECRETS`. The header's `alg` only
//! chooses between those two sets: an Ed25519 key never verifies an HMAC
//! (the algorithm confusion of RS/HS256), a secret never verifies EdDSA, and
//! every other algorithm (`none` included) is refused. Keys named in the
//! header (`jwk`, `jku`, `x5u`) are never used.
//!
//! A token that verified is remembered with its claims until it expires
//! (`ACCESS_TOKEN_CACHE_SIZE` tokens at most; when full, quick_cache's
//! CLOCK-Pro forgets tokens seen once before those in use): the same string
//! presented again is not verified again, only its expiry is checked. An Ed25519 verification costs the service
//! some 20 to 40 µs per request (docs/performance.md, "Access tokens
//! remembered"). The keys are fixed for the process's life, so what verified
//! once verifies until its `exp`; a token that fails is never remembered, and
//! a string that differs by one byte is verified in full.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::JwtSettings;
use crate::db::SessionClaims;
use crate::keys::PublicKey;

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

/// Why a token was refused. The caller sees one 401 whatever the reason;
/// the reason goes to the debug log, and to the tests.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("not a JWT: {0}")]
    Malformed(jsonwebtoken::errors::Error),
    #[error("algorithm {0:?} is not accepted")]
    Algorithm(Algorithm),
    #[error("EdDSA token without a kid")]
    MissingKid,
    #[error("no verification key has kid {0:?}")]
    UnknownKid(String),
    #[error("HS256 token, and no HS256 secret is configured")]
    NoSecret,
    /// Signature, expiry, issuer, audience or claims.
    #[error("{0}")]
    Invalid(jsonwebtoken::errors::Error),
}

/// Signing and verification keys, with the validation rules. Cheap to
/// clone (every request's extractor takes one): the keys are shared.
#[derive(Clone)]
pub struct JwtKeys(Arc<Keys>);

struct Keys {
    signer: Signer,
    /// HS256 secrets that verify: `JWT_SECRET` first, then the previous ones.
    secrets: Vec<DecodingKey>,
    /// Ed25519 public keys that verify, by kid: the signing key's first.
    public_keys: Vec<(String, DecodingKey)>,
    /// `GET /.well-known/jwks.json`, serialized once.
    jwks: Bytes,
    hs256: Validation,
    eddsa: Validation,
    ttl: Duration,
    /// Tokens that verified, with their claims (`None`: remember none).
    verified: Option<quick_cache::sync::Cache<Box<str>, Claims>>,
    checks: Checks,
}

/// Access tokens checked since start, by outcome (`GET /metrics`).
#[derive(Default)]
struct Checks {
    remembered: AtomicU64,
    verified: AtomicU64,
    refused: AtomicU64,
}

/// Access tokens checked since start, by outcome, and the tokens
/// remembered now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenChecks {
    /// Accepted from the tokens remembered (only the expiry checked).
    pub remembered: u64,
    /// Verified in full and accepted.
    pub verified: u64,
    /// Refused, whatever the reason.
    pub refused: u64,
    /// Tokens remembered now.
    pub entries: u64,
}

enum Signer {
    Hs256(EncodingKey),
    EdDsa { key: EncodingKey, kid: String },
}

/// The one check whose answer changes with time, as `verify_in_full` makes
/// it (jsonwebtoken, leeway 0): valid up to and including the second of
/// `exp`, by jsonwebtoken's clock (`now`).
fn unexpired(exp: i64, now: u64) -> bool {
    u64::try_from(exp).is_ok_and(|exp| exp >= now)
}

fn validation(algorithm: Algorithm) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.leeway = 0;
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    validation
}

impl JwtKeys {
    /// The keys of the configuration. With a private key, tokens are signed
    /// with EdDSA; otherwise with `JWT_SECRET` (the configuration requires
    /// one of the two).
    /// `cache_size`: how many verified tokens to remember
    /// (`ACCESS_TOKEN_CACHE_SIZE`; 0, none).
    pub fn new(settings: &JwtSettings, ttl: Duration, cache_size: usize) -> anyhow::Result<Self> {
        let signer = match (&settings.private_key, &settings.secret) {
            (Some(key), _) => Signer::EdDsa {
                key: key.encoding_key().clone(),
                kid: key.public().kid().to_owned(),
            },
            (None, Some(secret)) => {
                Signer::Hs256(EncodingKey::from_secret(secret.expose().as_bytes()))
            }
            (None, None) => anyhow::bail!(
                "JWT_SECRET: no key to sign access tokens with (set JWT_SECRET or JWT_PRIVATE_KEY_FILE)"
            ),
        };
        let secrets = settings
            .secret
            .iter()
            .chain(&settings.previous_secrets)
            .map(|s| DecodingKey::from_secret(s.expose().as_bytes()))
            .collect();
        let mut published = Vec::new();
        for key in settings
            .private_key
            .iter()
            .map(|k| k.public())
            .chain(&settings.public_keys)
        {
            if !published.iter().any(|k: &&PublicKey| k.kid() == key.kid()) {
                published.push(key);
            }
        }
        let public_keys = published
            .iter()
            .map(|k| (k.kid().to_owned(), k.decoding_key()))
            .collect();
        let jwks = JwkSet {
            keys: published.iter().map(|k| k.jwk()).collect(),
        };
        let jwks = Bytes::from(serde_json::to_vec(&jwks)?);
        tracing::info!(
            signing = match &signer {
                Signer::Hs256(_) => "HS256 (JWT_SECRET)".to_owned(),
                Signer::EdDsa { kid, .. } => format!("EdDSA kid {kid}"),
            },
            verifying_kids = ?published.iter().map(|k| k.kid()).collect::<Vec<_>>(),
            verifying_secrets = settings.secret.iter().count() + settings.previous_secrets.len(),
            "access token keys"
        );
        Ok(Self(Arc::new(Keys {
            signer,
            secrets,
            public_keys,
            jwks,
            hs256: validation(Algorithm::HS256),
            eddsa: validation(Algorithm::EdDSA),
            ttl,
            verified: (cache_size > 0).then(|| quick_cache::sync::Cache::new(cache_size)),
            checks: Checks::default(),
        })))
    }

    pub fn ttl(&self) -> Duration {
        self.0.ttl
    }

    /// The kid of the signing key (`None`: tokens are signed with HS256).
    pub fn signing_kid(&self) -> Option<&str> {
        match &self.0.signer {
            Signer::Hs256(_) => None,
            Signer::EdDsa { kid, .. } => Some(kid),
        }
    }

    /// The public keys as a JWK Set (JSON): the signing key's and
    /// `JWT_PUBLIC_KEY_FILES`; empty with HS256 alone. Secrets are never in it.
    pub fn jwks(&self) -> Bytes {
        self.0.jwks.clone()
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
        let (header, key) = match &self.0.signer {
            Signer::Hs256(key) => (Header::new(Algorithm::HS256), key),
            Signer::EdDsa { key, kid } => {
                let mut header = Header::new(Algorithm::EdDSA);
                header.kid = Some(kid.clone());
                (header, key)
            }
        };
        Ok(jsonwebtoken::encode(&header, &claims, key)?)
    }

    /// The claims of a valid token: one remembered and not expired yet, or
    /// one that [`Self::verify_in_full`] accepts (then remembered).
    pub fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let checks = &self.0.checks;
        let (result, counter) = match self.remembered(token) {
            Some(Ok(claims)) => (Ok(claims), &checks.remembered),
            Some(Err(e)) => (Err(e), &checks.refused),
            None => match self.verify_in_full(token) {
                Ok(claims) => {
                    if let Some(verified) = &self.0.verified {
                        verified.insert(token.into(), claims.clone());
                    }
                    (Ok(claims), &checks.verified)
                }
                Err(e) => (Err(e), &checks.refused),
            },
        };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }

    /// A remembered token's claims, or the error of one that has expired
    /// since (then forgotten); `None` when the token is not remembered.
    fn remembered(&self, token: &str) -> Option<Result<Claims, VerifyError>> {
        let verified = self.0.verified.as_ref()?;
        let claims = verified.get(token)?;
        if unexpired(claims.exp, jsonwebtoken::get_current_timestamp()) {
            Some(Ok(claims))
        } else {
            verified.remove(token);
            Some(Err(VerifyError::Invalid(
                ErrorKind::ExpiredSignature.into(),
            )))
        }
    }

    /// The tokens checked since start, by outcome.
    pub fn checks(&self) -> TokenChecks {
        let checks = &self.0.checks;
        TokenChecks {
            remembered: checks.remembered.load(Ordering::Relaxed),
            verified: checks.verified.load(Ordering::Relaxed),
            refused: checks.refused.load(Ordering::Relaxed),
            entries: self.0.verified.as_ref().map_or(0, |c| c.len() as u64),
        }
    }

    /// Verifies signature, algorithm, issuer, audience and expiry (no
    /// leeway), with the key the header's `alg` and `kid` select.
    fn verify_in_full(&self, token: &str) -> Result<Claims, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(VerifyError::Malformed)?;
        match header.alg {
            Algorithm::EdDSA => {
                let kid = header.kid.ok_or(VerifyError::MissingKid)?;
                let Some((_, key)) = self.0.public_keys.iter().find(|(k, _)| *k == kid) else {
                    return Err(VerifyError::UnknownKid(kid));
                };
                jsonwebtoken::decode::<Claims>(token, key, &self.0.eddsa)
                    .map(|d| d.claims)
                    .map_err(VerifyError::Invalid)
            }
            // Tokens of a secret carry no kid: each secret is tried, the
            // current one first (an HMAC costs about a microsecond).
            Algorithm::HS256 => {
                if self.0.secrets.is_empty() {
                    return Err(VerifyError::NoSecret);
                }
                for key in &self.0.secrets {
                    match jsonwebtoken::decode::<Claims>(token, key, &self.0.hs256) {
                        Ok(d) => return Ok(d.claims),
                        Err(e) if *e.kind() == ErrorKind::InvalidSignature => continue,
                        Err(e) => return Err(VerifyError::Invalid(e)),
                    }
                }
                Err(VerifyError::Invalid(ErrorKind::InvalidSignature.into()))
            }
            other => Err(VerifyError::Algorithm(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use crate::keys::PrivateKey;

    fn session() -> SessionClaims {
        SessionClaims {
            session_id: Uuid::new_v4(),
            user_id: Uuid::new_v4(),
            org_id: Some(Uuid::new_v4()),
            role: "admin".into(),
        }
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const OLD_SECRET: &str = "an-older-secret-an-older-secret-x";
    const TTL: Duration = Duration::from_secs(60);

    /// Three Ed25519 keys: the old one, the current one, the standby.
    fn key(n: u8) -> PrivateKey {
        PrivateKey::from_seed(&[n; 32])
    }

    fn keys(
        secret: Option<&str>,
        previous_secrets: &[&str],
        private_key: Option<&PrivateKey>,
        public_keys: &[&PrivateKey],
    ) -> JwtKeys {
        JwtKeys::new(
            &JwtSettings {
                secret: secret.map(Secret::new),
                previous_secrets: previous_secrets.iter().map(|s| Secret::new(*s)).collect(),
                private_key: private_key.cloned(),
                public_keys: public_keys.iter().map(|k| k.public().clone()).collect(),
            },
            TTL,
            16,
        )
        .expect("keys")
    }

    fn hs256(secret: &str) -> JwtKeys {
        keys(Some(secret), &[], None, &[])
    }

    fn eddsa(key: &PrivateKey, also: &[&PrivateKey]) -> JwtKeys {
        keys(None, &[], Some(key), also)
    }

    fn claims_now(s: &SessionClaims, exp_in: i64) -> Claims {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        Claims {
            sub: s.user_id,
            org: s.org_id,
            role: s.role.clone(),
            sid: s.session_id,
            iat: now,
            exp: now + exp_in,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        }
    }

    /// A token with any header, signed with any key.
    fn forge(header: &Header, key: &EncodingKey) -> String {
        jsonwebtoken::encode(header, &claims_now(&session(), 60), key).expect("encode")
    }

    fn eddsa_header(kid: Option<&str>) -> Header {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = kid.map(str::to_owned);
        header
    }

    #[test]
    fn hs256_round_trip_keeps_the_session_and_has_no_kid() {
        let keys = hs256(SECRET);
        let s = session();
        let token = keys.issue(&s).expect("issue");
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.alg, Algorithm::HS256);
        assert_eq!(header.kid, None);
        assert_eq!(keys.signing_kid(), None);
        let claims = keys.verify(&token).expect("verify");
        assert_eq!(claims.session(), s);
        assert_eq!(claims.exp - claims.iat, 60);
    }

    #[test]
    fn eddsa_tokens_carry_the_kid_of_the_signing_key() {
        let current = key(2);
        let keys = eddsa(&current, &[]);
        let s = session();
        let token = keys.issue(&s).expect("issue");
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.kid.as_deref(), Some(current.public().kid()));
        assert_eq!(keys.signing_kid(), Some(current.public().kid()));
        assert_eq!(keys.verify(&token).expect("verify").session(), s);
        // The signature is the key's: its public key alone verifies it.
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_audience(&[AUDIENCE]);
        jsonwebtoken::decode::<Claims>(&token, &current.public().decoding_key(), &v)
            .expect("verified by the public key");
        assert!(
            jsonwebtoken::decode::<Claims>(&token, &key(3).public().decoding_key(), &v).is_err()
        );
    }

    /// Add the standby, switch, retire: at each step every token in
    /// circulation verifies on every instance, old or new configuration.
    #[test]
    fn a_rotation_logs_nobody_out_and_retiring_the_old_key_does() {
        let (old, new) = (key(1), key(2));
        // 1. Every instance signs with `old` and lists `new` as the standby.
        let before = eddsa(&old, &[&new]);
        let old_token = before.issue(&session()).expect("issue");
        // 2. Instances switch one by one: `new` signs, `old` is listed.
        let after = eddsa(&new, &[&old]);
        let new_token = after.issue(&session()).expect("issue");
        assert_ne!(
            jsonwebtoken::decode_header(&old_token).unwrap().kid,
            jsonwebtoken::decode_header(&new_token).unwrap().kid
        );
        for (instance, token) in [
            (&before, &old_token),
            (&before, &new_token),
            (&after, &old_token),
            (&after, &new_token),
        ] {
            instance
                .verify(token)
                .expect("every token on every instance");
        }
        // 3. After ACCESS_TOKEN_TTL, `old` is retired: its tokens are refused.
        let retired = eddsa(&new, &[]);
        retired.verify(&new_token).expect("the current key");
        match retired.verify(&old_token) {
            Err(VerifyError::UnknownKid(kid)) => assert_eq!(kid, old.public().kid()),
            other => panic!("expected an unknown kid, got {other:?}"),
        }
        // Without the standby step, an instance not yet switched refuses the
        // new key's tokens: that is what the standby is for.
        assert!(matches!(
            eddsa(&old, &[]).verify(&new_token),
            Err(VerifyError::UnknownKid(_))
        ));
    }

    #[test]
    fn previous_secrets_verify_and_only_the_current_one_signs() {
        let old_token = hs256(OLD_SECRET).issue(&session()).expect("issue");
        let rotated = keys(Some(SECRET), &[OLD_SECRET], None, &[]);
        rotated
            .verify(&old_token)
            .expect("a previous secret verifies");
        let new_token = rotated.issue(&session()).expect("issue");
        hs256(SECRET)
            .verify(&new_token)
            .expect("signed with JWT_SECRET");
        assert!(hs256(OLD_SECRET).verify(&new_token).is_err());
        match hs256(SECRET).verify(&old_token) {
            Err(VerifyError::Invalid(e)) => {
                assert_eq!(*e.kind(), ErrorKind::InvalidSignature)
            }
            other => panic!("expected a bad signature, got {other:?}"),
        }
    }

    /// Both set: EdDSA signs, and the HS256 tokens issued before the switch
    /// still verify (a migration logs nobody out).
    #[test]
    fn with_a_key_and_a_secret_eddsa_signs_and_hs256_still_verifies() {
        let hs_token = hs256(SECRET).issue(&session()).expect("issue");
        let both = keys(Some(SECRET), &[], Some(&key(2)), &[]);
        let token = both.issue(&session()).expect("issue");
        assert_eq!(
            jsonwebtoken::decode_header(&token).unwrap().alg,
            Algorithm::EdDSA
        );
        both.verify(&hs_token).expect("HS256 token of the secret");
        both.verify(&token).expect("EdDSA token");
        // A secret alone never verifies an EdDSA token, and a key alone no
        // HS256 token.
        assert!(matches!(
            hs256(SECRET).verify(&token),
            Err(VerifyError::UnknownKid(_))
        ));
        assert!(matches!(
            eddsa(&key(2), &[]).verify(&hs_token),
            Err(VerifyError::NoSecret)
        ));
    }

    #[test]
    fn an_unknown_kid_a_missing_kid_or_a_borrowed_kid_is_refused() {
        let (current, stranger) = (key(2), key(9));
        let keys = eddsa(&current, &[&key(3)]);
        // A key the service does not know, under its own kid.
        let token = forge(
            &eddsa_header(Some(stranger.public().kid())),
            stranger.encoding_key(),
        );
        assert!(matches!(
            keys.verify(&token),
            Err(VerifyError::UnknownKid(_))
        ));
        // … with its public key in the header: never used.
        let mut header = eddsa_header(Some(stranger.public().kid()));
        header.jwk = Some(stranger.public().jwk());
        let token = forge(&header, stranger.encoding_key());
        assert!(matches!(
            keys.verify(&token),
            Err(VerifyError::UnknownKid(_))
        ));
        // … under the kid of the service's key: the signature does not match.
        let token = forge(
            &eddsa_header(Some(current.public().kid())),
            stranger.encoding_key(),
        );
        match keys.verify(&token) {
            Err(VerifyError::Invalid(e)) => {
                assert_eq!(*e.kind(), ErrorKind::InvalidSignature)
            }
            other => panic!("expected a bad signature, got {other:?}"),
        }
        // Without a kid, even when signed by the right key.
        let token = forge(&eddsa_header(None), current.encoding_key());
        assert!(matches!(keys.verify(&token), Err(VerifyError::MissingKid)));
    }

    #[test]
    fn a_tampered_or_expired_token_is_refused() {
        for keys in [hs256(SECRET), eddsa(&key(2), &[])] {
            let token = keys.issue(&session()).expect("issue");
            let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
            // Another payload under the same signature.
            parts[1] = jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims_now(&session(), 60),
                &EncodingKey::from_secret(b"x"),
            )
            .unwrap()
            .split('.')
            .nth(1)
            .unwrap()
            .to_owned();
            let tampered = parts.join(".");
            assert_ne!(tampered, token);
            assert!(matches!(
                keys.verify(&tampered),
                Err(VerifyError::Invalid(_))
            ));
            // One character of the signature changed.
            let mut sig: Vec<char> = token.rsplit('.').next().unwrap().chars().collect();
            sig[3] = if sig[3] == 'A' { 'B' } else { 'A' };
            let sig: String = sig.into_iter().collect();
            let (signed, _) = token.rsplit_once('.').unwrap();
            assert!(keys.verify(&format!("{signed}.{sig}")).is_err());
        }
        let current = key(2);
        let expired = jsonwebtoken::encode(
            &eddsa_header(Some(current.public().kid())),
            &claims_now(&session(), -1),
            current.encoding_key(),
        )
        .unwrap();
        match eddsa(&current, &[]).verify(&expired) {
            Err(VerifyError::Invalid(e)) => assert_eq!(*e.kind(), ErrorKind::ExpiredSignature),
            other => panic!("expected expired, got {other:?}"),
        }
    }

    /// `keys` with `cache_size` tokens remembered.
    fn remembering(keys: &JwtKeys, cache_size: usize) -> JwtKeys {
        let settings = JwtSettings {
            secret: Some(Secret::new(SECRET)),
            previous_secrets: Vec::new(),
            private_key: keys.signing_kid().map(|_| key(2)),
            public_keys: Vec::new(),
        };
        JwtKeys::new(&settings, TTL, cache_size).expect("keys")
    }

    fn counts(remembered: u64, verified: u64, refused: u64, entries: u64) -> TokenChecks {
        TokenChecks {
            remembered,
            verified,
            refused,
            entries,
        }
    }

    #[test]
    fn a_token_that_verified_is_remembered_and_its_neighbours_are_not() {
        for keys in [hs256(SECRET), eddsa(&key(2), &[])] {
            let keys = remembering(&keys, 16);
            let s = session();
            let token = keys.issue(&s).expect("issue");
            assert_eq!(keys.verify(&token).expect("verified").session(), s);
            assert_eq!(keys.checks(), counts(0, 1, 0, 1));
            assert_eq!(keys.verify(&token).expect("remembered").session(), s);
            assert_eq!(keys.checks(), counts(1, 1, 0, 1));
            // The remembered token with one character of its signature, or
            // of its payload, changed: verified in full, refused, and not
            // remembered.
            let (signed, sig) = token.rsplit_once('.').unwrap();
            let flip = |c: char| if c == 'A' { 'B' } else { 'A' };
            let mut changed_sig: Vec<char> = sig.chars().collect();
            changed_sig[3] = flip(changed_sig[3]);
            let changed_sig: String = changed_sig.into_iter().collect();
            let mut changed_payload: Vec<char> = signed.chars().collect();
            let i = signed.find('.').unwrap() + 3;
            changed_payload[i] = flip(changed_payload[i]);
            let changed_payload: String = changed_payload.into_iter().collect();
            for forged in [
                format!("{signed}.{changed_sig}"),
                format!("{changed_payload}.{sig}"),
                // (the extractor trims the header's value; `verify` must
                // not rely on it)
                format!("{token} "),
                format!("{signed}."),
            ] {
                assert!(keys.verify(&forged).is_err(), "{forged}");
            }
            assert_eq!(keys.checks(), counts(1, 1, 4, 1));
            // Keys that do not hold the signing key refuse the token, the
            // first time and every time: nothing is shared between keys.
            let other = JwtKeys::new(
                &JwtSettings {
                    secret: Some(Secret::new(OLD_SECRET)),
                    private_key: keys.signing_kid().map(|_| key(3)),
                    ..JwtSettings::default()
                },
                TTL,
                16,
            )
            .expect("keys");
            for _ in 0..2 {
                assert!(other.verify(&token).is_err());
            }
            assert_eq!(other.checks(), counts(0, 0, 2, 0));
        }
    }

    #[test]
    fn a_remembered_token_is_refused_once_it_expires() {
        // The rule, at its boundary: the second of `exp` is still valid.
        assert!(unexpired(100, 99));
        assert!(unexpired(100, 100));
        assert!(!unexpired(100, 101));
        assert!(!unexpired(-1, 0));
        // A remembered token whose `exp` has passed (its claims put back as
        // they would be remembered, with an `exp` a second ago): refused as
        // expired, and forgotten.
        let keys = remembering(&hs256(SECRET), 16);
        let token = keys.issue(&session()).expect("issue");
        let claims = keys.verify(&token).expect("valid");
        assert_eq!(keys.checks(), counts(0, 1, 0, 1));
        let verified = keys.0.verified.as_ref().expect("a cache");
        let past = jsonwebtoken::get_current_timestamp() as i64 - 1;
        verified.insert(
            token.as_str().into(),
            Claims {
                exp: past,
                ..claims
            },
        );
        match keys.verify(&token) {
            Err(VerifyError::Invalid(e)) => assert_eq!(*e.kind(), ErrorKind::ExpiredSignature),
            other => panic!("expected expired, got {other:?}"),
        }
        assert_eq!(keys.checks(), counts(0, 1, 1, 0));
        // Forgotten: the next check is a full verification (of the token
        // itself, still valid).
        keys.verify(&token).expect("verified again");
        assert_eq!(keys.checks(), counts(0, 2, 1, 1));
    }

    #[test]
    fn the_cache_holds_at_most_its_size_or_nothing() {
        let keys = remembering(&hs256(SECRET), 8);
        let tokens: Vec<String> = (0..100)
            .map(|_| keys.issue(&session()).expect("issue"))
            .collect();
        for t in &tokens {
            keys.verify(t).expect("valid");
        }
        let checks = keys.checks();
        assert_eq!(checks.verified, 100);
        assert!(
            (1..=8).contains(&checks.entries),
            "{} entries remembered",
            checks.entries
        );
        let none = remembering(&hs256(SECRET), 0);
        for _ in 0..3 {
            none.verify(&tokens[0]).expect("valid");
        }
        assert_eq!(none.checks(), counts(0, 3, 0, 0));
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let keys = keys(Some(SECRET), &[], Some(&key(2)), &[]);
        let token = keys.issue(&session()).expect("issue");
        let payload = token.split('.').nth(1).unwrap();
        // {"alg":"none","typ":"JWT"}, {"alg":"none"}, {"alg":"None"}
        for header in [
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0",
            "eyJhbGciOiJub25lIn0",
            "eyJhbGciOiJOb25lIn0",
        ] {
            for signature in ["", "AAAA"] {
                let forged = format!("{header}.{payload}.{signature}");
                assert!(
                    matches!(keys.verify(&forged), Err(VerifyError::Malformed(_))),
                    "{forged}"
                );
            }
        }
        // HS384/HS512 with the very secret, and the asymmetric algorithms
        // the service has no key for.
        for alg in [Algorithm::HS384, Algorithm::HS512] {
            let token = forge(
                &Header::new(alg),
                &EncodingKey::from_secret(SECRET.as_bytes()),
            );
            assert!(matches!(keys.verify(&token), Err(VerifyError::Algorithm(a)) if a == alg));
        }
        for alg in ["RS256", "ES256", "PS256"] {
            let forged = format!(
                "{}.{payload}.AAAA",
                base64url(serde_json::json!({"alg": alg}).to_string().as_bytes())
            );
            assert!(
                matches!(keys.verify(&forged), Err(VerifyError::Algorithm(_))),
                "{alg}"
            );
        }
    }

    /// The RS256/HS256 confusion, with Ed25519: an HS256 token whose secret
    /// is the public key (raw bytes, PEM, the JWK's `x`) is refused, by a
    /// service with a secret and by one without.
    #[test]
    fn an_hs256_token_keyed_with_the_public_key_is_refused() {
        let current = key(2);
        let public = current.public();
        let jwk = serde_json::to_value(public.jwk()).unwrap();
        let pem = ed25519_dalek::pkcs8::EncodePublicKey::to_public_key_pem(
            &ed25519_dalek::VerifyingKey::from_bytes(public.as_bytes()).unwrap(),
            ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF,
        )
        .unwrap();
        let jwk_text = jwk.to_string();
        let secrets: [&[u8]; 4] = [
            public.as_bytes(),
            pem.as_bytes(),
            jwk["x"].as_str().unwrap().as_bytes(),
            jwk_text.as_bytes(),
        ];
        for keys in [
            eddsa(&current, &[]),
            keys(Some(SECRET), &[], Some(&current), &[]),
        ] {
            for secret in secrets {
                let mut header = Header::new(Algorithm::HS256);
                header.kid = Some(public.kid().to_owned());
                let token = forge(&header, &EncodingKey::from_secret(secret));
                assert!(
                    matches!(
                        keys.verify(&token),
                        Err(VerifyError::NoSecret | VerifyError::Invalid(_))
                    ),
                    "{secret:?}"
                );
            }
        }
        // The public key as a PublicKey verifies nothing signed with HMAC
        // even when the HMAC key is its bytes.
        let token = forge(
            &Header::new(Algorithm::HS256),
            &EncodingKey::from_secret(public.as_bytes()),
        );
        assert!(matches!(
            eddsa(&current, &[]).verify(&token),
            Err(VerifyError::NoSecret)
        ));
    }

    #[test]
    fn the_jwks_publishes_public_keys_only_each_once() {
        let (current, previous, standby) = (key(2), key(1), key(3));
        let keys = keys(
            Some(SECRET),
            &[OLD_SECRET],
            Some(&current),
            &[&previous, &standby, &current],
        );
        let jwks: serde_json::Value = serde_json::from_slice(&keys.jwks()).unwrap();
        let published: Vec<serde_json::Value> = jwks["keys"].as_array().unwrap().clone();
        let kids: Vec<&str> = published
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert_eq!(
            kids,
            [
                current.public().kid(),
                previous.public().kid(),
                standby.public().kid()
            ]
        );
        for jwk in &published {
            let mut fields: Vec<&str> = jwk
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            fields.sort_unstable();
            assert_eq!(fields, ["alg", "crv", "kid", "kty", "use", "x"]);
            assert_eq!(jwk["kty"], "OKP");
            assert_eq!(jwk["crv"], "Ed25519");
            assert_eq!(jwk["alg"], "EdDSA");
            assert_eq!(jwk["use"], "sig");
        }
        let text = String::from_utf8(keys.jwks().to_vec()).unwrap();
        for secret in [SECRET, OLD_SECRET] {
            assert!(!text.contains(secret));
            assert!(!text.contains(&base64url(secret.as_bytes())));
        }
        // Each published key verifies its own tokens through its JWK, as a
        // verifier reading the document would.
        let token = keys.issue(&session()).expect("issue");
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(published[0].clone()).unwrap();
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_audience(&[AUDIENCE]);
        jsonwebtoken::decode::<Claims>(&token, &DecodingKey::from_jwk(&jwk).unwrap(), &v)
            .expect("verified with the published JWK");

        assert_eq!(&hs256(SECRET).jwks()[..], br#"{"keys":[]}"#);
    }

    fn base64url(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }
}
