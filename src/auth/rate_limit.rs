//! Per-key rate limits for the public auth routes (per client IP and per
//! email), answering 429 with `Retry-After`. In memory: each instance of the
//! service counts for itself.

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::http::StatusCode;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::error::{ApiError, Problem};

#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
}

impl RateLimiter {
    /// `per_minute` requests per key per minute, all usable at once.
    pub fn per_minute(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            inner: Arc::new(DefaultKeyedRateLimiter::keyed(Quota::per_minute(n))),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one request against each key; refuses if any is exhausted.
    pub fn check<I>(&self, keys: I) -> Result<(), ApiError>
    where
        I: IntoIterator<Item = String>,
    {
        for key in keys {
            if let Err(not_until) = self.inner.check_key(&key) {
                let wait = not_until.wait_time_from(self.clock.now());
                let mut p = Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many attempts; try again later",
                );
                p.retry_after = Some(wait.as_secs().max(1));
                return Err(p.into());
            }
        }
        Ok(())
    }

    /// Forgets keys whose limits have fully recovered (bounded memory).
    pub fn prune(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_attempt_in_a_minute_is_refused_with_retry_after() {
        let limiter = RateLimiter::per_minute(10);
        for _ in 0..10 {
            limiter.check(["ip:1".to_owned()]).expect("allowed");
        }
        match limiter.check(["ip:1".to_owned()]) {
            Err(ApiError::Problem(p)) => {
                assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
                assert!(p.retry_after.is_some_and(|s| (1..=60).contains(&s)));
            }
            other => panic!("not limited: {other:?}"),
        }
        limiter
            .check(["ip:2".to_owned()])
            .expect("other keys are independent");
    }
}
