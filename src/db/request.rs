//! The request transaction (docs/security.md, "The request transaction").
//!
//! ```sql
//! begin;
//! select set_config('role', $1, true), auth.begin_request($2, $3, $4, $5);
//! -- the handler's SQL function(s)
//! commit;   -- any error: rollback
//! ```
//!
//! A request of one statement (every call of [`super::calls`]) sends all
//! four as one pipeline ended by a single Sync, which the server answers in
//! one flush ([`Db::query_typed`]); [`Db::transaction`] sends them in turn
//! around the statements a closure runs.
//!
//! Values always travel as bind parameters. The settings and the role are
//! transaction-local, so a pooled connection carries nothing into the next
//! request. The second guard (docs/security.md, "Nothing outlives the
//! transaction") costs no statement of its own: nothing a request role can
//! reach creates session state (`sql/tests/15_no_session_state.sql`), every
//! context statement sets each `app.*` setting for its transaction and
//! reports state an earlier request left ([`LEAK_CHECK`]), and a connection
//! is reset fully only after a request that failed, was cancelled or found
//! such state ([`Checkout`]).

use std::ops::{Deref, DerefMut};

use deadpool_postgres::{Object, Pool, Transaction};
use futures_util::future::BoxFuture;
use tokio_postgres::types::{FromSqlOwned, ToSql, Type};
use tokio_postgres::{Pipelined, Row};
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

/// The tenant context: every `app.*` setting the database reads (policies,
/// helpers, functions). `auth.begin_request` sets each for its transaction;
/// the context statement without claims sets each to `''` (unset), so a
/// value an earlier request set for the whole session is overwritten inside
/// every transaction. `tests/api/pool.rs` checks the list against the
/// catalog, `15_no_session_state.sql` against `auth.begin_request`.
pub const APP_SETTINGS: [&str; 4] = ["app.session_id", "app.user_id", "app.org_id", "app.role"];

/// The first column of every context statement, evaluated before the role
/// switch: true when the session carries state of an earlier request that
/// matters: an `app.*` setting set for the session, a role switched for the
/// session, a cursor held past its transaction. Such a connection is reset
/// after the request ([`Checkout`]); the request itself is safe, its role and
/// settings being set for its transaction.
macro_rules! leak_check {
    () => {
        "concat(current_setting('app.session_id', true), current_setting('app.user_id', true), \
         current_setting('app.org_id', true), current_setting('app.role', true)) <> '' \
         or current_user <> session_user or exists (select from pg_catalog.pg_cursors where is_holdable)"
    };
}
pub const LEAK_CHECK: &str = leak_check!();

/// The context statement of an actor without claims.
const SET_ROLE: &str = concat!(
    "select ",
    leak_check!(),
    ", set_config('role', $1, true), set_config('app.session_id', '', true), \
     set_config('app.user_id', '', true), set_config('app.org_id', '', true), \
     set_config('app.role', '', true)"
);

/// The context statement of an actor with claims.
const SET_ROLE_AND_BEGIN: &str = concat!(
    "select ",
    leak_check!(),
    ", set_config('role', $1, true), auth.begin_request($2, $3, $4, $5)"
);

