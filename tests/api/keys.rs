//! Signing keys: EdDSA access tokens with a `kid`, the JWK Set at
//! `/.well-known/jwks.json` checked by an independent verifier (PyJWT), and
//! rotations across restarts on one database: standby, switch, retire, for
//! Ed25519 keys and HS256 secrets alike.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
use serde_json::{Value, json};

use crate::harness::{JWT_SECRET, PASSWORD, TestApp, TestDb, Tokens};

const JWKS: &str = "/.well-known/jwks.json";
const INVALID: &str = "Invalid or expired access token";

/// A fresh Ed25519 key as PEM files, the way openssl writes them: the
/// private key (PKCS#8) and its public part (SPKI).
struct KeyPair {
    dir: PathBuf,
    signing: SigningKey,
    private: String,
    public: String,
}

impl KeyPair {
    fn new() -> Self {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("random seed");
        let signing = SigningKey::from_bytes(&seed);
        let dir = std::env::temp_dir().join(format!("vectra-keys-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("key dir");
        let private = dir.join("private.pem");
        let public = dir.join("public.pem");
        std::fs::write(
            &private,
            signing
                .to_pkcs8_pem(LineEnding::LF)
                .expect("pem")
                .as_bytes(),
        )
        .expect("write private key");
        std::fs::write(
            &public,
            signing
                .verifying_key()
                .to_public_key_pem(LineEnding::LF)
                .expect("pem"),
        )
        .expect("write public key");
        Self {
            dir,
            signing,
            private: private.display().to_string(),
            public: public.display().to_string(),
        }
    }

    /// The JWK `x` of the public key.
    fn x(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.signing.verifying_key().to_bytes())
    }

    /// Texts that must never be published: the private key's `d` in every
    /// encoding a leak could take, and its PEM body.
    fn secrets(&self) -> Vec<String> {
        let d = self.signing.to_bytes();
        let pem = std::fs::read_to_string(&self.private).expect("pem");
        vec![
            URL_SAFE_NO_PAD.encode(d),
            STANDARD.encode(d),
            pem.lines().nth(1).expect("PEM body").to_owned(),
        ]
    }
}

impl Drop for KeyPair {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The JOSE header of a token.
fn header(token: &str) -> Value {
    let part = token.split('.').next().expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
}

/// Another instance of the service on the same database, with another
/// configuration: a restart, or the next instance of a rolling deploy.
struct Instance {
    base: String,
    http: reqwest::Client,
}

impl Instance {
    async fn start(db: &TestDb, app: &TestApp, overrides: &[(&str, &str)]) -> Self {
        let smtp = app.mail.url();
        let mut all = vec![("SMTP_URL", smtp.as_str()), ("OUTBOX_POLL_INTERVAL", "1h")];
        all.extend_from_slice(overrides);
        let server = vectra::app::Application::build(db.config_with(&all))
            .await
            .expect("build the instance");
        let base = format!("http://{}", server.local_addr().expect("addr"));
        tokio::spawn(server.run_until(std::future::pending()));
        Self {
            base,
            http: reqwest::Client::new(),
        }
    }

    /// `GET /api/v1/user/me` with a token: the status and the body.
    async fn me(&self, token: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}/api/v1/user/me", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn login(&self, email: &str) -> Tokens {
        let r = self
            .http
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.expect("json");
        Tokens {
            access: body["access_token"].as_str().expect("token").to_owned(),
            refresh: body["refresh_token"].as_str().expect("token").to_owned(),
            user_id: body["user"]["id"]
                .as_str()
                .expect("id")
                .parse()
                .expect("uuid"),
        }
    }

    async fn refresh(&self, refresh_token: &str) -> Value {
        let r = self
            .http
            .post(format!("{}/api/v1/auth/refresh", self.base))
            .json(&json!({"refresh_token": refresh_token}))
            .send()
            .await
            .expect("refresh");
        assert_eq!(r.status(), 200);
        r.json().await.expect("json")
    }

    async fn jwks(&self) -> Value {
        self.http
            .get(format!("{}{JWKS}", self.base))
            .send()
            .await
            .expect("jwks")
            .json()
            .await
            .expect("json")
    }

    async fn accepts(&self, token: &str) {
        let (status, body) = self.me(token).await;
        assert_eq!(status, 200, "{body}");
    }

