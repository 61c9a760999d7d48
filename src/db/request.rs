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
use tokio_postgres::types::{FromSqlOwned, ToSql, Type};
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

/// The values of the context statement ([`Actor::context_sql`]) for
/// `actor`, with their SQL types.
fn context_params(actor: &Actor) -> Vec<(&(dyn ToSql + Sync), Type)> {
    let role: &'static &'static str = match actor.db_role() {
        "vectra_anon" => &"vectra_anon",
        "vectra_member" => &"vectra_member",
        "vectra_platform_admin" => &"vectra_platform_admin",
        _ => &"vectra_worker",
    };
    let mut params: Vec<(&(dyn ToSql + Sync), Type)> = vec![(role, Type::TEXT)];
    if let Some(c) = actor.claims() {
        params.extend([
            (&c.session_id as &(dyn ToSql + Sync), Type::UUID),
            (&c.user_id, Type::UUID),
            (&c.org_id, Type::UUID),
            (&c.role, Type::TEXT),
        ]);
    }
    params
}

/// How statements reach the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Statements {
    /// Named prepared statements, cached per connection: one parse per
    /// statement and connection, then only binds. The default.
    Prepared,
    /// Unnamed statements with their parameter types given, parsed with
    /// each use, and nothing session-level assumed: what a transaction-mode
    /// pooler (PgBouncer `pool_mode = transaction`) needs, where successive
    /// transactions may run on different server connections
    /// (`DATABASE_PREPARED_STATEMENTS=false`). `statement_timeout` travels
    /// in each transaction (`set local`) instead of the connection's options,
    /// which poolers refuse.
    Unnamed { statement_timeout_ms: Option<u64> },
}

/// The service's handle on the database.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    statements: Statements,
}

impl Db {
    /// Prepared statements ([`Statements::Prepared`]).
    pub fn new(pool: Pool) -> Self {
        Self::with(pool, Statements::Prepared)
    }

