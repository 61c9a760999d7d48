//! Database access: the pool, the migration runner and the request
//! transaction. Every query a handler runs goes through [`Db`], which opens the
//! transaction, switches role and sets the tenant context first.

pub mod calls;
pub mod citus;
mod json_text;
pub mod migrate;
mod request;

pub use json_text::JsonText;
pub use request::{APP_SETTINGS, Actor, Db, Error, SessionClaims, Statements};

use std::time::Duration;

use anyhow::Context;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};

/// Builds the service's pool (as `vectra_authenticator`). Connections are made
/// lazily, so a database that is down at start makes `/ready` fail, not `serve`.
pub fn pool(database_url: &str, max_size: usize) -> anyhow::Result<Pool> {
    pool_with(database_url, max_size, None)
}

/// The service's pool, its statements cancelled by the server after
/// `statement_timeout` (the request timeout): a request dropped at its
/// timeout cannot leave a statement running on a connection that the pool,
/// recycling with `Fast`, hands to the next request.
pub fn pool_with(
    database_url: &str,
    max_size: usize,
    statement_timeout: Option<Duration>,
) -> anyhow::Result<Pool> {
    let mut pg: tokio_postgres::Config = database_url.parse().context("DATABASE_URL")?;
    if let Some(t) = statement_timeout {
        let options = format!("-c statement_timeout={}", t.as_millis().max(1));
        pg.options(&options);
    }
    let manager = Manager::from_config(
        pg,
        tokio_postgres::NoTls,
        ManagerConfig {
            // Settings are transaction-local already; the second guard is
            // the request transaction's (`request::Checkout`): nothing a
            // request role can reach creates session state, so a connection
            // is reset (`request::RESET_SESSION`) only after a request that
            // failed, was cancelled or found an earlier request's state.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(5)))
        .create_timeout(Some(Duration::from_secs(5)))
        .recycle_timeout(Some(Duration::from_secs(5)))
        .build()
        .context("building the database pool")
}

/// Opens one connection outside any pool and drives it on the runtime.
pub async fn connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("connecting to {}", crate::config::redact_url(url)))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "database connection ended with an error");
        }
    });
    Ok(client)
}