/// The full session reset (deadpool's `RecyclingMethod::Clean`), sent only
/// to a connection whose request failed, was cancelled or found an earlier
/// request's state, before the pool hands it out again. It keeps prepared
/// statements (the connection's statement cache): the last statement counts
/// those a SQL `PREPARE` made, and a connection with any is closed instead.
pub const RESET_SESSION: &str = "close all; set session authorization default; reset all; unlisten *; \
     select pg_catalog.pg_advisory_unlock_all(); discard temp; discard sequences; \
     select count(*) from pg_catalog.pg_prepared_statements where from_sql";

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

    /// A connection for one request transaction (see [`Checkout`]).
    async fn checkout(&self) -> Result<Checkout, Error> {
        Ok(Checkout {
            object: Some(self.pool.get().await?),
            statements: self.statements,
            after: After::Reset,
            pipeline_open: false,
        })
    }

    /// One statement in its own request transaction, its parameters typed
    /// by the caller: the service's calls ([`super::calls`]).
    ///
    /// `begin`, the context statement, the statement and `commit` travel as
    /// one pipeline ended by a single Sync (`Client::query_pipeline`,
    /// vendor/tokio-postgres): one write, one round trip, and one flush of
    /// the server's answers. At the first error the server skips the rest up
    /// to the Sync, leaving the transaction failed; the connection's reset
    /// rolls it back before the connection serves anything else, and the
    /// error is returned.
    pub async fn query_typed(
        &self,
        actor: &Actor,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, Error> {
        trace(actor, sql, params);
        let mut conn = self.checkout().await?;
        let context = context_params(actor);
        conn.pipeline_open = true;
        let pg: &tokio_postgres::Client = &conn;
        let result = match self.statements {
            Statements::Prepared => {
                let begin = conn.prepare_cached("begin").await?;
                let context_statement = prepare_context(&conn, actor).await?;
                let types: Vec<Type> = params.iter().map(|(_, t)| t.clone()).collect();
                let statement = conn.prepare_typed_cached(sql, &types).await?;
                let commit = conn.prepare_cached("commit").await?;
                let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
                let context_values: Vec<&(dyn ToSql + Sync)> =
                    context.iter().map(|(v, _)| *v).collect();
                pg.query_pipeline(&[
                    Pipelined::Prepared(&begin, &[]),
                    Pipelined::Prepared(&context_statement, &context_values),
                    Pipelined::Prepared(&statement, &values),
                    Pipelined::Prepared(&commit, &[]),
                ])
                .await
            }
            Statements::Unnamed {
                statement_timeout_ms,
            } => {
                let timeout = statement_timeout_ms.map(|ms| ms.to_string());
                let timeout_param: [(&(dyn ToSql + Sync), Type); 1];
                let mut statements = vec![Pipelined::Typed("begin", &[])];
                if let Some(ms) = &timeout {
                    timeout_param = [(ms, Type::TEXT)];
                    statements.push(Pipelined::Typed(SET_STATEMENT_TIMEOUT, &timeout_param));
                }
                statements.extend([
                    Pipelined::Typed(actor.context_sql(), &context),
                    Pipelined::Typed(sql, params),
                    Pipelined::Typed("commit", &[]),
                ]);
                pg.query_pipeline(&statements).await
            }
        };
        // A failed pipeline leaves its transaction failed (the server skipped
        // its `commit`): the connection's reset rolls it back first, before
        // the pool hands the connection out again ([`Checkout`]).
        conn.pipeline_open = result.is_err();
        let (rows, leaked) = conn.failed_on(finish(result))?;
        conn.done(leaked);
        Ok(rows)
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
                let mut conn = self.checkout().await?;
                let statement = conn.failed_on(conn.prepare_cached(sql).await)?;
                let typed: Vec<(&(dyn ToSql + Sync), Type)> = params
                    .iter()
                    .zip(statement.params())
                    .map(|(v, t)| (*v, t.clone()))
                    .collect();
                conn.done(false);
                drop(conn);
                self.query_typed(actor, sql, &typed).await
            }
            // The types must be learnt inside the transaction that uses the
            // statement: a pooler may run the next one elsewhere.
            Statements::Unnamed {
                statement_timeout_ms,
            } => {
                let mut conn = self.checkout().await?;
                let result = async {
                    let (tx, leaked) =
                        enter_unnamed(&mut conn, actor, statement_timeout_ms).await?;
                    let statement = tx.prepare(sql).await?;
                    let rows = tx.query(&statement, params).await?;
                    tx.commit().await?;
                    Ok::<_, Error>((rows, leaked))
                }
                .await;
                let (rows, leaked) = conn.failed_on(result)?;
                conn.done(leaked);
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
    /// a panic, or the request being dropped) rolls back, and the connection
    /// is reset before it serves another request.
    pub async fn transaction<T, E, F>(&self, actor: &Actor, f: F) -> Result<T, E>
    where
        E: From<Error>,
        F: for<'t> FnOnce(&'t Transaction<'t>) -> BoxFuture<'t, Result<T, E>>,
    {
        let mut conn = self.checkout().await?;
        let context = context_params(actor);
        let (tx, leaked) = match self.statements {
            Statements::Prepared => {
                let statement = prepare_context(&conn, actor).await?;
                let tx = conn.transaction().await.map_err(Error::from)?;
                let values: Vec<&(dyn ToSql + Sync)> = context.iter().map(|(v, _)| *v).collect();
                let rows = tx.query(&statement, &values).await.map_err(Error::from)?;
                let leaked = leak_reported(&rows)?;
                (tx, leaked)
            }
            Statements::Unnamed {
                statement_timeout_ms,
            } => enter_unnamed(&mut conn, actor, statement_timeout_ms).await?,
        };
        let out = f(&tx).await?;
        tx.commit().await.map_err(Error::from)?;
        conn.done(leaked);
        Ok(out)
    }
}

/// What becomes of a [`Checkout`]'s connection when it is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    /// Back to the pool as it is: the request transaction ended and left
    /// nothing behind.
    Keep,
    /// Reset fully ([`RESET_SESSION`]) first: the request failed, was
    /// cancelled (dropped before it finished), or found session state.
    Reset,
    /// Closed: its statement cache no longer matches the server.
    Discard,
}

/// A pooled connection held by one request transaction: the second guard.
/// Nothing the service's statements can reach creates session state
/// (`sql/tests/15_no_session_state.sql`), so a request that ran to its end
/// gives the connection back as it is ([`Checkout::done`]). Any other end
/// (an error, a panic, the future dropped at a timeout or by a client
/// that went away, state of an earlier request reported by the context
/// statement) resets the connection before the pool hands it out again:
/// in a task of its own, which holds it until the reset is done (after any
/// statement still running), and closes it if the reset fails.
///
/// With [`Statements::Unnamed`] nothing is reset (behind a transaction-mode
/// pooler the next transaction may run on another server connection): a
/// connection that reported session state is closed, the others go back.
struct Checkout {
    object: Option<Object>,
    statements: Statements,
    after: After,
    /// A pipeline was sent and either failed or its end was not seen
    /// ([`Db::query_typed`]): the connection may be left inside its
    /// transaction (failed, if a statement failed), which the reset rolls
    /// back first.
    pipeline_open: bool,
}

