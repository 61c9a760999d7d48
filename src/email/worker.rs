//! The outbox worker: claims due rows as `vectra_worker` with
//! `FOR UPDATE SKIP LOCKED` (several instances never send one row twice),
//! renders and sends each, then marks it sent, or reschedules it with
//! exponential backoff, or marks it failed with `last_error` after its last
//! attempt. An SMTP outage delays mail; it never drops it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;
use uuid::Uuid;

use super::mailer::SendError;
use super::{Mailer, Rendered, Templates};
use crate::blocking::Bounded;
use crate::db::{self, Actor, Db, calls};
use crate::metrics::Metrics;

#[derive(Debug, Clone)]
pub struct OutboxSettings {
    /// How often to look for due rows when idle.
    pub poll_interval: Duration,
    /// First retry delay; doubles with each attempt, capped at one hour.
    pub retry_base: Duration,
    /// Rows claimed per round.
    pub batch_size: i32,
    /// Emails of a round sent at once (each holds an SMTP connection of
    /// lettre's pool and, to record the outcome, a database connection).
    pub concurrency: usize,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            retry_base: Duration::from_secs(5),
            batch_size: 20,
            concurrency: 4,
        }
    }
}

/// A row left in `sending` this long (its worker died) is claimed again.
const STALE_CLAIM: &str = "5 minutes";
/// How often the worker removes accounts never verified in time
/// (`auth.expire_unverified_accounts`), and how many at most each time.
const ACCOUNT_SWEEP_EVERY: Duration = Duration::from_secs(3600);
const ACCOUNT_SWEEP_LIMIT: i32 = 1000;
/// How often the worker forgets abuse-limit keys that recovered
/// (`auth.prune_limits`).
const LIMITS_PRUNE_EVERY: Duration = Duration::from_secs(60);
/// How often the worker asks for the platform overview's snapshot to be
/// recomputed (`auth.refresh_overview`), and the age at which it is: each
/// instance asks, the first whose snapshot is old enough computes it, the
/// others find it fresh (or being computed) and go on.
const OVERVIEW_EVERY: Duration = Duration::from_secs(15);
const OVERVIEW_MAX_AGE: &str = "60 seconds";
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

// The worker holds no privilege on email_outbox: the three functions of
// `db::calls` (`auth.outbox_claim`, `auth.outbox_mark_sent`,
// `auth.outbox_mark_failed`) are all it may call, and only rows it claimed
// can be marked.

struct Claimed {
    organization_id: Uuid,
    id: Uuid,
    to: String,
    template: String,
    context: serde_json::Value,
    attempts: i32,
    max_attempts: i32,
}

#[derive(Clone)]
pub struct Outbox {
    db: Db,
    mailer: Mailer,
    templates: Arc<Templates>,
    settings: OutboxSettings,
    metrics: Metrics,
    /// Rendering (which sanitizes a sender's HTML) runs here, off the async
    /// workers, one email at a time.
    render: Bounded,
}

impl Outbox {
    pub fn new(
        db: Db,
        mailer: Mailer,
        templates: Arc<Templates>,
        settings: OutboxSettings,
        metrics: Metrics,
    ) -> Self {
        Self {
            db,
            mailer,
            templates,
            settings,
            metrics,
            render: Bounded::new(1),
        }
    }

    /// Delivers until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!("email outbox worker started");
        let mut last_sweep: Option<std::time::Instant> = None;
        let mut last_prune: Option<std::time::Instant> = None;
        let mut last_overview: Option<std::time::Instant> = None;
        loop {
            if last_overview.is_none_or(|at| at.elapsed() >= OVERVIEW_EVERY) {
                last_overview = Some(std::time::Instant::now());
                if let Err(e) =
                    calls::refresh_overview(&self.db, &Actor::Worker, OVERVIEW_MAX_AGE).await
                {
                    tracing::warn!(error = %e, "refreshing the platform overview failed");
                }
            }
            if last_sweep.is_none_or(|at| at.elapsed() >= ACCOUNT_SWEEP_EVERY) {
                last_sweep = Some(std::time::Instant::now());
                self.expire_unverified_accounts().await;
            }
            if last_prune.is_none_or(|at| at.elapsed() >= LIMITS_PRUNE_EVERY) {
                last_prune = Some(std::time::Instant::now());
                if let Err(e) = calls::prune_limits(&self.db, &Actor::Worker).await {
                    tracing::warn!(error = %e, "pruning the abuse limits failed");
                }
            }
            let busy = match self.deliver_due().await {
                Ok(n) => n >= self.settings.batch_size as usize,
                Err(e) => {
                    tracing::warn!(error = %e, "email outbox round failed");
                    false
                }
            };
            if busy {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
        }
        tracing::info!("email outbox worker stopped");
    }

