//! What every handler shares: one `Arc`, so the per-request clone that axum
//! makes of the state is one reference count, not one per service.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::extract::FromRef;

use crate::auth::JwtKeys;
use crate::auth::password::Passwords;
use crate::auth::rate_limit::Limits;
use crate::blocking::Bounded;
use crate::config::Config;
use crate::db::Db;
use crate::email::{LocalMailbox, Templates};
use crate::metrics::Metrics;

/// The state of the router: cheap to clone, shared by every handler.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

/// The services behind [`AppState`].
pub struct Services {
    pub db: Db,
    pub config: Config,
    pub jwt: JwtKeys,
    /// Abuse limits: this instance's memory, then the deployment's count.
    pub limits: Limits,
    pub passwords: Passwords,
    /// CPU-heavy work on client input (sanitizing HTML, reading an import),
    /// off the async workers and a few at a time.
    pub heavy: Bounded,
    pub metrics: Metrics,
    /// Emails (the worker's) and the few pages the service shows.
    pub templates: Arc<Templates>,
    /// Set once shutdown began: `/ready` answers 503 while in-flight
    /// requests finish (see `app::Application::run_until`).
    pub draining: Arc<AtomicBool>,
    /// `vectra dev` only (always `None` for `vectra serve`): the pages the
    /// emails link to, and without `SMTP_URL` the local mailbox.
    pub dev: Option<DevMode>,
}

/// What `vectra dev` adds to the service.
#[derive(Clone, Default)]
pub struct DevMode {
    /// Emails are kept here instead of sent, and shown at `/dev/mailbox`.
    pub mailbox: Option<Arc<LocalMailbox>>,
}

impl AppState {
    pub fn new(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

impl FromRef<AppState> for JwtKeys {
    fn from_ref(state: &AppState) -> Self {
        state.jwt.clone()
    }
}
