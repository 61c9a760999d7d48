//! `vectra create-platform-admin`: the service's operator, made by whoever
//! holds the migration credentials (the API never creates one, and
//! `PLATFORM_ADMIN_EMAIL` registration only works for that one address).

use uuid::Uuid;

use super::password::Passwords;
use crate::domain::{Email, FullName, Password};

/// A verified platform admin with this email, name and password, through
/// `auth.create_platform_admin` as the owner at `database_admin_url`.
/// Errors name the bad argument; an email already taken says so.
pub async fn create(
    database_admin_url: &str,
    email: &str,
    full_name: &str,
    password: &str,
) -> anyhow::Result<(Email, Uuid)> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email {e}"))?;
    let full_name = FullName::parse(full_name).map_err(|e| anyhow::anyhow!("--full-name {e}"))?;
    let password =
        Password::parse(password, Some(&email)).map_err(|e| anyhow::anyhow!("password {e}"))?;
    let hash = Passwords::new(1).hash(password.expose().to_owned()).await?;
    let client = crate::db::connect(database_admin_url).await?;
    let row = client
        .query_one(
            crate::db::calls::CREATE_PLATFORM_ADMIN.sql,
            &[&email.as_str(), &hash, &full_name.as_str()],
        )
        .await
        .map_err(|e| match e.as_db_error() {
            Some(db) if db.constraint() == Some("users_email_key") => {
                anyhow::anyhow!("a user with the email {email} already exists")
            }
            _ => anyhow::Error::new(e).context("creating the platform admin"),
        })?;
    Ok((email, row.get(0)))
}