    async fn refuses(&self, token: &str) {
        let (status, body) = self.me(token).await;
        assert_eq!(
            (status, body["detail"].as_str()),
            (401, Some(INVALID)),
            "{body}"
        );
    }
}

/// Verifies tokens with PyJWT against a JWK Set: a verifier that shares no
/// code with the service. One result per token: `{"claims": …}` or
/// `{"error": "<PyJWT's exception>"}`.
fn pyjwt_verify(jwks: &Value, tokens: &[&str]) -> Vec<Value> {
    const SCRIPT: &str = r#"
import json, sys
try:
    import jwt
    import cryptography  # PyJWT's EdDSA backend
except ImportError as e:
    print(f"missing: {e}", file=sys.stderr)
    sys.exit(3)
data = json.load(sys.stdin)
keys = {k.key_id: k for k in jwt.PyJWKSet.from_dict(data["jwks"]).keys}
out = []
for token in data["tokens"]:
    try:
        kid = jwt.get_unverified_header(token)["kid"]
        if kid not in keys:
            raise LookupError("unknown kid")
        claims = jwt.decode(token, keys[kid].key, algorithms=["EdDSA"],
                            audience="vectra-api", issuer="vectra")
        out.append({"claims": claims})
    except Exception as e:
        out.append({"error": type(e).__name__})
print(json.dumps(out))
"#;
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("python3 is required by this test (PyJWT verifies the tokens): {e}")
        });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(
            json!({"jwks": jwks, "tokens": tokens})
                .to_string()
                .as_bytes(),
        )
        .expect("write to python3");
    let output = child.wait_with_output().expect("python3");
    assert!(
        output.status.code() != Some(3),
        "PyJWT is required by this test: `python3 -m pip install 'pyjwt[crypto]'` (.ci/run installs it); {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("PyJWT's results")
}

#[tokio::test]
async fn eddsa_access_tokens_verify_against_the_published_keys() {
    let key = KeyPair::new();
    let previous_secret = "a-previous-secret-a-previous-secret-0123";
    let app = TestApp::spawn_with(&[
        ("JWT_PRIVATE_KEY_FILE", &key.private),
        ("JWT_PREVIOUS_SECRETS", previous_secret),
    ])
    .await;
    app.verified_owner("ann@keys.test", "Keys Inc").await;
    let tokens = app.login("ann@keys.test", PASSWORD).await;

    // The token: EdDSA, with a kid.
    let head = header(&tokens.access);
    assert_eq!(head["alg"], "EdDSA", "{head}");
    let kid = head["kid"].as_str().expect("a kid").to_owned();
    app.get("/api/v1/user/me", Some(&tokens.access))
        .await
        .expect(200);

    // The key set: unauthenticated, cacheable, the signing key only.
    let r = app.get(JWKS, None).await.expect(200);
    assert_eq!(
        r.headers["content-type"].to_str().unwrap(),
        "application/jwk-set+json"
    );
    assert_eq!(
        r.headers["cache-control"].to_str().unwrap(),
        "public, max-age=300"
    );
    assert_eq!(
        r.body,
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": key.x(), "kid": kid,
                         "alg": "EdDSA", "use": "sig"}]})
    );
    // Neither the private key nor a secret, in any encoding.
    let text = r.body.to_string();
    let mut never = key.secrets();
    for secret in [JWT_SECRET, previous_secret] {
        never.extend([
            secret.to_owned(),
            URL_SAFE_NO_PAD.encode(secret),
            STANDARD.encode(secret),
        ]);
    }
    for hidden in never {
        assert!(!text.contains(&hidden), "{hidden} published: {text}");
    }
    assert!(!text.contains("\"d\"") && !text.contains("\"k\""), "{text}");
    // At the root only.
    app.get(&format!("/api/v1{JWKS}"), None).await.expect(404);

    // PyJWT, from the document alone: the token verifies, with its claims;
    // a tampered one and one signed by another key under the same kid fail.
    let (signed, _) = tokens.access.rsplit_once('.').unwrap();
    let mut payload: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(signed.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    payload["role"] = json!("platform_admin");
    let tampered = format!(
        "{}.{}.{}",
        signed.split('.').next().unwrap(),
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        tokens.access.rsplit('.').next().unwrap()
    );
    let stranger = KeyPair::new();
    let mut forged_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    forged_header.kid = Some(kid.clone());
    let forged = jsonwebtoken::encode(
        &forged_header,
        &payload,
        &jsonwebtoken::EncodingKey::from_ed_der(
            stranger.signing.to_pkcs8_der().expect("der").as_bytes(),
        ),
    )
    .expect("forge");
    let results = pyjwt_verify(&r.body, &[&tokens.access, &tampered, &forged]);
    assert_eq!(
        results[0]["claims"]["sub"],
        tokens.user_id.to_string(),
        "{results:?}"
    );
    assert_eq!(results[0]["claims"]["role"], "owner", "{results:?}");
    assert_eq!(results[1], json!({"error": "InvalidSignatureError"}));
    assert_eq!(results[2], json!({"error": "InvalidSignatureError"}));
    // The service refuses them too.
    for token in [&tampered, &forged] {
        app.get("/api/v1/user/me", Some(token))
            .await
            .problem(401, INVALID);
    }

    // jsonwebtoken, from the JWK alone (not from the service's key types).
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(r.body["keys"][0].clone()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["vectra-api"]);
    validation.set_issuer(&["vectra"]);
    let claims = jsonwebtoken::decode::<Value>(
        &tokens.access,
        &jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("jwk"),
        &validation,
    )
    .expect("verified with the published JWK")
    .claims;
    assert_eq!(claims["sub"], tokens.user_id.to_string());
}

