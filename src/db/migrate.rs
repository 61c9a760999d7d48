//! Migrations, embedded from `sql/migrations` at compile time and applied with
//! the migration owner's connection (`DATABASE_ADMIN_URL`).
//!
//! refinery orders them, records them and checks their checksums; this
//! module runs each one ([`Migrator`]) by two rules of its own:
//!
//! - **A lock timeout.** Every statement waits at most `MIGRATION_LOCK_TIMEOUT`
//!   for a lock. An `ALTER TABLE` queued behind a long transaction would
//!   otherwise hold up every request queued behind it for as long; with the
//!   timeout the migration is rolled back, waits, and is tried again (up to
//!   [`LOCK_ATTEMPTS`] times), and traffic flows in between.
//! - **Outside a transaction, when asked.** A migration whose first line is
//!   [`NO_TRANSACTION`] runs statement by statement, each committed on its
//!   own: `CREATE INDEX CONCURRENTLY` builds an index on a table that takes
//!   writes without blocking them, and cannot run in a transaction. Such a
//!   migration must be safe to run again from its start (`if not exists`,
//!   `if exists`); indexes an interrupted concurrent build left invalid are
//!   dropped before it runs.

use std::time::Duration;

use anyhow::{Context, bail};
use refinery_core::Migration;
use refinery_core::traits::r#async::{AsyncMigrate, AsyncQuery, AsyncTransaction};
use tokio_postgres::error::SqlState;

use crate::config::{InstanceSettings, MigrateConfig};

/// The first line of a migration that runs outside a transaction.
pub const NO_TRANSACTION: &str = "-- vectra: no transaction";

/// How many times a migration that could not take a lock in time is tried.
pub const LOCK_ATTEMPTS: u32 = 8;

/// Runs refinery's migrations with the rules above.
pub struct Migrator<'c> {
    client: &'c mut tokio_postgres::Client,
    lock_timeout: Duration,
    /// Attempts that ran out of lock time (and were tried again).
    pub lock_retries: u32,
}

impl<'c> Migrator<'c> {
    pub fn new(client: &'c mut tokio_postgres::Client, lock_timeout: Duration) -> Self {
        Self {
            client,
            lock_timeout,
            lock_retries: 0,
        }
    }

    /// One attempt at `queries` (a migration and refinery's record of it).
    async fn attempt(&mut self, queries: &[&str]) -> Result<usize, tokio_postgres::Error> {
        let timeout = format!("{}ms", self.lock_timeout.as_millis().max(1));
        let Some(first) = queries.first() else {
            return Ok(0);
        };
        if !first.starts_with(NO_TRANSACTION) {
            let tx = self.client.transaction().await?;
            tx.batch_execute(&format!("set local lock_timeout = '{timeout}'"))
                .await?;
            for query in queries {
                tx.batch_execute(query).await?;
            }
            tx.commit().await?;
            return Ok(queries.len());
        }
        // Indexes a concurrent build left invalid (it failed or was
        // interrupted) are garbage; `create index … if not exists` would
        // keep them.
        let invalid: Vec<String> = tokio_postgres::Client::query(
            self.client,
            "select format('drop index concurrently if exists %s', i.indexrelid::regclass)
                   from pg_catalog.pg_index i
                   join pg_catalog.pg_class c on c.oid = i.indexrelid
                   join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                  where not i.indisvalid and n.nspname in ('public', 'app', 'auth')",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
        self.client
            .batch_execute(&format!("set lock_timeout = '{timeout}'"))
            .await?;
        let result = async {
            for drop in &invalid {
                tracing::warn!(statement = %drop, "dropping an index an interrupted build left invalid");
                self.client.batch_execute(drop).await?;
            }
            for statement in statements(first) {
                self.client.batch_execute(statement).await?;
            }
            for query in &queries[1..] {
                self.client.batch_execute(query).await?;
            }
            Ok(queries.len())
        }
        .await;
        self.client.batch_execute("reset lock_timeout").await?;
        result
    }
}

impl AsyncTransaction for Migrator<'_> {
    type Error = tokio_postgres::Error;

    async fn execute<'a, T: Iterator<Item = &'a str> + Send + 'a>(
        &'a mut self,
        queries: T,
    ) -> Result<usize, Self::Error> {
        let queries: Vec<&str> = queries.collect();
        let mut attempt = 1;
        loop {
            match self.attempt(&queries).await {
                Err(e)
                    if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE)
                        && attempt < LOCK_ATTEMPTS =>
                {
                    let wait = Duration::from_secs(1 << attempt.min(4));
                    tracing::warn!(
                        attempt,
                        of = LOCK_ATTEMPTS,
                        lock_timeout = ?self.lock_timeout,
                        retry_in = ?wait,
                        "a migration could not take a lock in time (a long transaction holds it); rolled back, trying again"
                    );
                    self.lock_retries += 1;
                    attempt += 1;
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }
}

impl AsyncQuery<Vec<Migration>> for Migrator<'_> {
    async fn query(&mut self, query: &str) -> Result<Vec<Migration>, Self::Error> {
        <tokio_postgres::Client as AsyncQuery<Vec<Migration>>>::query(self.client, query).await
    }
}

