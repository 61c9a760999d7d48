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
    /// caller's tracing span. The permit goes with the work, not with the
    /// caller: a request cancelled (its client gone, its timeout reached)
    /// while the work runs does not free a place for more until the work
    /// itself is done.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .context("the blocking pool is closed")?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _guard = span.enter();
            let out = work();
            drop(permit);
            out
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// A caller that gives up (a client gone, a timeout) does not free a
    /// place while its work still runs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_caller_keeps_its_permit_until_the_work_ends() {
        let pool = Bounded::new(1);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let job = |running: Arc<AtomicUsize>, peak: Arc<AtomicUsize>| {
            move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(200));
                running.fetch_sub(1, Ordering::SeqCst);
            }
        };
        for _ in 0..3 {
            // Each caller gives up after 20 ms; its work goes on.
            let _ = tokio::time::timeout(
                Duration::from_millis(20),
                pool.run(job(running.clone(), peak.clone())),
            )
            .await;
        }
        pool.run(job(running.clone(), peak.clone()))
            .await
            .expect("work");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            peak.load(Ordering::SeqCst),
            1,
            "more work ran at once than permits"
        );
        assert_eq!(pool.available(), 1);
    }
}