    /// Removes the accounts whose email was not verified in time (with their
    /// organization when nobody else is in it). A failure waits for the next
    /// sweep.
    pub async fn expire_unverified_accounts(&self) {
        match calls::expire_unverified_accounts(&self.db, &Actor::Worker, ACCOUNT_SWEEP_LIMIT).await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "unverified accounts expired"),
            Err(e) => tracing::warn!(error = %e, "expiring unverified accounts failed"),
        }
    }

    /// One round: claims due rows and handles each. Returns how many.
    pub async fn deliver_due(&self) -> Result<usize, db::Error> {
        let calls::Rows(rows) = calls::outbox_claim(
            &self.db,
            &Actor::Worker,
            self.settings.batch_size,
            STALE_CLAIM,
        )
        .await?;
        let claimed: Vec<Claimed> = rows
            .iter()
            .map(|r| Claimed {
                id: r.get(0),
                to: r.get(1),
                template: r.get(2),
                context: r.get(3),
                attempts: r.get(4),
                max_attempts: r.get(5),
                organization_id: r.get(6),
            })
            .collect();
        // One row's bookkeeping failing must not strand the rest of the
        // batch in `sending`; a row left there is reclaimed later.
        futures_util::stream::iter(&claimed)
            .for_each_concurrent(self.settings.concurrency.max(1), |row| async move {
                if let Err(e) = self.deliver(row).await {
                    tracing::error!(id = %row.id, error = %e, "recording an email delivery failed");
                }
            })
            .await;
        Ok(claimed.len())
    }

    async fn deliver(&self, row: &Claimed) -> Result<(), db::Error> {
        // A row reclaimed after its worker died may have used its last attempt.
        let (outcome, smtp) = if row.attempts > row.max_attempts {
            let e = SendError::Permanent("gave up: the last attempt was interrupted".to_owned());
            (Err(e), None)
        } else {
            let started = std::time::Instant::now();
            let outcome = self.attempt(row).await;
            (outcome, Some(started.elapsed()))
        };
        self.record(row, outcome, smtp).await
    }

    async fn attempt(&self, row: &Claimed) -> Result<String, SendError> {
        match self.rendered(row).await {
            Ok(rendered) => self
                .mailer
                .send(&row.to, &rendered)
                .await
                .map(|()| rendered.subject),
            Err(e) => Err(SendError::Permanent(format!(
                "rendering {}: {e:#}",
                row.template
            ))),
        }
    }

    async fn record(
        &self,
        row: &Claimed,
        outcome: Result<String, SendError>,
        smtp: Option<Duration>,
    ) -> Result<(), db::Error> {
        match outcome {
            Ok(subject) => {
                self.metrics.record_delivery("sent", smtp);
                tracing::info!(id = %row.id, template = %row.template, "email sent");
                calls::outbox_mark_sent(
                    &self.db,
                    &Actor::Worker,
                    row.organization_id,
                    row.id,
                    &subject,
                )
                .await?;
            }
            Err(e) => {
                let permanent = matches!(e, SendError::Permanent(_));
                let delay = backoff(self.settings.retry_base, row.attempts);
                let last = permanent || row.attempts >= row.max_attempts;
                self.metrics
                    .record_delivery(if last { "failed" } else { "retry" }, smtp);
                if last {
                    tracing::error!(id = %row.id, template = %row.template, attempts = row.attempts, error = %e, "email failed for good");
                } else {
                    tracing::warn!(id = %row.id, template = %row.template, attempts = row.attempts, retry_in = ?delay, error = %e, "email delivery failed; will retry");
                }
                calls::outbox_mark_failed(
                    &self.db,
                    &Actor::Worker,
                    row.organization_id,
                    row.id,
                    delay.as_secs_f64(),
                    &e.to_string(),
                    permanent,
                )
                .await?;
            }
        }
        Ok(())
    }
}

impl Outbox {
    async fn rendered(&self, row: &Claimed) -> anyhow::Result<Rendered> {
        let (templates, template, context) = (
            self.templates.clone(),
            row.template.clone(),
            row.context.clone(),
        );
        let rendered = self
            .render
            .run(move || templates.render(&template, &context))
            .await??;
        Ok(rendered)
    }
}

/// `base * 2^(attempt-1)`, capped at an hour.
pub fn backoff(base: Duration, attempt: i32) -> Duration {
    let exponent = attempt.saturating_sub(1).clamp(0, 20) as u32;
    base.saturating_mul(2u32.saturating_pow(exponent))
        .min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let base = Duration::from_secs(5);
        assert_eq!(backoff(base, 1), Duration::from_secs(5));
        assert_eq!(backoff(base, 2), Duration::from_secs(10));
        assert_eq!(backoff(base, 4), Duration::from_secs(40));
        assert_eq!(backoff(base, 30), MAX_BACKOFF);
    }
}
