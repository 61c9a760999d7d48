//! Migrations, embedded from `sql/migrations` at compile time and applied with
//! the migration owner's connection (`DATABASE_ADMIN_URL`).

use anyhow::{Context, bail};

use crate::config::{InstanceSettings, MigrateConfig};

mod embedded {
    refinery::embed_migrations!("sql/migrations");
}

/// Arbitrary constant: serializes concurrent `migrate` runs on one database.
const MIGRATION_LOCK: i64 = 0x5645_4354_5241; // "VECTRA"

/// The newest migration this binary carries; `/ready` compares the database with it.
pub fn latest_version() -> i64 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0)
}

/// Writes the operator settings into `auth.settings` (V7), where the SQL
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
    // every run (V11). No role of the service creates temporary objects.
    client
        .batch_execute(
            "do $$ begin execute format('revoke temporary on database %I from public', current_database()); end $$",
        )
        .await
        .context("revoking TEMP on the database from PUBLIC")?;
    Ok(())
}

/// What one run did.
#[derive(Debug)]
pub struct Outcome {
    pub applied: Vec<String>,
    pub authenticator_password_set: bool,
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
    let report = embedded::migrations::runner()
        .run_async(client)
        .await
        .context("applying migrations")?;
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
    })
}