impl AsyncMigrate for Migrator<'_> {}

/// The statements of a script, in order, without empty ones: split at the
/// semicolons outside quotes ('…', "…", dollar quotes) and comments.
pub fn statements(sql: &str) -> Vec<&str> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |n| i + 2 + n + 2);
                continue;
            }
            quote @ (b'\'' | b'"') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += 1;
                }
            }
            b'$' => {
                let tag_end = sql[i + 1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map(|n| i + 1 + n);
                if let Some(end) = tag_end.filter(|&e| bytes[e] == b'$') {
                    let tag = &sql[i..=end];
                    i = sql[end + 1..]
                        .find(tag)
                        .map_or(bytes.len(), |n| end + 1 + n + tag.len() - 1);
                }
            }
            b';' => {
                out.push(&sql[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(&sql[start..]);
    out.into_iter()
        .map(str::trim)
        .filter(|s| {
            s.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with("--"))
        })
        .collect()
}

mod embedded {
    refinery::embed_migrations!("sql/migrations");
}

/// Arbitrary constant: serializes concurrent `migrate` runs on one database.
const MIGRATION_LOCK: i64 = 0x5645_4354_5241; // "VECTRA"

/// refinery's runner over the embedded migrations (run it with a [`Migrator`]).
pub fn runner() -> refinery::Runner {
    embedded::migrations::runner()
}

/// The newest migration this binary carries; `/ready` compares the database with it.
pub fn latest_version() -> i64 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0)
}

/// Writes the operator settings into `auth.settings`, where the SQL
/// functions read them: no caller can pass its own platform-admin email or
/// invitation limits. Columns not configured by the environment keep their
/// values.
async fn store_settings(
    client: &tokio_postgres::Client,
    settings: &InstanceSettings,
) -> anyhow::Result<()> {
    client
        .execute(
            "update auth.settings
                set platform_admin_email = $1,
                    invitation_ttl = make_interval(secs => $2),
                    invites_per_sender_per_hour = $3,
                    invites_per_organization_per_hour = $4,
                    invites_per_recipient_per_hour = $5,
                    refresh_token_ttl = make_interval(secs => $6),
                    refresh_grace_period = make_interval(secs => $7),
                    notification_emails_per_organization_per_day = $8,
                    invites_per_recipient_per_hour_all_organizations = $9,
                    new_organizations_notification_emails_per_day = $10,
                    platform_name = $11,
                    unverified_account_ttl = make_interval(secs => $12),
                    updated_at = now()
              where id",
            &[
                &settings.platform_admin_email,
                &settings.invitation_ttl.as_secs_f64(),
                &settings.invites_per_sender_per_hour,
                &settings.invites_per_organization_per_hour,
                &settings.invites_per_recipient_per_hour,
                &settings.refresh_token_ttl.as_secs_f64(),
                &settings.refresh_grace_period.as_secs_f64(),
                &settings.notification_emails_per_organization_per_day,
                &settings.invites_per_recipient_per_hour_all_organizations,
                &settings.new_organizations_notification_emails_per_day,
                &settings.platform_name,
                &settings.unverified_account_ttl.as_secs_f64(),
            ],
        )
        .await
        .context("storing the instance settings (auth.settings)")?;
    // CREATE DATABASE … TEMPLATE does not copy a database's privileges, so
    // a restored or copied database has PUBLIC's TEMP again: take it back on
    // every run. No role of the service creates temporary objects.
    client
        .batch_execute(
            "do $$ begin execute format('revoke temporary on database %I from public', current_database()); end $$",
        )
        .await
        .context("revoking TEMP on the database from PUBLIC")?;
    Ok(())
}

/// What one run did.
#[cfg(test)]
mod tests {
    use super::statements;

