//! Password hashing: argon2id with OWASP's minimum parameters (19 MiB, two
//! passes, one lane), on the blocking pool so a login never stalls the async
//! workers, and never more at once than [`Passwords`] has permits: 300
//! concurrent wrong passwords must queue, not allocate 300 × 19 MiB and
//! starve every other tenant's requests of CPU.
//!
//! Each permit owns its 19 MiB of argon2 memory, allocated on first use and
//! reused: the allocator is never asked for (and never keeps) more than
//! permits × 19 MiB, whatever the traffic.

use std::sync::{Arc, LazyLock, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::blocking::Bounded;

/// The parameters new hashes get.
fn owasp_params() -> Params {
    // Constant, valid parameters: `new` cannot fail here.
    Params::new(19 * 1024, 2, 1, Some(Params::DEFAULT_OUTPUT_LEN)).unwrap_or_default()
}

/// Stored hashes asking for more memory than this are refused rather than
/// computed (ours use 19 MiB; anything far above is not ours).
const MAX_VERIFY_BLOCKS: usize = 64 * 1024;

/// argon2's working memory, one per permit.
type Memory = Vec<Block>;

fn hash_with(memory: &mut Memory, password: &[u8]) -> anyhow::Result<String> {
    let params = owasp_params();
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    let salt = Salt::generate();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, salt.as_ref(), &mut out, &mut memory[..])
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)
            .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("argon2 output: {e}"))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `stored` (compared in constant time).
fn verify_with(memory: &mut Memory, password: &[u8], stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        tracing::error!("stored password hash is not a PHC string");
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (
        Params::try_from(&parsed),
        Algorithm::try_from(parsed.algorithm.as_str()),
    ) else {
        tracing::error!("stored password hash has unknown parameters");
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    if params.block_count() > MAX_VERIFY_BLOCKS {
        tracing::error!(
            blocks = params.block_count(),
            "stored password hash asks for too much memory"
        );
        return false;
    }
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    if Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt.as_ref(), &mut out, &mut memory[..])
        .is_err()
    {
        return false;
    }
    // Output's equality is constant-time.
    Output::new(&out).is_ok_and(|computed| computed == expected)
}

/// A hash of a random password, verified against when the email is unknown
/// so that unknown emails and wrong passwords take the same time.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_with(&mut Memory::new(), uuid::Uuid::new_v4().as_bytes()).unwrap_or_default()
});

/// Hashing and verification, at most `concurrency` at a time.
#[derive(Clone)]
pub struct Passwords {
    pool: Bounded,
    /// Working memory of the permits not in use.
    memory: Arc<Mutex<Vec<Memory>>>,
}

impl Passwords {
    pub fn new(concurrency: usize) -> Self {
        Self {
            pool: Bounded::new(concurrency),
            memory: Arc::default(),
        }
    }

    /// Runs `work` on the blocking pool once a permit (and its memory) is free.
    async fn bounded<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let pool = self.memory.clone();
        self.pool
            .run(move || {
                // A permit is held: at most `concurrency` memories are out.
                let mut memory = pool
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .pop()
                    .unwrap_or_default();
                let out = work(&mut memory);
                pool.lock().unwrap_or_else(|e| e.into_inner()).push(memory);
                out
            })
            .await
    }

    /// Hashes a new password (PHC string).
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        self.bounded(move |memory| hash_with(memory, password.as_bytes()))
            .await?
    }

    /// Verifies `password` against `hash`, or against a dummy hash when there
    /// is no account, taking comparable time either way.
    pub async fn verify(&self, password: String, hash: Option<String>) -> anyhow::Result<bool> {
        self.bounded(move |memory| {
            let known = hash.is_some();
            let stored = hash.as_deref().unwrap_or(DUMMY_HASH.as_str());
            let matches = verify_with(memory, password.as_bytes(), stored);
            known && matches
        })
        .await
    }

    /// Permits free right now (for tests and metrics).
    pub fn available(&self) -> usize {
        self.pool.available()
    }
}

/// Forces the dummy hash now, so the first unknown-email login is not slower.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn hashes_verify_and_use_owasp_parameters() {
        let p = Passwords::new(2);
        let h = p.hash("correct horse battery".into()).await.expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(
            p.verify("correct horse battery".into(), Some(h.clone()))
                .await
                .expect("verify")
        );
        assert!(
            !p.verify("wrong horse battery".into(), Some(h))
                .await
                .expect("verify")
        );
        assert!(
            !p.verify("anything at all".into(), None)
                .await
                .expect("verify")
        );
    }

    #[test]
    fn hashes_made_by_the_argon2_crate_still_verify() {
        use argon2::password_hash::PasswordHasher;
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, owasp_params())
            .hash_password(b"correct horse battery")
            .expect("hash")
            .to_string();
        let mut memory = Memory::new();
        assert!(verify_with(&mut memory, b"correct horse battery", &theirs));
        assert!(!verify_with(&mut memory, b"correct horse batterx", &theirs));
        // And ours verify with the crate's verifier.
        use argon2::password_hash::PasswordVerifier;
        let ours = hash_with(&mut memory, b"another one").expect("hash");
        assert!(
            Argon2::default()
                .verify_password(b"another one", ours.as_str())
                .is_ok()
        );
        assert!(!verify_with(&mut memory, b"x", "not a phc string"));
        assert!(!verify_with(
            &mut memory,
            b"x",
            "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_than_the_permits_run_at_once() {
        let p = Passwords::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (p, running, peak) = (p.clone(), running.clone(), peak.clone());
                tokio::spawn(async move {
                    p.bounded(move |_| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("join").expect("work");
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        assert_eq!(p.available(), 2);
        // Two permits, so at most two working memories were ever made.
        assert!(p.memory.lock().expect("lock").len() <= 2);
    }
}
