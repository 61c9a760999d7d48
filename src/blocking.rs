//! CPU-heavy work on client input, kept off the async workers and bounded:
//! at most `permits` jobs run at once on tokio's blocking pool, the others
//! wait their turn. The async workers keep answering every other request
//! (`/health` included) however many heavy requests arrive.
//!
//! Two pools use it: password hashing (`auth::password`, its own permits,
//! each with its argon2 memory) and the parsing of rich client input
//! (sanitizing `body_html`, reading a lead import), which shares one pool
//! (`Services::heavy`).

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct Bounded {
    permits: Arc<Semaphore>,
    size: usize,
}

impl Bounded {
    /// At most `permits` (at least one) jobs at once.
    pub fn new(permits: usize) -> Self {
        let size = permits.max(1);
        Self {
            permits: Arc::new(Semaphore::new(size)),
            size,
        }
    }

    /// Half the machine's cores, at least one: the other half keeps serving.
    pub fn half_the_cores() -> usize {
        std::thread::available_parallelism()
            .map(|n| n.get() / 2)
            .unwrap_or(1)
            .max(1)
    }

    /// Runs `work` on the blocking pool once a permit is free, in the
    /// caller's tracing span.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .context("the blocking pool is closed")?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _guard = span.enter();
            work()
        })
        .await
        .context("a blocking task panicked")
    }

    /// Permits free right now (for tests; `auth::password`'s test runs
    /// twelve jobs on two permits and checks that no more than two ran).
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// Permits in all.
    pub fn size(&self) -> usize {
        self.size
    }
}