    pub fn with(pool: Pool, statements: Statements) -> Self {
        Self { pool, statements }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn statements(&self) -> Statements {
        self.statements
    }

    async fn client(&self) -> Result<Object, Error> {
        Ok(self.pool.get().await?)
    }

    /// One statement in its own request transaction, its parameters typed
    /// by the caller: the service's calls ([`super::calls`]).
    ///
    /// The statements (the session reset and begin, context, the statement,
    /// commit) are pipelined: all are sent before the first answer is read,
    /// so the request costs one round trip once the statements are cached on
    /// the connection (or, unnamed, parsed in the same messages). If the
    /// context or the statement fails, the server turns the pipelined
    /// `commit` into a rollback, and the first error is returned.
    pub async fn query_typed(
        &self,
        actor: &Actor,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, Error> {
        trace(actor, sql, params);
        let client = self.client().await?;
        let pg: &tokio_postgres::Client = &client;
        let context = context_params(actor);
        match self.statements {
            Statements::Prepared => {
                let context_statement = prepare_context(&client, actor).await?;
                let types: Vec<Type> = params.iter().map(|(_, t)| t.clone()).collect();
                let statement = client.prepare_typed_cached(sql, &types).await?;
                let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
                let context_values: Vec<&(dyn ToSql + Sync)> =
                    context.iter().map(|(v, _)| *v).collect();
                // The reset is a message of its own: it commits on its own
                // before `begin` (a failed request cannot roll it back), and
                // if it failed, `begin` would still open the transaction the
                // context runs in.
                let (reset, begun, entered, rows, committed) = tokio::join!(
                    pg.batch_execute(RESET_SESSION),
                    pg.batch_execute("begin"),
                    pg.query(&context_statement, &context_values),
                    pg.query(&statement, &values),
                    pg.batch_execute("commit"),
                );
                begun?;
                entered?;
                let rows = rows?;
                committed?;
                reset?;
                Ok(rows)
            }
            Statements::Unnamed {
                statement_timeout_ms,
            } => {
                let begin = begin_sql(statement_timeout_ms);
                let (begun, entered, rows, committed) = tokio::join!(
                    pg.batch_execute(&begin),
                    pg.query_typed(actor.context_sql(), &context),
                    pg.query_typed(sql, params),
                    pg.batch_execute("commit"),
                );
                begun?;
                entered?;
                let rows = rows?;
                committed?;
                Ok(rows)
            }
        }
    }

    /// One statement in its own request transaction, its parameter types
    /// left to the server: for tools and tests (the service's own
    /// statements are the typed functions of [`super::calls`]).
    pub async fn query(
        &self,
        actor: &Actor,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, Error> {
        match self.statements {
            Statements::Prepared => {
                let client = self.client().await?;
                let statement = client.prepare_cached(sql).await?;
                let typed: Vec<(&(dyn ToSql + Sync), Type)> = params
                    .iter()
                    .zip(statement.params())
                    .map(|(v, t)| (*v, t.clone()))
                    .collect();
                drop(client);
                self.query_typed(actor, sql, &typed).await
            }
            // The types must be learnt inside the transaction that uses the
            // statement: a pooler may run the next one elsewhere.
            Statements::Unnamed {
                statement_timeout_ms,
            } => {
                let mut client = self.client().await?;
                let tx = enter_unnamed(&mut client, actor, statement_timeout_ms).await?;
                let statement = tx.prepare(sql).await?;
                let rows = tx.query(&statement, params).await?;
                tx.commit().await?;
                Ok(rows)
            }
        }
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
        let context = context_params(actor);
        let tx = match self.statements {
            Statements::Prepared => {
                let statement = prepare_context(&client, actor).await?;
                // Here the reset costs its own round trip (this path is rare).
                client
                    .batch_execute(RESET_SESSION)
                    .await
                    .map_err(Error::from)?;
                let tx = client.transaction().await.map_err(Error::from)?;
                let values: Vec<&(dyn ToSql + Sync)> = context.iter().map(|(v, _)| *v).collect();
                tx.query(&statement, &values).await.map_err(Error::from)?;
                tx
            }
            Statements::Unnamed {
                statement_timeout_ms,
            } => enter_unnamed(&mut client, actor, statement_timeout_ms).await?,
        };
        let out = f(&tx).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(out)
    }
}

/// A transaction in `actor`'s context, with unnamed statements only.
async fn enter_unnamed<'c>(
    client: &'c mut Object,
    actor: &Actor,
    statement_timeout_ms: Option<u64>,
) -> Result<Transaction<'c>, Error> {
    let tx = client.transaction().await?;
    if let Some(ms) = statement_timeout_ms {
        tx.batch_execute(&format!("set local statement_timeout = {ms}"))
            .await?;
    }
    tx.query_typed(actor.context_sql(), &context_params(actor))
        .await?;
    Ok(tx)
}

/// The context statement of `actor`, prepared and cached on the connection.
async fn prepare_context(
    client: &Object,
    actor: &Actor,
) -> Result<tokio_postgres::Statement, Error> {
    let types: Vec<Type> = context_params(actor).into_iter().map(|(_, t)| t).collect();
    Ok(client
        .prepare_typed_cached(actor.context_sql(), &types)
        .await?)
}

/// `begin`, with the statement timeout of the transaction when the
/// connection cannot carry it.
fn begin_sql(statement_timeout_ms: Option<u64>) -> String {
    match statement_timeout_ms {
        Some(ms) => format!("begin; set local statement_timeout = {ms}"),
        None => "begin".to_owned(),
    }
}

/// `RUST_LOG=vectra::sql=trace`: every request transaction as sent, which
/// bench/run.sh replays with pgbench (the same SQL, the same values) to
/// measure the database's own ceiling.
fn trace(actor: &Actor, sql: &str, params: &[(&(dyn ToSql + Sync), Type)]) {
    if tracing::enabled!(target: "vectra::sql", tracing::Level::TRACE) {
        let c = actor.claims();
        let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
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
            params = ?values,
            "request transaction"
        );
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