#[tokio::test]
async fn hs256_alone_publishes_an_empty_key_set() {
    let app = TestApp::spawn().await;
    let r = app.get(JWKS, None).await.expect(200);
    assert_eq!(r.body, json!({"keys": []}));
    assert_eq!(
        r.headers["content-type"].to_str().unwrap(),
        "application/jwk-set+json"
    );
    let tokens = app.verified_owner("bob@keys.test", "HS Inc").await;
    let head = header(&tokens.access);
    assert_eq!(head["alg"], "HS256");
    assert!(head.get("kid").is_none(), "{head}");
}

/// Standby, switch, retire: three configurations of the service on one
/// database, as a rolling deploy would run them side by side.
#[tokio::test]
async fn rotating_the_key_logs_nobody_out_until_the_old_key_is_retired() {
    let (old, new) = (KeyPair::new(), KeyPair::new());
    // 1. Every instance signs with `old`; `new` is the standby.
    let app = TestApp::spawn_with(&[
        ("JWT_PRIVATE_KEY_FILE", &old.private),
        ("JWT_PUBLIC_KEY_FILES", &new.public),
        ("JWT_SECRET", ""),
    ])
    .await;
    app.verified_owner("cy@keys.test", "Rotation Inc").await;
    let before = app.login("cy@keys.test", PASSWORD).await;
    let old_kid = header(&before.access)["kid"].clone();
    let published = app.get(JWKS, None).await.expect(200).body;
    assert_eq!(published["keys"][0]["kid"], old_kid);
    assert_eq!(published["keys"][1]["x"], new.x());

    // 2. The switch: `new` signs, `old` verifies (its public file listed).
    let switched = Instance::start(
        &app.db,
        &app,
        &[
            ("JWT_PRIVATE_KEY_FILE", &new.private),
            ("JWT_PUBLIC_KEY_FILES", &old.public),
            ("JWT_SECRET", ""),
        ],
    )
    .await;
    switched.accepts(&before.access).await;
    let after = switched.login("cy@keys.test").await;
    let new_kid = header(&after.access)["kid"].clone();
    assert_ne!(new_kid, old_kid);
    assert_eq!(switched.jwks().await["keys"][0]["kid"], new_kid);
    // An instance not yet switched accepts the new key's tokens (the standby).
    app.get("/api/v1/user/me", Some(&after.access))
        .await
        .expect(200);
    let results = pyjwt_verify(&switched.jwks().await, &[&before.access, &after.access]);
    assert!(
        results.iter().all(|r| r["claims"]["sub"].is_string()),
        "{results:?}"
    );

    // Without `old` listed, its tokens are refused: the listing is what
    // kept them alive (the same as retiring it after ACCESS_TOKEN_TTL).
    let retired = Instance::start(
        &app.db,
        &app,
        &[("JWT_PRIVATE_KEY_FILE", &new.private), ("JWT_SECRET", "")],
    )
    .await;
    retired.refuses(&before.access).await;
    retired.accepts(&after.access).await;
    let jwks = retired.jwks().await;
    assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(1), "{jwks}");
    assert_eq!(jwks["keys"][0]["kid"], new_kid);
    // The session itself lives on: its refresh token (not a JWT) yields an
    // access token of the new key.
    let refreshed = retired.refresh(&before.refresh).await;
    let token = refreshed["access_token"].as_str().expect("token");
    assert_eq!(header(token)["kid"], new_kid);
    retired.accepts(token).await;
}

