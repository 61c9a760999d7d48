//! The request transaction (docs/security.md, "The request transaction").
//!
//! ```sql
//! begin;
//! select set_config('role', $1, true), auth.begin_request($2, $3, $4, $5);
//! -- the handler's SQL function(s)
//! commit;   -- any error: rollback
//! ```
//!
//! Values always travel as bind parameters. The settings and the role are
//! transaction-local, so a pooled connection carries nothing into the next
//! request; the pool's `Clean` recycling is a second guard.

use deadpool_postgres::{Object, Pool, Transaction};
use futures_util::future::BoxFuture;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSqlOwned, ToSql};
use uuid::Uuid;

/// What can go wrong with a request transaction. The HTTP layer maps it to
/// problem+json (`error.rs`): the SQLSTATEs of class `VA` and a few standard
/// ones are the client's; the rest is a 500 or a 503.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Postgres(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The statement ran but its result is not what the caller expected.
    #[error("{sql}: {reason}")]
    Result { sql: String, reason: String },
}

/// Who a transaction runs for; decides the database role and settings.
#[derive(Debug, Clone)]
pub enum Actor {
    /// No token: `vectra_anon`, no settings.
    Anonymous,
    /// An organization user: `vectra_member` with the org's settings.
    Member(SessionClaims),
    /// The platform admin: `vectra_platform_admin`.
    PlatformAdmin(SessionClaims),
    /// Any signed-in user on a route that needs no table access of its own
    /// (its SQL functions key on `app.user_id`): `vectra_anon` with settings.
    Authenticated(SessionClaims),
    /// The outbox worker: `vectra_worker`, no settings.
    Worker,
}

/// The claims of a verified access token that the database re-checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionClaims {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub org_id: Option<Uuid>,
    pub role: String,
}

const SET_ROLE: &str = "select set_config('role', $1, true)";

/// What deadpool's `RecyclingMethod::Clean` runs at each checkout, sent
/// here just before the transaction's `begin`, inside the same pipeline: the
/// second guard (after transaction-local settings) that nothing of an earlier
/// request's session survives, without a round trip of its own.
macro_rules! reset_session {
    () => {
        "close all; set session authorization default; reset all; unlisten *; \
         select pg_catalog.pg_advisory_unlock_all(); discard temp; discard sequences"
    };
}
pub const RESET_SESSION: &str = reset_session!();
const SET_ROLE_AND_BEGIN: &str =
    "select set_config('role', $1, true), auth.begin_request($2, $3, $4, $5)";

impl Actor {
    pub fn db_role(&self) -> &'static str {
        match self {
            Actor::Anonymous | Actor::Authenticated(_) => "vectra_anon",
            Actor::Member(_) => "vectra_member",
            Actor::PlatformAdmin(_) => "vectra_platform_admin",
            Actor::Worker => "vectra_worker",
        }
    }

    pub fn claims(&self) -> Option<&SessionClaims> {
        match self {
            Actor::Member(c) | Actor::PlatformAdmin(c) | Actor::Authenticated(c) => Some(c),
            Actor::Anonymous | Actor::Worker => None,
        }
    }

    fn context_sql(&self) -> &'static str {
        if self.claims().is_some() {
            SET_ROLE_AND_BEGIN
        } else {
            SET_ROLE
        }
    }
}

/// Runs the context statement for `actor` with `statement` prepared from
/// [`Actor::context_sql`].
async fn enter<C: tokio_postgres::GenericClient>(
    client: &C,
    statement: &tokio_postgres::Statement,
    actor: &Actor,
) -> Result<(), tokio_postgres::Error> {
    let role = actor.db_role();
    match actor.claims() {
        Some(c) => {
            client
                .query(
                    statement,
                    &[&role, &c.session_id, &c.user_id, &c.org_id, &c.role],
                )
                .await?
        }
        None => client.query(statement, &[&role]).await?,
    };
    Ok(())
}

/// The service's handle on the database.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
}

impl Db {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    async fn client(&self) -> Result<Object, Error> {
        Ok(self.pool.get().await?)
    }

    /// One statement in its own request transaction; its rows.
    ///
    /// The four statements (the session reset and begin, context, the statement, commit) are
    /// pipelined: all are sent before the first answer is read, so the
    /// request costs one round trip once the statements are cached on the
    /// connection. If the context or the statement fails, the server turns
    /// the pipelined `commit` into a rollback, and the first error is returned.
    pub async fn query(
        &self,
        actor: &Actor,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, Error> {
        // `RUST_LOG=vectra::sql=trace`: every request transaction as sent,
        // which bench/run.sh replays with pgbench (the same SQL, the same
        // values) to measure the database's own ceiling.
        if tracing::enabled!(target: "vectra::sql", tracing::Level::TRACE) {
            let c = actor.claims();
            tracing::trace!(
                target: "vectra::sql",
                context = actor.context_sql(),
                context_params = ?(
                    actor.db_role(),
                    c.map(|c| c.session_id),
                    c.map(|c| c.user_id),
                    c.and_then(|c| c.org_id),
                    c.map(|c| c.role.as_str()),
                ),
                statement = sql,
                params = ?params,
                "request transaction"
            );
        }
        let client = self.client().await?;
        let context = client.prepare_cached(actor.context_sql()).await?;
        let statement = client.prepare_cached(sql).await?;
        let pg: &tokio_postgres::Client = &client;
        // The reset is a message of its own: it commits on its own before
        // `begin` (a failed request cannot roll it back), and if it failed,
        // `begin` would still open the transaction the context runs in.
        let (reset, begun, entered, rows, committed) = tokio::join!(
            pg.batch_execute(RESET_SESSION),
            pg.batch_execute("begin"),
            enter(pg, &context, actor),
            pg.query(&statement, params),
            pg.batch_execute("commit"),
        );
        begun?;
        entered?;
        let rows = rows?;
        committed?;
        reset?;
        Ok(rows)
    }

    /// One statement returning one value, in its own request transaction
    /// (see [`Db::query`]). The service's own statements are the typed
    /// functions of [`super::calls`]; this is for tools and tests.
    pub async fn call<T: FromSqlOwned>(
        &self,
        actor: &Actor,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<T, Error> {
        first_value(sql, &self.query(actor, sql, params).await?)
    }

    /// A request transaction for several statements. The closure gets the
    /// open transaction after the context statement succeeded; an `Err` (or
    /// a panic, or the request being dropped) rolls back.
    pub async fn transaction<T, E, F>(&self, actor: &Actor, f: F) -> Result<T, E>
    where
        E: From<Error>,
        F: for<'t> FnOnce(&'t Transaction<'t>) -> BoxFuture<'t, Result<T, E>>,
    {
        let mut client = self.client().await?;
        let context = client
            .prepare_cached(actor.context_sql())
            .await
            .map_err(Error::from)?;
        // Here the reset costs its own round trip (this path is rare).
        client
            .batch_execute(RESET_SESSION)
            .await
            .map_err(Error::from)?;
        let tx = client.transaction().await.map_err(Error::from)?;
        enter(&*tx, &context, actor).await.map_err(Error::from)?;
        let out = f(&tx).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(out)
    }
}

/// The first column of the first row: a SQL function's result.
pub(super) fn first_value<T: FromSqlOwned>(sql: &str, rows: &[Row]) -> Result<T, Error> {
    let row = rows.first().ok_or_else(|| Error::Result {
        sql: sql.to_owned(),
        reason: "returned no row".to_owned(),
    })?;
    Ok(row.try_get(0)?)
}
