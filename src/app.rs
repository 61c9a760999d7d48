//! Building and running the application: the services behind the state,
//! the listeners, the background tasks and the graceful shutdown. The router
//! itself is assembled in `http`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::JwtKeys;
use crate::auth::password::Passwords;
use crate::auth::rate_limit::Limits;
use crate::blocking::Bounded;
use crate::config::Config;
use crate::db::{Db, Statements};
use crate::email::{Mailer, Outbox, OutboxSettings, Templates};
use crate::http::{self, AppState, DevMode, Services};
use crate::metrics::Metrics;

/// A built application: its listener is bound, so the port is known before
/// it serves (tests bind port 0 and read the real port).
pub struct Application {
    listener: TcpListener,
    router: Router,
    outbox: Outbox,
    limits: Limits,
    metrics: Metrics,
    /// The private `/metrics` listener (`METRICS_BIND_ADDR`), if any.
    metrics_listener: Option<(TcpListener, Router)>,
    /// Shared with the state: set when shutdown begins.
    draining: Arc<AtomicBool>,
    drain_delay: Duration,
    shutdown_timeout: Duration,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with(config, None).await
    }

    /// `dev`: the additions of `vectra dev`; with its mailbox, every email
    /// is kept there instead of sent.
    pub async fn build_with(config: Config, dev: Option<DevMode>) -> anyhow::Result<Self> {
        // The statement timeout rides on the connection's options, or, behind
        // a transaction-mode pooler (which refuses startup options and runs
        // each transaction wherever it likes), in each transaction.
        let (connection_timeout, statements) = if config.database_prepared_statements {
            (Some(config.request_timeout), Statements::Prepared)
        } else {
            let ms = config.request_timeout.as_millis().max(1) as u64;
            (
                None,
                Statements::Unnamed {
                    statement_timeout_ms: Some(ms),
                },
            )
        };
        let pool = crate::db::pool_with(
            &config.database_url,
            config.db_pool_size,
            connection_timeout,
        )?;
        let db = Db::with(pool, statements);
        let mailer = match dev.as_ref().and_then(|d| d.mailbox.clone()) {
            Some(mb) => Mailer::local(mb, &config.email_from)?,
            None => Mailer::new(&config.smtp_url, &config.email_from)?,
        };
        let templates =
            Arc::new(Templates::new(&config.public_base_url).named(&config.instance.platform_name));
        let metrics = Metrics::new();
        let outbox = Outbox::new(
            db.clone(),
            mailer,
            templates.clone(),
            OutboxSettings {
                poll_interval: config.outbox_poll_interval,
                retry_base: config.outbox_retry_base,
                // Half the pool at most, so that requests keep connections.
                concurrency: (config.db_pool_size / 2).clamp(1, 8),
                ..OutboxSettings::default()
            },
            metrics.clone(),
        );
        let listener = TcpListener::bind(config.bind_addr)
            .await
            .with_context(|| format!("BIND_ADDR: cannot listen on {}", config.bind_addr))?;
        let metrics_listener = match config.metrics_bind_addr {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("METRICS_BIND_ADDR: cannot listen on {addr}"))?,
            ),
            None => None,
        };
        crate::auth::password::warm_up();
        let limits = Limits::new(
            config.rate_limit_per_minute,
            config.login_failures_before_backoff,
            config.rate_limit_max_keys,
        );
        let draining = Arc::new(AtomicBool::new(false));
        let (drain_delay, shutdown_timeout) = (config.drain_delay, config.shutdown_timeout);
        let state = AppState::new(Services {
            draining: draining.clone(),
            db,
            jwt: JwtKeys::new(
                &config.jwt,
                config.access_token_ttl,
                config.access_token_cache_size,
            )?,
            limits: limits.clone(),
            passwords: Passwords::new(config.hash_concurrency),
            heavy: Bounded::new(Bounded::half_the_cores()),
            metrics: metrics.clone(),
            templates,
            dev,
            config,
        });
        Ok(Self {
            listener,
            metrics_listener: metrics_listener
                .map(|l| (l, http::prometheus::private_router(state.clone()))),
            router: http::router(state),
            outbox,
            limits,
            metrics,
            draining,
            drain_delay,
            shutdown_timeout,
        })
    }

    /// Every (method, path template) the router serves, read from axum's own
    /// description of it (`Debug`): what `tests/api/openapi.rs` compares with
    /// the OpenAPI document. HEAD is left out (axum answers it for GET).
    pub fn route_table(&self) -> Vec<(String, String)> {
        route_table(&format!("{:?}", self.router))
    }

    /// Wraps the main listener's router: how the tests put a layer around
    /// every response (the check against the OpenAPI document).
    pub fn map_router(mut self, f: impl FnOnce(Router) -> Router) -> Self {
        self.router = f(self.router);
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where the private metrics listener is bound, when configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|(l, _)| l.local_addr().ok())
    }

    /// Serves (and runs the email outbox worker) until `shutdown` completes,
    /// then drains, within a bounded time:
    ///
    /// 1. at once, `/ready` answers 503 and the outbox worker claims nothing
    ///    more (it finishes the round it is in);
    /// 2. for `DRAIN_DELAY` every request is still served, so that a
    ///    balancer polling `/ready` stops sending here first;
    /// 3. the listener closes (new connections are refused, so a proxy tries
    ///    the next instance) and the requests in flight finish, for at most
    ///    `SHUTDOWN_TIMEOUT`; what is still running then is dropped.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop, stopped) = watch::channel(false);
        let worker = tokio::spawn(self.outbox.run(stopped.clone()));
        let (limits, metrics) = (self.limits, self.metrics);
        let mut prune_stop = stopped.clone();
        let pruner = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            let mut ticks = 0u32;
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        // Recorded latencies are folded into the summaries
                        // every 5 s, so memory stays flat between scrapes.
                        metrics.upkeep();
                        ticks = ticks.wrapping_add(1);
                        if ticks.is_multiple_of(12) {
                            limits.prune();
                        }
                    }
                    _ = prune_stop.changed() => break,
                }
            }
        });
        let metrics_server = self.metrics_listener.map(|(listener, router)| {
            let mut stop = stopped.clone();
            tokio::spawn(async move {
                let served = axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stop.changed().await;
                    })
                    .await;
                if let Err(e) = served {
                    tracing::error!(error = %e, "metrics listener failed");
                }
            })
        });
        let (draining, drain_delay) = (self.draining, self.drain_delay);
        let stop = Arc::new(stop);
        let stop_on_signal = stop.clone();
        let drained = async move {
            shutdown.await;
            draining.store(true, Ordering::Relaxed);
            let _ = stop_on_signal.send(true);
            if !drain_delay.is_zero() {
                tracing::info!(?drain_delay, "draining: /ready answers 503; still serving");
                tokio::time::sleep(drain_delay).await;
            }
            tracing::info!("listener closed; finishing in-flight requests");
        };
        let served = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(drained);
        let mut began = stopped.clone();
        let bound = drain_delay + self.shutdown_timeout;
        let deadline = async move {
            let _ = began.changed().await;
            tokio::time::sleep(bound).await;
        };
        let served = tokio::select! {
            served = served => served,
            () = deadline => {
                tracing::warn!(timeout = ?self.shutdown_timeout, "requests still in flight at SHUTDOWN_TIMEOUT; stopping anyway");
                Ok(())
            }
        };
        // Also when serving ended on its own (an I/O error).
        let _ = stop.send(true);
        let _ = tokio::time::timeout(self.shutdown_timeout, worker).await;
        let _ = pruner.await;
        if let Some(m) = metrics_server {
            let _ = m.await;
        }
        served
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