    #[test]
    fn statements_split_at_semicolons_outside_quotes_and_comments() {
        let sql = "-- a comment; not a statement\n\
                   create index concurrently if not exists a on t (x);\n\
                   select 'a;b', \"c;d\" /* e; f */ from t;\n\
                   do $body$ begin perform 1; end $body$;\n\
                   select $$;$$;\n\
                   -- trailing comment only\n";
        assert_eq!(
            statements(sql),
            vec![
                "-- a comment; not a statement\ncreate index concurrently if not exists a on t (x)",
                "select 'a;b', \"c;d\" /* e; f */ from t",
                "do $body$ begin perform 1; end $body$",
                "select $$;$$",
            ]
        );
        assert!(statements("-- only\n  \n").is_empty());
        assert_eq!(statements("select 1"), vec!["select 1"]);
    }

    /// A migration outside a transaction runs again from its start after an
    /// interruption: only index builds and drops that tolerate it.
    #[test]
    fn migrations_outside_a_transaction_can_run_again() {
        for m in super::runner().get_migrations() {
            let Some(sql) = m.sql().filter(|s| s.starts_with(super::NO_TRANSACTION)) else {
                continue;
            };
            for statement in statements(sql) {
                let code: String = statement
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("--"))
                    .collect::<Vec<_>>()
                    .join(" ");
                let code = code.trim_start();
                assert!(
                    code.starts_with("create index concurrently if not exists ")
                        || code.starts_with("create unique index concurrently if not exists ")
                        || code.starts_with("drop index concurrently if exists "),
                    "{}: {code}",
                    m.name()
                );
            }
        }
    }
}

#[derive(Debug)]
pub struct Outcome {
    pub applied: Vec<String>,
    pub authenticator_password_set: bool,
    /// Attempts that ran out of lock time and were tried again.
    pub lock_retries: u32,
    /// On a Citus coordinator: what the distribution did.
    pub citus: Option<super::citus::Outcome>,
}

/// Applies pending migrations, then (when `DATABASE_URL` names
/// `vectra_authenticator` with a password) sets that role's password, so an
/// operator configures the password in one place.
pub async fn run(config: &MigrateConfig) -> anyhow::Result<Outcome> {
    let mut client = super::connect(&config.database_admin_url).await?;

    let row = client
        .query_one(
            "select rolsuper or (rolbypassrls and rolcreaterole) from pg_catalog.pg_roles where rolname = current_user",
            &[],
        )
        .await
        .context("checking the migration role")?;
    if !row.get::<_, bool>(0) {
        bail!(
            "DATABASE_ADMIN_URL must connect as a superuser, or a role with BYPASSRLS and CREATEROLE: \
             it creates the request roles and owns the SECURITY DEFINER auth functions, which must \
             read every tenant's rows under forced RLS"
        );
    }

    client
        .execute("select pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .context("taking the migration lock")?;
    let result = apply(&mut client, config).await;
    // The lock is session-level; release it even when a migration failed.
    let _ = client
        .execute("select pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    result
}

async fn apply(
    client: &mut tokio_postgres::Client,
    config: &MigrateConfig,
) -> anyhow::Result<Outcome> {
    let mut migrator = Migrator::new(client, config.lock_timeout);
    let report = runner()
        .run_async(&mut migrator)
        .await
        .context("applying migrations")?;
    let lock_retries = migrator.lock_retries;
    let citus = super::citus::distribute(client).await?;
    if let Some(c) = &citus
        && !c.converted.is_empty()
    {
        tracing::info!(tables = ?c.converted, workers = c.workers, "distributed on the Citus cluster");
    }
    let applied = report
        .applied_migrations()
        .iter()
        .map(|m| format!("V{}__{}", m.version(), m.name()))
        .collect();

    store_settings(client, &config.instance).await?;

    let mut authenticator_password_set = false;
    if let Some(url) = &config.database_url {
        let pg: tokio_postgres::Config = url.parse().context("DATABASE_URL")?;
        match (pg.get_user(), pg.get_password()) {
            (Some("vectra_authenticator"), Some(password)) => {
                // Send a SCRAM verifier, never the password itself: the
                // statement may end up in the server's log. ALTER ROLE takes
                // no bind parameters, so the server quotes the literal
                // (format %L) and runs what it built.
                let verifier = postgres_protocol::password::scram_sha_256(password);
                let statement: String = client
                    .query_one(
                        "select format('alter role vectra_authenticator with login password %L', $1::text)",
                        &[&verifier],
                    )
                    .await?
                    .get(0);
                client
                    .batch_execute(&statement)
                    .await
                    .context("setting the password of vectra_authenticator")?;
                authenticator_password_set = true;
            }
            (Some("vectra_authenticator"), None) => {}
            (user, _) => tracing::warn!(
                user = user.unwrap_or(""),
                "DATABASE_URL does not log in as vectra_authenticator; the service expects that role"
            ),
        }
    }
    Ok(Outcome {
        applied,
        authenticator_password_set,
        lock_retries,
        citus,
    })
}