impl Checkout {
    /// The request transaction ended: the connection goes back to the pool
    /// as it is, unless its context statement reported session state.
    fn done(&mut self, leaked: bool) {
        if leaked {
            tracing::error!(
                target: "vectra::db",
                "a database connection carried session state of an earlier request \
                 (an app.* setting, a role or a cursor set for the session): it is reset"
            );
            if let Statements::Unnamed { .. } = self.statements {
                self.after = After::Discard;
            }
        } else {
            self.after = After::Keep;
        }
    }

    /// `result`, and a connection whose statement cache cannot be trusted
    /// any more (a named statement the server no longer knows) is closed.
    fn failed_on<T, E: Into<Error>>(&mut self, result: Result<T, E>) -> Result<T, Error> {
        result.map_err(|e| {
            let e = e.into();
            if let Error::Postgres(pg) = &e
                && pg.code() == Some(&tokio_postgres::error::SqlState::INVALID_SQL_STATEMENT_NAME)
            {
                self.after = After::Discard;
            }
            e
        })
    }
}

impl Deref for Checkout {
    type Target = Object;

    fn deref(&self) -> &Object {
        self.object
            .as_ref()
            .expect("a checkout holds its connection until dropped")
    }
}

impl DerefMut for Checkout {
    fn deref_mut(&mut self) -> &mut Object {
        self.object
            .as_mut()
            .expect("a checkout holds its connection until dropped")
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        let Some(object) = self.object.take() else {
            return;
        };
        let after = match self.statements {
            Statements::Unnamed { .. } if self.after == After::Reset && !self.pipeline_open => {
                After::Keep
            }
            _ => self.after,
        };
        match (after, tokio::runtime::Handle::try_current()) {
            (After::Keep, _) => drop(object),
            (After::Reset, Ok(runtime)) => {
                runtime.spawn(reset(object, self.statements, self.pipeline_open));
            }
            (After::Reset | After::Discard, _) => drop(Object::take(object)),
        }
    }
}

/// Resets a connection fully, then lets it go back to the pool; closes it
/// if the reset fails or a SQL `PREPARE` left a statement behind. After a
/// pipeline that failed or was dropped before its end, its transaction is
/// rolled back first; that is all a connection of [`Statements::Unnamed`]
/// gets.
async fn reset(object: Object, statements: Statements, pipeline_open: bool) {
    let sql = match (statements, pipeline_open) {
        (Statements::Unnamed { .. }, _) => "rollback".to_owned(),
        (Statements::Prepared, true) => format!("rollback; {RESET_SESSION}"),
        (Statements::Prepared, false) => RESET_SESSION.to_owned(),
    };
    let clean = match object.simple_query(&sql).await {
        Ok(_) if matches!(statements, Statements::Unnamed { .. }) => true,
        Ok(messages) => messages.iter().any(
            |m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("0")),
        ),
        Err(e) => {
            tracing::warn!(target: "vectra::db", error = %e, "resetting a database connection failed: it is closed");
            false
        }
    };
    if !clean {
        drop(Object::take(object));
    }
}

/// The outcome of a request transaction sent as one pipeline (`begin`, the
/// context statement, the statement, `commit`): the first error, else the
/// statement's rows and whether the context statement reported session
/// state.
fn finish(
    results: Result<Vec<Vec<Row>>, tokio_postgres::Error>,
) -> Result<(Vec<Row>, bool), Error> {
    let mut results = results?;
    results.pop(); // commit
    match (results.pop(), results.pop()) {
        (Some(rows), Some(context)) => Ok((rows, leak_reported(&context)?)),
        _ => Err(Error::Result {
            sql: LEAK_CHECK.to_owned(),
            reason: "the pipeline answered fewer statements than it sent".to_owned(),
        }),
    }
}

/// The first column of the context statement ([`LEAK_CHECK`]).
fn leak_reported(rows: &[Row]) -> Result<bool, Error> {
    first_value(LEAK_CHECK, rows)
}

/// A transaction in `actor`'s context, with unnamed statements only, and
/// whether its context statement reported session state.
async fn enter_unnamed<'c>(
    client: &'c mut Object,
    actor: &Actor,
    statement_timeout_ms: Option<u64>,
) -> Result<(Transaction<'c>, bool), Error> {
    let tx = client.transaction().await?;
    if let Some(ms) = statement_timeout_ms {
        tx.query_typed(SET_STATEMENT_TIMEOUT, &[(&ms.to_string(), Type::TEXT)])
            .await?;
    }
    let rows = tx
        .query_typed(actor.context_sql(), &context_params(actor))
        .await?;
    let leaked = leak_reported(&rows)?;
    Ok((tx, leaked))
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

/// The statement timeout of a transaction when the connection cannot carry
/// it (a transaction-mode pooler refuses it among the connection's options).
const SET_STATEMENT_TIMEOUT: &str = "select pg_catalog.set_config('statement_timeout', $1, true)";

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