/// Parses axum's `Debug` of a router: `RouteId(n): MethodRouter(… allow_header:
/// Bytes(b"GET,HEAD,POST") …)` for the methods, `paths: {RouteId(n): "/a/{id}"}`
/// for the templates, in the main path router (the fallback router follows).
fn route_table(debug: &str) -> Vec<(String, String)> {
    let main = debug.split("fallback_router").next().unwrap_or(debug);
    let mut methods = std::collections::HashMap::new();
    for part in main.split("RouteId(").skip(1) {
        let Some((id, rest)) = part.split_once(')') else {
            continue;
        };
        if let Some(allow) = rest
            .strip_prefix(": MethodRouter(")
            .and_then(|r| r.split("allow_header: Bytes(b\"").nth(1))
            .and_then(|r| r.split('"').next())
        {
            methods.insert(id.to_owned(), allow.to_owned());
        }
    }
    let mut table = Vec::new();
    for part in main.split("RouteId(").skip(1) {
        let Some((id, rest)) = part.split_once(')') else {
            continue;
        };
        let Some(path) = rest.strip_prefix(": \"").and_then(|r| r.split('"').next()) else {
            continue;
        };
        let allow = methods.get(id).map(String::as_str).unwrap_or("ANY");
        for method in allow.split(',').filter(|m| *m != "HEAD") {
            table.push((method.to_owned(), path.to_owned()));
        }
    }
    table.sort();
    table
}
