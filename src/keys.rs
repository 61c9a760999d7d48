//! Ed25519 keys of access tokens: read from PEM files at start (PKCS#8, as
//! `openssl genpkey -algorithm ed25519` writes them), named by their RFC 7638
//! JWK thumbprint (`kid`), published as a JWK Set at
//! `GET /.well-known/jwks.json`.
//!
//! The kid is a function of the public key alone, so every instance given the
//! same key file names it the same, and nobody has to choose names.

use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse, ThumbprintHash,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

/// Why a PEM text is not a usable key; the configuration adds the variable
/// and the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

/// An Ed25519 public key and its kid: verifies access tokens, and is
/// published. Holds nothing secret.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    bytes: [u8; 32],
    kid: String,
}

/// An Ed25519 private key: signs access tokens. Its `Debug` shows the kid
/// only.
#[derive(Clone)]
pub struct PrivateKey {
    encoding: EncodingKey,
    public: PublicKey,
}

impl PublicKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let kid = thumbprint(&jwk_of(&bytes));
        Self { bytes, kid }
    }

    /// A PEM public key (`-----BEGIN PUBLIC KEY-----`, as
    /// `openssl pkey -pubout` writes it), or a private key whose public part
    /// is taken.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        if pem.contains("PRIVATE KEY-----") {
            return PrivateKey::from_pem(pem).map(|k| k.public);
        }
        let key = VerifyingKey::from_public_key_pem(pem.trim()).map_err(|e| {
            KeyError(format!(
                "not an Ed25519 public key in PEM (expected `-----BEGIN PUBLIC KEY-----` from `openssl pkey -pubout`, or the private key): {e}"
            ))
        })?;
        Ok(Self::from_bytes(key.to_bytes()))
    }

    /// The RFC 7638 thumbprint (SHA-256, base64url) of the key's JWK.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The key as a verifier of EdDSA signatures.
    pub(crate) fn decoding_key(&self) -> DecodingKey {
        DecodingKey::from_ed_der(&self.bytes)
    }

    /// The key's entry of the JWK Set: `kty`, `crv`, `x`, `kid`, `alg`,
    /// `use`. The type has no room for a private part.
    pub fn jwk(&self) -> Jwk {
        let mut jwk = jwk_of(&self.bytes);
        jwk.common = CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(KeyAlgorithm::EdDSA),
            key_id: Some(self.kid.clone()),
            ..CommonParameters::default()
        };
        jwk
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ed25519PublicKey({})", self.kid)
    }
}

impl PrivateKey {
    /// A PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`), Ed25519.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let signing = SigningKey::from_pkcs8_pem(pem.trim()).map_err(|e| {
            KeyError(format!(
                "not an Ed25519 private key in PKCS#8 PEM (expected `-----BEGIN PRIVATE KEY-----` from `openssl genpkey -algorithm ed25519`): {e}"
            ))
        })?;
        Self::from_signing_key(&signing)
    }

    fn from_signing_key(signing: &SigningKey) -> Result<Self, KeyError> {
        let der = signing
            .to_pkcs8_der()
            .map_err(|e| KeyError(format!("cannot encode the key: {e}")))?;
        Ok(Self {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            public: PublicKey::from_bytes(signing.verifying_key().to_bytes()),
        })
    }

    /// The key from its 32-byte seed (RFC 8032's private key).
    #[cfg(test)]
    pub(crate) fn from_seed(seed: &[u8; 32]) -> Self {
        Self::from_signing_key(&SigningKey::from_bytes(seed)).expect("a seed always encodes")
    }

    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    pub(crate) fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ed25519PrivateKey({})", self.public.kid)
    }
}

/// The bare JWK (`kty`, `crv`, `x`) of a public key.
fn jwk_of(bytes: &[u8; 32]) -> Jwk {
    let x = Jwk::from_decoding_key(&DecodingKey::from_ed_der(bytes), Some(Algorithm::EdDSA))
        .ok()
        .and_then(|jwk| match jwk.algorithm {
            AlgorithmParameters::OctetKeyPair(p) => Some(p.x),
            _ => None,
        })
        .expect("32 bytes are an Ed25519 JWK");
    Jwk {
        common: CommonParameters::default(),
        algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
            key_type: OctetKeyPairType::OctetKeyPair,
            curve: EllipticCurve::Ed25519,
            x,
        }),
    }
}