/// From HS256 to EdDSA without logging anyone out, then HS256 secrets
/// rotated with `JWT_PREVIOUS_SECRETS`.
#[tokio::test]
async fn moving_to_eddsa_and_rotating_secrets_keep_tokens_valid() {
    let key = KeyPair::new();
    let app = TestApp::spawn().await;
    app.verified_owner("dee@keys.test", "Migration Inc").await;
    let hs = app.login("dee@keys.test", PASSWORD).await;
    assert_eq!(header(&hs.access)["alg"], "HS256");

    // Both set: EdDSA signs, the HS256 token still verifies.
    let both = Instance::start(
        &app.db,
        &app,
        &[
            ("JWT_SECRET", JWT_SECRET),
            ("JWT_PRIVATE_KEY_FILE", &key.private),
        ],
    )
    .await;
    both.accepts(&hs.access).await;
    let ed = both.login("dee@keys.test").await;
    assert_eq!(header(&ed.access)["alg"], "EdDSA");
    // The instance still on HS256 alone cannot verify it: the standby step
    // (`JWT_PUBLIC_KEY_FILES` first) is what a rolling deploy needs.
    app.get("/api/v1/user/me", Some(&ed.access))
        .await
        .problem(401, INVALID);
    let standby = Instance::start(&app.db, &app, &[("JWT_PUBLIC_KEY_FILES", &key.public)]).await;
    standby.accepts(&ed.access).await;
    standby.accepts(&hs.access).await;
    assert_eq!(
        header(&standby.login("dee@keys.test").await.access)["alg"],
        "HS256"
    );

    // The secret dropped after ACCESS_TOKEN_TTL: HS256 tokens are refused.
    let key_only = Instance::start(
        &app.db,
        &app,
        &[("JWT_SECRET", ""), ("JWT_PRIVATE_KEY_FILE", &key.private)],
    )
    .await;
    key_only.refuses(&hs.access).await;
    key_only.accepts(&ed.access).await;

    // HS256 rotation: a new secret signs, the old one is a previous secret.
    let new_secret = "the-next-secret-the-next-secret-0123456789";
    let rotated = Instance::start(
        &app.db,
        &app,
        &[
            ("JWT_SECRET", new_secret),
            ("JWT_PREVIOUS_SECRETS", JWT_SECRET),
        ],
    )
    .await;
    rotated.accepts(&hs.access).await;
    let fresh = rotated.login("dee@keys.test").await;
    // The old secret's instance refuses the new secret's tokens, unless the
    // new secret was put there first, as the standby.
    app.get("/api/v1/user/me", Some(&fresh.access))
        .await
        .problem(401, INVALID);
    let standby = Instance::start(&app.db, &app, &[("JWT_PREVIOUS_SECRETS", new_secret)]).await;
    standby.accepts(&fresh.access).await;
    // Retired: the old secret's tokens are refused.
    let retired = Instance::start(&app.db, &app, &[("JWT_SECRET", new_secret)]).await;
    retired.refuses(&hs.access).await;
    retired.accepts(&fresh.access).await;
}

/// A bad key file stops `vectra serve` before it listens, with a message
/// naming the variable and the file.
#[test]
fn a_bad_key_file_stops_the_start() {
    let key = KeyPair::new();
    let not_a_key = key.dir.join("not-a-key.pem");
    std::fs::write(
        &not_a_key,
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    )
    .expect("write");
    let not_a_key = not_a_key.display().to_string();
    let list_with_gap = format!("{},,{}", key.public, key.public);
    for (var, value, names) in [
        (
            "JWT_PRIVATE_KEY_FILE",
            key.public.as_str(),
            key.public.as_str(),
        ),
        (
            "JWT_PRIVATE_KEY_FILE",
            "/nonexistent/key.pem",
            "/nonexistent/key.pem",
        ),
        (
            "JWT_PUBLIC_KEY_FILES",
            not_a_key.as_str(),
            not_a_key.as_str(),
        ),
        ("JWT_PUBLIC_KEY_FILES", list_with_gap.as_str(), "item 2"),
        ("JWT_PREVIOUS_SECRETS", "too-short", "at least 32 bytes"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vectra"))
            .arg("serve")
            .env_clear()
            .env(
                "DATABASE_URL",
                "postgres://vectra_authenticator:pw@127.0.0.1:1/vectra",
            )
            .env("JWT_SECRET", JWT_SECRET)
            .env("BIND_ADDR", "not-an-address")
            .env(var, value)
            .output()
            .expect("run vectra serve");
        assert!(!out.status.success(), "{var}={value} started");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("configuration: {var}: ")) && stderr.contains(names),
            "{var}={value}: {stderr}"
        );
    }
}