fn thumbprint(jwk: &Jwk) -> String {
    jwk.thumbprint(ThumbprintHash::SHA256)
        .expect("an Ed25519 JWK has a thumbprint")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8037, appendix A.1: the example key (`d` is the seed).
    const RFC8037_D: [u8; 32] = [
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c,
        0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae,
        0x7f, 0x60,
    ];

    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint() {
        // RFC 8037, A.2 (the public key) and A.3 (its thumbprint).
        let key = PrivateKey::from_seed(&RFC8037_D);
        let jwk = serde_json::to_value(key.public().jwk()).expect("json");
        assert_eq!(jwk["x"], "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        assert_eq!(
            key.public().kid(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
        assert_eq!(
            jwk,
            serde_json::json!({
                "kty": "OKP", "crv": "Ed25519",
                "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                "kid": "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
                "alg": "EdDSA", "use": "sig"
            })
        );
    }

    /// RFC 8037's key as `openssl pkey` writes it (from the DER of its seed),
    /// and its public part as `openssl pkey -pubout` writes it.
    const RFC8037_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g
-----END PRIVATE KEY-----
";
    const RFC8037_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
-----END PUBLIC KEY-----
";
    const RFC8037_KID: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

    #[test]
    fn openssl_pem_files_read_as_the_rfc_key() {
        let private = PrivateKey::from_pem(RFC8037_PEM).expect("private PEM");
        assert_eq!(private.public().kid(), RFC8037_KID);
        let public = PublicKey::from_pem(RFC8037_PUBLIC_PEM).expect("public PEM");
        assert_eq!(&public, private.public());
        // A private key given where a public one is expected: its public part.
        assert_eq!(
            &PublicKey::from_pem(RFC8037_PEM).expect("private as public"),
            &public
        );
        // Surrounding blank lines (an editor's) do not matter.
        PrivateKey::from_pem(&format!("\n{RFC8037_PEM}\n\n")).expect("blank lines");
        // Debug shows the kid, never the key.
        let shown = format!("{private:?} {public:?}");
        assert!(shown.contains(RFC8037_KID), "{shown}");
        assert!(!shown.contains("MC4CAQAw"), "{shown}");
    }

    /// RFC 8037, A.4: Ed25519 is deterministic, so the key read from the PEM
    /// signs the RFC's message into the RFC's signature.
    #[test]
    fn the_key_read_from_pem_signs_the_rfc_8037_example() {
        let key = PrivateKey::from_pem(RFC8037_PEM).expect("PEM");
        let signature = jsonwebtoken::crypto::sign(
            b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc",
            key.encoding_key(),
            Algorithm::EdDSA,
        )
        .expect("sign");
        assert_eq!(
            signature,
            "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
        );
    }

    #[test]
    fn other_keys_and_other_texts_are_refused() {
        // `openssl genpkey -algorithm x25519` and `-algorithm ed448`: PKCS#8
        // PEM too, of other curves.
        let x25519 = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VuBCIEIMhwcmLVfhkA5JOl8za3HuySOLxvffes4f3kKhVaUUlX
-----END PRIVATE KEY-----
";
        let ed448 = "-----BEGIN PRIVATE KEY-----
MEcCAQAwBQYDK2VxBDsEOY83cwNRDFgSWMFF2sGcK1zLaDIqELqoOcvJtzc/IR35
tQVPVRwkSQ/lhudi94vPNdgwifptCuVFYg==
-----END PRIVATE KEY-----
";
        // `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`.
        let p256 = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgwI4/snukm+u3v8Ng
J46HWi7Y/7db8Yl9QMzOuqKv4wOhRANCAARzRjgp4FqSN2Z3Jai7YxvLw9Ow+5ba
ao7UkN3izOecAQXK1LAgAaBQfnFEhPmmTO3knvHwC/d1jnTOuhZM+5iH
-----END PRIVATE KEY-----
";
        for pem in [x25519, ed448, p256, "", "not a key", RFC8037_PUBLIC_PEM] {
            let err = PrivateKey::from_pem(pem).expect_err(pem);
            assert!(
                err.to_string().contains("not an Ed25519 private key"),
                "{err}"
            );
        }
        for pem in [x25519, ed448, p256] {
            assert!(PublicKey::from_pem(pem).is_err(), "{pem}");
        }
        let err = PublicKey::from_pem("garbage").expect_err("garbage");
        assert!(
            err.to_string().contains("not an Ed25519 public key"),
            "{err}"
        );
    }
}
