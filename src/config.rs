//! Typed configuration read from environment variables and validated once at
//! start. A missing or bad value stops the start with a message naming the
//! variable (see README, "Configuration").

use std::net::SocketAddr;
use std::time::Duration;

use crate::client_addr::TrustedProxies;
use crate::keys::{PrivateKey, PublicKey};

/// A configuration problem, always naming the variable at fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration: {var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

impl ConfigError {
    fn new(var: &'static str, problem: impl Into<String>) -> Self {
        Self {
            var,
            problem: problem.into(),
        }
    }
}

/// Everything `vectra serve` needs.
#[derive(Clone)]
pub struct Config {
    /// Connection of the service itself: the `vectra_authenticator` role.
    pub database_url: String,
    /// Connection of the migration owner; when set, `serve` migrates at start.
    pub database_admin_url: Option<String>,
    /// The keys of access tokens (`JWT_*`), read at start.
    pub jwt: JwtSettings,
    pub bind_addr: SocketAddr,
    pub public_base_url: String,
    pub smtp_url: String,
    pub email_from: String,
    pub access_token_ttl: Duration,
    /// `ACCESS_TOKEN_CACHE_SIZE`: access tokens whose verification each
    /// instance remembers until they expire (0: none), so that a client
    /// reusing its token is not verified again on every request.
    pub access_token_cache_size: usize,
    pub request_timeout: Duration,
    pub max_body_bytes: usize,
    pub db_pool_size: usize,
    /// Requests per minute per client IP and per email on the public auth routes.
    pub rate_limit_per_minute: u32,
    pub outbox_poll_interval: Duration,
    pub outbox_retry_base: Duration,
    /// Settings the database keeps for itself (`auth.settings`), written by
    /// `migrate` (and `serve` when it migrates).
    pub instance: InstanceSettings,
    /// Most keys each rate limiter holds before new keys share one bucket.
    pub rate_limit_max_keys: usize,
    /// Failed logins per email before each further attempt waits (doubling).
    pub login_failures_before_backoff: u32,
    /// Password hashes computed at once (argon2id takes 19 MiB each).
    pub hash_concurrency: usize,
    /// A second listener serving only `GET /metrics` (keep it private).
    pub metrics_bind_addr: Option<SocketAddr>,
    /// Bearer token `GET /metrics` requires; with it, the main listener
    /// serves `/metrics` too. Neither set: no `/metrics` at all.
    pub metrics_token: Option<Secret>,
    /// Swagger UI at `/docs` (the document at `/api/v1/openapi.json` is
    /// served either way).
    pub docs_enabled: bool,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` headers name the client.
    pub trusted_proxies: TrustedProxies,
    /// Origins whose pages may call the API from a browser (CORS).
    pub cors_allowed_origins: Vec<String>,
    /// Named prepared statements, cached per connection (`false` behind a
    /// transaction-mode pooler such as PgBouncer).
    pub database_prepared_statements: bool,
    /// How long `/ready` answers 503 before the listener closes, so that a
    /// balancer polling it stops sending first.
    pub drain_delay: Duration,
    /// The most in-flight requests get to finish once the listener closed.
    pub shutdown_timeout: Duration,
    /// How long a migration waits for a lock before it gives up and tries
    /// again (`MIGRATION_LOCK_TIMEOUT`).
    pub migration_lock_timeout: Duration,
}

/// Operator settings that carry rules, stored in the database (`auth.settings`)
/// so that no caller of the SQL functions can choose them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSettings {
    /// Whoever registers with this email becomes the platform admin.
    pub platform_admin_email: String,
    /// How long an invitation link stays valid.
    pub invitation_ttl: Duration,
    /// Invitation emails (new and resent) per rolling hour, per sender.
    pub invites_per_sender_per_hour: i32,
    /// … per organization.
    pub invites_per_organization_per_hour: i32,
    /// … per recipient address, from one organization.
    pub invites_per_recipient_per_hour: i32,
    /// … per recipient address, from all organizations together.
    pub invites_per_recipient_per_hour_all_organizations: i32,
    /// Notification emails one organization may queue per rolling 24 hours.
    pub notification_emails_per_organization_per_day: i32,
    /// … that all organizations younger than a day may queue together.
    pub new_organizations_notification_emails_per_day: i32,
    /// The platform's name: in emails ("Acme via Vectra"), and reserved in
    /// organization names and organizations' subjects.
    pub platform_name: String,
    /// How long an account whose email was never verified lasts.
    pub unverified_account_ttl: Duration,
    /// How long a session (its refresh tokens) lasts from the sign-in.
    pub refresh_token_ttl: Duration,
    /// How long the refresh token that just rotated still yields the same
    /// successor (two tabs, a retried request) instead of revoking the session.
    pub refresh_grace_period: Duration,
}

/// What `vectra migrate` needs: the admin connection, optionally the
/// service's own URL (whose password is then given to `vectra_authenticator`),
/// and the settings to store.
#[derive(Clone)]
pub struct MigrateConfig {
    pub database_admin_url: String,
    pub database_url: Option<String>,
    pub instance: InstanceSettings,
    /// `MIGRATION_LOCK_TIMEOUT`: how long one statement of a migration waits
    /// for a lock (then the migration is rolled back and tried again), so a
    /// migration queued behind a long transaction never holds up the
    /// requests queued behind it.
    pub lock_timeout: Duration,
}

/// The most `ACCESS_TOKEN_CACHE_SIZE` accepts: an entry takes about 1 KB
/// (the token, its claims, the cache's own slots), so some 100 MB at most.
/// The cache starts empty and grows with the tokens it is shown.
pub const MAX_ACCESS_TOKEN_CACHE_SIZE: usize = 100_000;

/// The default of `MIGRATION_LOCK_TIMEOUT`.
const MIGRATION_LOCK_TIMEOUT: &str = "5s";

/// The keys of access tokens, loaded at start (README, "Keys and
/// rotation"). At least one of `secret` and `private_key` is set.
#[derive(Clone, Default)]
pub struct JwtSettings {
    /// `JWT_SECRET`: signs HS256 tokens when there is no private key, and
    /// verifies them either way.
    pub secret: Option<Secret>,
    /// `JWT_PREVIOUS_SECRETS`: HS256 secrets that only verify.
    pub previous_secrets: Vec<Secret>,
    /// `JWT_PRIVATE_KEY_FILE`: the Ed25519 key that signs (EdDSA).
    pub private_key: Option<PrivateKey>,
    /// `JWT_PUBLIC_KEY_FILES`: Ed25519 keys that only verify; published
    /// with the signing key's public part.
    pub public_keys: Vec<PublicKey>,
}

impl std::fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSettings")
            .field("secret", &self.secret)
            .field("previous_secrets", &self.previous_secrets)
            .field("private_key", &self.private_key)
            .field("public_keys", &self.public_keys)
            .finish()
    }
}

/// A string that never shows up in logs or `Debug` output.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field(
                "database_admin_url",
                &self.database_admin_url.as_deref().map(redact_url),
            )
            .field("jwt", &self.jwt)
            .field("bind_addr", &self.bind_addr)
            .field("public_base_url", &self.public_base_url)
            .field("smtp_url", &redact_url(&self.smtp_url))
            .field("email_from", &self.email_from)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("access_token_cache_size", &self.access_token_cache_size)
            .field("request_timeout", &self.request_timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("db_pool_size", &self.db_pool_size)
            .field("rate_limit_per_minute", &self.rate_limit_per_minute)
            .field("outbox_poll_interval", &self.outbox_poll_interval)
            .field("outbox_retry_base", &self.outbox_retry_base)
            .field("instance", &self.instance)
            .field("rate_limit_max_keys", &self.rate_limit_max_keys)
            .field(
                "login_failures_before_backoff",
                &self.login_failures_before_backoff,
            )
            .field("hash_concurrency", &self.hash_concurrency)
            .field("metrics_bind_addr", &self.metrics_bind_addr)
            .field("metrics_token", &self.metrics_token)
            .field("docs_enabled", &self.docs_enabled)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("cors_allowed_origins", &self.cors_allowed_origins)
            .field(
                "database_prepared_statements",
                &self.database_prepared_statements,
            )
            .field("drain_delay", &self.drain_delay)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("migration_lock_timeout", &self.migration_lock_timeout)
            .finish()
    }
}

/// `scheme://user:password@host` → `scheme://user:***@host`, for logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

pub const MIN_JWT_SECRET_BYTES: usize = 32;
pub const MIN_METRICS_TOKEN_BYTES: usize = 24;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads any lookup function, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let jwt = JwtSettings::from_env(&env)?;
        let smtp_url = env
            .optional("SMTP_URL")
            .unwrap_or_else(|| "smtp://127.0.0.1:1025".to_owned());
        if !(smtp_url.starts_with("smtp://") || smtp_url.starts_with("smtps://")) {
            return Err(ConfigError::new(
                "SMTP_URL",
                "must start with smtp:// or smtps://",
            ));
        }
        let public_base_url = env
            .optional("PUBLIC_BASE_URL")
            .unwrap_or_else(|| "http://localhost:8080".to_owned());
        if !(public_base_url.starts_with("http://") || public_base_url.starts_with("https://")) {
            return Err(ConfigError::new(
                "PUBLIC_BASE_URL",
                "must start with http:// or https://",
            ));
        }
        Ok(Self {
            database_url: env.postgres_url("DATABASE_URL")?,
            database_admin_url: match env.optional("DATABASE_ADMIN_URL") {
                Some(_) => Some(env.postgres_url("DATABASE_ADMIN_URL")?),
                None => None,
            },
            jwt,
            bind_addr: env.parsed("BIND_ADDR", "0.0.0.0:8080")?,
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
            smtp_url,
            email_from: env.mailbox("EMAIL_FROM", "Vectra <no-reply@vectra.local>")?,
            access_token_ttl: env.duration("ACCESS_TOKEN_TTL", "15m")?,
            access_token_cache_size: env.at_most(
                "ACCESS_TOKEN_CACHE_SIZE",
                "4096",
                MAX_ACCESS_TOKEN_CACHE_SIZE,
            )?,
            request_timeout: env.duration("REQUEST_TIMEOUT", "30s")?,
            max_body_bytes: env.parsed("MAX_BODY_BYTES", "1048576")?,
            db_pool_size: env.parsed("DATABASE_POOL_SIZE", "16")?,
            rate_limit_per_minute: env.parsed("RATE_LIMIT_PER_MINUTE", "10")?,
            outbox_poll_interval: env.duration("OUTBOX_POLL_INTERVAL", "1s")?,
            outbox_retry_base: env.duration("OUTBOX_RETRY_BASE", "5s")?,
            instance: InstanceSettings::from_env(&env)?,
            rate_limit_max_keys: env.positive("RATE_LIMIT_MAX_KEYS", "100000")?,
            login_failures_before_backoff: env.parsed("LOGIN_FAILURES_BEFORE_BACKOFF", "5")?,
            hash_concurrency: match env.optional("HASH_CONCURRENCY") {
                Some(_) => env.positive("HASH_CONCURRENCY", "1")?,
                // Half the cores: a burst of logins leaves the other half to
                // every other request, and argon2 holds at most that many
                // × 19 MiB (docs/performance.md).
                None => crate::blocking::Bounded::half_the_cores(),
            },
            metrics_bind_addr: match env.optional("METRICS_BIND_ADDR") {
                Some(_) => Some(env.parsed("METRICS_BIND_ADDR", "")?),
                None => None,
            },
            metrics_token: match env.optional("METRICS_TOKEN") {
                Some(t) if t.len() < MIN_METRICS_TOKEN_BYTES => {
                    return Err(ConfigError::new(
                        "METRICS_TOKEN",
                        format!(
                            "must be at least {MIN_METRICS_TOKEN_BYTES} bytes long; generate one with `openssl rand -hex 24`"
                        ),
                    ));
                }
                Some(t) => Some(Secret::new(t)),
                None => None,
            },
            docs_enabled: env.parsed("DOCS_ENABLED", "true")?,
            trusted_proxies: TrustedProxies::parse(
                &env.optional("TRUSTED_PROXIES").unwrap_or_default(),
            )
            .map_err(|problem| ConfigError::new("TRUSTED_PROXIES", problem))?,
            cors_allowed_origins: cors_origins(env.optional("CORS_ALLOWED_ORIGINS"))?,
            database_prepared_statements: env.parsed("DATABASE_PREPARED_STATEMENTS", "true")?,
            drain_delay: env.duration_or_zero("DRAIN_DELAY", "0s")?,
            shutdown_timeout: env.duration("SHUTDOWN_TIMEOUT", "30s")?,
            migration_lock_timeout: env
                .duration("MIGRATION_LOCK_TIMEOUT", MIGRATION_LOCK_TIMEOUT)?,
        })
    }

    /// What `serve` hands to the migration runner when it migrates at start.
    pub fn migrate_config(&self) -> Option<MigrateConfig> {
        self.database_admin_url
            .as_ref()
            .map(|admin_url| MigrateConfig {
                database_admin_url: admin_url.clone(),
                database_url: Some(self.database_url.clone()),
                instance: self.instance.clone(),
                lock_timeout: self.migration_lock_timeout,
            })
    }
}

impl JwtSettings {
    fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let secret = match env.optional("JWT_SECRET") {
            Some(s) => Some(hs256_secret("JWT_SECRET", s)?),
            None => None,
        };
        let previous_secrets = env
            .list("JWT_PREVIOUS_SECRETS")?
            .into_iter()
            .map(|s| hs256_secret("JWT_PREVIOUS_SECRETS", s))
            .collect::<Result<_, _>>()?;
        let private_key = match env.optional("JWT_PRIVATE_KEY_FILE") {
            Some(path) => {
                let var = "JWT_PRIVATE_KEY_FILE";
                let pem = read_pem(var, path.trim())?;
                Some(
                    PrivateKey::from_pem(&pem)
                        .map_err(|e| ConfigError::new(var, format!("{}: {e}", path.trim())))?,
                )
            }
            None => None,
        };
        let public_keys = env
            .list("JWT_PUBLIC_KEY_FILES")?
            .into_iter()
            .map(|path| {
                let var = "JWT_PUBLIC_KEY_FILES";
                let pem = read_pem(var, &path)?;
                PublicKey::from_pem(&pem).map_err(|e| ConfigError::new(var, format!("{path}: {e}")))
            })
            .collect::<Result<_, _>>()?;
        if secret.is_none() && private_key.is_none() {
            return Err(ConfigError::new(
                "JWT_SECRET",
                "is required unless JWT_PRIVATE_KEY_FILE is set: one of them signs access tokens",
            ));
        }
        Ok(Self {
            secret,
            previous_secrets,
            private_key,
            public_keys,
        })
    }
}

/// An HS256 secret: at least [`MIN_JWT_SECRET_BYTES`] bytes.
fn hs256_secret(var: &'static str, secret: String) -> Result<Secret, ConfigError> {
    if secret.len() < MIN_JWT_SECRET_BYTES {
        return Err(ConfigError::new(
            var,
            format!(
                "must be at least {MIN_JWT_SECRET_BYTES} bytes long (got {}); generate one with `openssl rand -base64 48`",
                secret.len()
            ),
        ));
    }
    Ok(Secret::new(secret))
}

/// The text of a PEM file named by `var`.
fn read_pem(var: &'static str, path: &str) -> Result<String, ConfigError> {
    let bytes = std::fs::read(path)
        .map_err(|e| ConfigError::new(var, format!("cannot read {path}: {e}")))?;
    String::from_utf8(bytes).map_err(|_| {
        ConfigError::new(
            var,
            format!("{path} is not a PEM file (binary: DER? `openssl pkey -inform DER -in {path}` prints its PEM)"),
        )
    })
}

impl InstanceSettings {
    fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let platform_admin_email = env
            .optional("PLATFORM_ADMIN_EMAIL")
            .unwrap_or_else(|| "admin@vectra.io".to_owned())
            .trim()
            .to_lowercase();
        if !looks_like_email(&platform_admin_email) {
            return Err(ConfigError::new(
                "PLATFORM_ADMIN_EMAIL",
                "must be an email address",
            ));
        }
        Ok(Self {
            platform_admin_email,
            invitation_ttl: env.duration("INVITATION_TTL", "7d")?,
            invites_per_sender_per_hour: env.positive("INVITES_PER_SENDER_PER_HOUR", "20")?,
            invites_per_organization_per_hour: env
                .positive("INVITES_PER_ORGANIZATION_PER_HOUR", "50")?,
            invites_per_recipient_per_hour: env.positive("INVITES_PER_RECIPIENT_PER_HOUR", "3")?,
            invites_per_recipient_per_hour_all_organizations: env
                .positive("INVITES_PER_RECIPIENT_PER_HOUR_ALL_ORGANIZATIONS", "20")?,
            notification_emails_per_organization_per_day: env
                .positive("NOTIFICATION_EMAILS_PER_ORGANIZATION_PER_DAY", "10000")?,
            new_organizations_notification_emails_per_day: env
                .positive("NEW_ORGANIZATIONS_NOTIFICATION_EMAILS_PER_DAY", "1000")?,
            platform_name: {
                let name = env
                    .optional("PLATFORM_NAME")
                    .unwrap_or_else(|| "Vectra".to_owned())
                    .trim()
                    .to_owned();
                if !(1..=60).contains(&name.chars().count())
                    || !name.chars().any(char::is_alphanumeric)
                    || name.chars().any(char::is_control)
                {
                    return Err(ConfigError::new(
                        "PLATFORM_NAME",
                        "must be 1 to 60 characters on one line, with a letter or digit",
                    ));
                }
                name
            },
            unverified_account_ttl: env.duration("UNVERIFIED_ACCOUNT_TTL", "7d")?,
            refresh_token_ttl: env.duration("REFRESH_TOKEN_TTL", "30d")?,
            refresh_grace_period: {
                let grace = env.duration("REFRESH_GRACE_PERIOD", "10s")?;
                if grace > Duration::from_secs(300) {
                    return Err(ConfigError::new(
                        "REFRESH_GRACE_PERIOD",
                        "must be at most 5 minutes",
                    ));
                }
                grace
            },
        })
    }
}

impl MigrateConfig {
    /// The two connections, with every setting at its documented default.
    pub fn with_defaults(
        database_admin_url: &str,
        database_url: Option<&str>,
    ) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| match name {
            "DATABASE_ADMIN_URL" => Some(database_admin_url.to_owned()),
            "DATABASE_URL" => database_url.map(str::to_owned),
            _ => None,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        Ok(Self {
            database_admin_url: env.postgres_url("DATABASE_ADMIN_URL")?,
            database_url: match env.optional("DATABASE_URL") {
                Some(_) => Some(env.postgres_url("DATABASE_URL")?),
                None => None,
            },
            instance: InstanceSettings::from_env(&env)?,
            lock_timeout: env.duration("MIGRATION_LOCK_TIMEOUT", MIGRATION_LOCK_TIMEOUT)?,
        })
    }
}

/// Most worker threads `WORKER_THREADS` may ask for.
pub const MAX_WORKER_THREADS: usize = 1024;

/// `WORKER_THREADS`, for `main` to build the async runtime with before
/// anything else runs (so not a field of [`Config`]); `None` (unset):
/// tokio's default, `TOKIO_WORKER_THREADS` if set, else one per CPU core.
pub fn worker_threads(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<usize>, ConfigError> {
    let env = Env(&lookup);
    match env.optional("WORKER_THREADS") {
        None => Ok(None),
        Some(_) => match env.at_most("WORKER_THREADS", "1", MAX_WORKER_THREADS)? {
            0 => Err(ConfigError::new(
                "WORKER_THREADS",
                "must be greater than zero",
            )),
            n => Ok(Some(n)),
        },
    }
}

struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    /// Empty counts as unset: `FOO=` in an env file means "not given".
    fn optional(&self, var: &'static str) -> Option<String> {
        (self.0)(var).filter(|v| !v.trim().is_empty())
    }

    /// A comma-separated list (spaces around the commas ignored); unset or
    /// empty is an empty list, an empty item is a mistake.
    fn list(&self, var: &'static str) -> Result<Vec<String>, ConfigError> {
        let Some(raw) = self.optional(var) else {
            return Ok(Vec::new());
        };
        raw.split(',')
            .enumerate()
            .map(|(i, item)| match item.trim() {
                "" => Err(ConfigError::new(
                    var,
                    format!(
                        "item {} of the comma-separated list is empty (a stray comma?)",
                        i + 1
                    ),
                )),
                item => Ok(item.to_owned()),
            })
            .collect()
    }

    fn required(&self, var: &'static str) -> Result<String, ConfigError> {
        self.optional(var)
            .ok_or_else(|| ConfigError::new(var, "is required but not set"))
    }

    fn postgres_url(&self, var: &'static str) -> Result<String, ConfigError> {
        let url = self.required(var)?;
        url.parse::<tokio_postgres::Config>()
            .map_err(|e| ConfigError::new(var, format!("is not a valid PostgreSQL URL: {e}")))?;
        Ok(url)
    }

    fn parsed<T>(&self, var: &'static str, default: &str) -> Result<T, ConfigError>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        let raw = self.optional(var).unwrap_or_else(|| default.to_owned());
        raw.trim()
            .parse()
            .map_err(|e| ConfigError::new(var, format!("cannot parse {raw:?}: {e}")))
    }

    /// A whole number from 0 to `max`.
    fn at_most(&self, var: &'static str, default: &str, max: usize) -> Result<usize, ConfigError> {
        let value: usize = self.parsed(var, default)?;
        if value <= max {
            Ok(value)
        } else {
            Err(ConfigError::new(var, format!("must be at most {max}")))
        }
    }

    /// A whole number greater than zero.
    fn positive<T>(&self, var: &'static str, default: &str) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + Default,
        T::Err: std::fmt::Display,
    {
        let value: T = self.parsed(var, default)?;
        if value > T::default() {
            Ok(value)
        } else {
            Err(ConfigError::new(var, "must be greater than zero"))
        }
    }

    fn mailbox(&self, var: &'static str, default: &str) -> Result<String, ConfigError> {
        let raw = self.optional(var).unwrap_or_else(|| default.to_owned());
        raw.parse::<lettre::message::Mailbox>().map_err(|e| {
            ConfigError::new(
                var,
                format!("{raw:?} is not a mailbox like `Name <a@b.c>`: {e}"),
            )
        })?;
        Ok(raw)
    }

    /// A duration that may be zero (`0`, `0s`, `5s` …).
    fn duration_or_zero(&self, var: &'static str, default: &str) -> Result<Duration, ConfigError> {
        match self.optional(var).as_deref().map(str::trim) {
            Some("0") | Some("0s") => Ok(Duration::ZERO),
            None if default == "0s" => Ok(Duration::ZERO),
            _ => self.duration(var, default),
        }
    }

    /// `900`, `900s`, `15m`, `12h`, `30d` (anything humantime reads).
    fn duration(&self, var: &'static str, default: &str) -> Result<Duration, ConfigError> {
        let raw = self.optional(var).unwrap_or_else(|| default.to_owned());
        let raw = raw.trim();
        let parsed = match raw.parse::<u64>() {
            Ok(secs) => Ok(Duration::from_secs(secs)),
            Err(_) => humantime::parse_duration(raw),
        };
        match parsed {
            Ok(d) if !d.is_zero() => Ok(d),
            Ok(_) => Err(ConfigError::new(var, "must be greater than zero")),
            Err(e) => Err(ConfigError::new(
                var,
                format!("cannot parse {raw:?} as a duration (e.g. 900, 15m, 30d): {e}"),
            )),
        }
    }
}

/// `https://app.example.com, http://localhost:5173`: exact origins (scheme,
/// host, optional port; no path, no wildcard), since browsers compare them
/// byte for byte.
fn cors_origins(raw: Option<String>) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let mut origins = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = |why: &str| {
            ConfigError::new(
                "CORS_ALLOWED_ORIGINS",
                format!("{part:?} {why} (write origins like https://app.example.com)"),
            )
        };
        if part.contains('*') {
            return Err(bad("is a wildcard; list each origin"));
        }
        let url = url::Url::parse(part).map_err(|_| bad("is not an origin"))?;
        if !matches!(url.scheme(), "http" | "https")
            || url.host_str().is_none()
            || !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
            || url.path() != "/"
        {
            return Err(bad("is not an origin"));
        }
        origins.push(url.origin().ascii_serialization());
    }
    Ok(origins)
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => !local.is_empty() && domain.contains('.') && !s.contains(' '),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const DB: &str = "postgres://vectra_authenticator:pw@localhost:5432/vectra";

    #[test]
    fn minimal_config_gets_documented_defaults() {
        let c = Config::from_lookup(lookup(&[("DATABASE_URL", DB), ("JWT_SECRET", SECRET)]))
            .expect("valid");
        assert_eq!(c.instance.platform_admin_email, "admin@vectra.io");
        assert_eq!(c.instance.invitation_ttl, Duration::from_secs(7 * 86400));
        assert_eq!(c.instance.refresh_grace_period, Duration::from_secs(10));
        assert!(c.hash_concurrency >= 1);
        assert_eq!(c.bind_addr.to_string(), "0.0.0.0:8080");
        assert_eq!(c.access_token_ttl, Duration::from_secs(15 * 60));
        assert_eq!(c.access_token_cache_size, 4096);
        assert_eq!(
            c.instance.refresh_token_ttl,
            Duration::from_secs(30 * 86400)
        );
        assert_eq!(c.smtp_url, "smtp://127.0.0.1:1025");
        assert!(c.database_admin_url.is_none());
        assert!(c.metrics_bind_addr.is_none() && c.metrics_token.is_none());
    }

    #[test]
    fn metrics_token_must_be_long_and_listener_an_address() {
        let base = [("DATABASE_URL", DB), ("JWT_SECRET", SECRET)];
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut all = base.to_vec();
            all.extend_from_slice(pairs);
            Config::from_lookup(lookup(&all))
        };
        let err = with(&[("METRICS_TOKEN", "short")]).err();
        assert_eq!(err.map(|e| e.var), Some("METRICS_TOKEN"));
        let err = with(&[("METRICS_BIND_ADDR", "localhost")]).err();
        assert_eq!(err.map(|e| e.var), Some("METRICS_BIND_ADDR"));
        let c = with(&[
            ("METRICS_BIND_ADDR", "127.0.0.1:9100"),
            ("METRICS_TOKEN", "0123456789abcdef01234567"),
        ])
        .expect("valid");
        assert_eq!(c.metrics_bind_addr.map(|a| a.port()), Some(9100));
        assert!(!format!("{c:?}").contains("0123456789abcdef01234567"));
    }

    #[test]
    fn missing_database_url_names_the_variable() {
        let err = Config::from_lookup(lookup(&[("JWT_SECRET", SECRET)])).err();
        assert_eq!(err.map(|e| e.var), Some("DATABASE_URL"));
    }

    #[test]
    fn short_jwt_secret_is_refused() {
        let err = Config::from_lookup(lookup(&[("DATABASE_URL", DB), ("JWT_SECRET", "short")]))
            .expect_err("refused");
        assert_eq!(err.var, "JWT_SECRET");
        assert!(err.to_string().contains("at least 32 bytes"), "{err}");
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("DATABASE_URL", "not a url at all ::"),
            ("DATABASE_ADMIN_URL", "mysql://x"),
            ("BIND_ADDR", "localhost"),
            ("ACCESS_TOKEN_TTL", "soon"),
            ("REFRESH_TOKEN_TTL", "0"),
            ("SMTP_URL", "http://mail"),
            ("PUBLIC_BASE_URL", "example.com"),
            ("PLATFORM_ADMIN_EMAIL", "nobody"),
            ("EMAIL_FROM", "Vectra <not an address>"),
            ("RATE_LIMIT_PER_MINUTE", "lots"),
            ("OUTBOX_POLL_INTERVAL", "-1"),
            ("INVITES_PER_SENDER_PER_HOUR", "0"),
            ("RATE_LIMIT_MAX_KEYS", "0"),
            ("HASH_CONCURRENCY", "none"),
            ("REFRESH_GRACE_PERIOD", "0"),
            ("JWT_PREVIOUS_SECRETS", "short"),
            ("JWT_PRIVATE_KEY_FILE", "/nonexistent/vectra-key.pem"),
            ("JWT_PUBLIC_KEY_FILES", "/nonexistent/vectra-key.pem"),
        ] {
            let mut pairs = vec![("DATABASE_URL", DB), ("JWT_SECRET", SECRET)];
            pairs.retain(|(k, _)| *k != var);
            pairs.push((var, value));
            let err = Config::from_lookup(lookup(&pairs)).err();
            assert_eq!(err.map(|e| e.var), Some(var), "{var}={value}");
        }
    }

    /// Key files written for one test, removed after it.
    struct KeyFiles(std::path::PathBuf);

    impl KeyFiles {
        fn new(test: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("vectra-config-{test}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            Self(dir)
        }

        fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
            let path = self.0.join(name);
            std::fs::write(&path, contents).expect("write key file");
            path.display().to_string()
        }
    }

    impl Drop for KeyFiles {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// `openssl genpkey -algorithm ed25519`, and `openssl pkey -pubout` of
    /// another one (test keys, used nowhere else).
    const PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIIVCsUebwsb7xEVdynh4Imv07XPeLE+sXsm/ahum/TRM
-----END PRIVATE KEY-----
";
    const PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
-----END PUBLIC KEY-----
";
    /// `openssl genpkey -algorithm x25519`: PKCS#8 too, but not a signing key.
    const X25519_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VuBCIEIMhwcmLVfhkA5JOl8za3HuySOLxvffes4f3kKhVaUUlX
-----END PRIVATE KEY-----
";

    #[test]
    fn jwt_keys_from_files_and_lists() {
        let files = KeyFiles::new("keys");
        let private = files.write("private.pem", PRIVATE_PEM);
        let public = files.write("public.pem", PUBLIC_PEM);
        let other_private = files.write("other.pem", PRIVATE_PEM);
        // A private key alone is enough: EdDSA signs, no HS256 secret.
        let c = Config::from_lookup(lookup(&[
            ("DATABASE_URL", DB),
            ("JWT_PRIVATE_KEY_FILE", &private),
        ]))
        .expect("a key alone");
        assert!(c.jwt.secret.is_none());
        let kid = c
            .jwt
            .private_key
            .as_ref()
            .expect("key")
            .public()
            .kid()
            .to_owned();
        assert_eq!(kid.len(), 43, "a base64url SHA-256: {kid}");
        // The lists: spaces around commas ignored; a private key listed for
        // verification counts as its public part.
        let two_secrets = format!("{SECRET} , {}", "x".repeat(40));
        let both = format!("{public}, {other_private}");
        let c = Config::from_lookup(lookup(&[
            ("DATABASE_URL", DB),
            ("JWT_SECRET", SECRET),
            ("JWT_PREVIOUS_SECRETS", &two_secrets),
            ("JWT_PRIVATE_KEY_FILE", &private),
            ("JWT_PUBLIC_KEY_FILES", &both),
        ]))
        .expect("everything");
        assert_eq!(c.jwt.previous_secrets.len(), 2);
        assert_eq!(c.jwt.previous_secrets[0].expose(), SECRET);
        let kids: Vec<&str> = c.jwt.public_keys.iter().map(|k| k.kid()).collect();
        assert_eq!(
            kids,
            ["kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", kid.as_str()]
        );
        // Debug shows kids, never a secret or a key.
        let shown = format!("{c:?}");
        assert!(shown.contains(&kid), "{shown}");
        for hidden in [SECRET, "xxxxxxxx", "MC4CAQAw", "MCowBQYD"] {
            assert!(!shown.contains(hidden), "{hidden} in {shown}");
        }
    }

    #[test]
    fn bad_jwt_keys_name_their_variable() {
        let files = KeyFiles::new("bad-keys");
        let private = files.write("private.pem", PRIVATE_PEM);
        let x25519 = files.write("x25519.pem", X25519_PEM);
        let der = files.write("key.der", [0x30u8, 0x2e, 0x02, 0x01, 0x00, 0xff, 0xfe]);
        let missing = files.0.join("missing.pem").display().to_string();
        let stray_comma = format!("{private},");
        let with_x25519 = format!("{private},{x25519}");
        let public_as_private = files.write("public.pem", PUBLIC_PEM);
        // (variable, value, what the message says, the file it names)
        let secrets_gap = format!("{SECRET},,{SECRET}");
        for (var, value, says, file) in [
            (
                "JWT_PRIVATE_KEY_FILE",
                &missing,
                "cannot read",
                Some(&missing),
            ),
            (
                "JWT_PRIVATE_KEY_FILE",
                &x25519,
                "not an Ed25519 private key",
                Some(&x25519),
            ),
            (
                "JWT_PRIVATE_KEY_FILE",
                &public_as_private,
                "not an Ed25519 private key",
                None,
            ),
            ("JWT_PRIVATE_KEY_FILE", &der, "not a PEM file", Some(&der)),
            (
                "JWT_PUBLIC_KEY_FILES",
                &missing,
                "cannot read",
                Some(&missing),
            ),
            (
                "JWT_PUBLIC_KEY_FILES",
                &with_x25519,
                "not an Ed25519",
                Some(&x25519),
            ),
            ("JWT_PUBLIC_KEY_FILES", &stray_comma, "item 2", None),
            ("JWT_PUBLIC_KEY_FILES", &",".to_owned(), "item 1", None),
            (
                "JWT_PREVIOUS_SECRETS",
                &"x,y".to_owned(),
                "at least 32 bytes",
                None,
            ),
            ("JWT_PREVIOUS_SECRETS", &secrets_gap, "item 2", None),
        ] {
            let err = Config::from_lookup(lookup(&[
                ("DATABASE_URL", DB),
                ("JWT_SECRET", SECRET),
                (var, value),
            ]))
            .expect_err(value);
            assert_eq!(err.var, var, "{err}");
            let message = err.to_string();
            assert!(message.contains(says), "{var}={value}: {message}");
            if let Some(file) = file {
                assert!(message.contains(file.as_str()), "{message}");
            }
            assert!(!message.contains(SECRET), "{message}");
        }
        // Neither a secret nor a key: nothing can sign.
        let err = Config::from_lookup(lookup(&[("DATABASE_URL", DB)])).expect_err("no key");
        assert_eq!(err.var, "JWT_SECRET");
        assert!(err.to_string().contains("JWT_PRIVATE_KEY_FILE"), "{err}");
        // Previous secrets or public keys do not sign either.
        let err = Config::from_lookup(lookup(&[
            ("DATABASE_URL", DB),
            ("JWT_PREVIOUS_SECRETS", SECRET),
            ("JWT_PUBLIC_KEY_FILES", &private),
        ]))
        .expect_err("nothing signs");
        assert_eq!(err.var, "JWT_SECRET");
    }

    #[test]
    fn durations_accept_seconds_and_units() {
        let c = Config::from_lookup(lookup(&[
            ("DATABASE_URL", DB),
            ("JWT_SECRET", SECRET),
            ("ACCESS_TOKEN_TTL", "600"),
            ("REFRESH_TOKEN_TTL", "7d"),
            ("PLATFORM_ADMIN_EMAIL", " Boss@Example.COM "),
        ]))
        .expect("valid");
        assert_eq!(c.access_token_ttl, Duration::from_secs(600));
        assert_eq!(c.instance.refresh_token_ttl, Duration::from_secs(7 * 86400));
        assert_eq!(c.instance.platform_admin_email, "boss@example.com");
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = Config::from_lookup(lookup(&[("DATABASE_URL", DB), ("JWT_SECRET", SECRET)]))
            .expect("valid");
        let shown = format!("{c:?}");
        assert!(!shown.contains(SECRET));
        assert!(!shown.contains(":pw@"));
        assert!(shown.contains("vectra_authenticator:***@"));
    }

    /// Every variable the service reads is in `.env.example` and the
    /// README, and `.env.example` as written is a valid configuration.
    #[test]
    fn env_example_and_readme_list_every_variable() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let example = std::fs::read_to_string(root.join(".env.example")).expect(".env.example");
        let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
        let pairs: HashMap<String, String> = example
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let read = std::sync::Mutex::new(Vec::new());
        let recorded = |name: &str| {
            read.lock().expect("lock").push(name.to_owned());
            pairs.get(name).cloned()
        };
        Config::from_lookup(recorded).expect(".env.example is a valid configuration");
        worker_threads(recorded).expect(".env.example's WORKER_THREADS");
        let read = read.into_inner().expect("lock");
        // Exactly the documented variables, no more and no fewer.
        let seen: std::collections::BTreeSet<&str> = read.iter().map(String::as_str).collect();
        let expected: std::collections::BTreeSet<&str> = [
            "JWT_SECRET",
            "JWT_PREVIOUS_SECRETS",
            "JWT_PRIVATE_KEY_FILE",
            "JWT_PUBLIC_KEY_FILES",
            "SMTP_URL",
            "PUBLIC_BASE_URL",
            "DATABASE_URL",
            "DATABASE_ADMIN_URL",
            "BIND_ADDR",
            "EMAIL_FROM",
            "ACCESS_TOKEN_TTL",
            "ACCESS_TOKEN_CACHE_SIZE",
            "REFRESH_TOKEN_TTL",
            "REQUEST_TIMEOUT",
            "MAX_BODY_BYTES",
            "DATABASE_POOL_SIZE",
            "RATE_LIMIT_PER_MINUTE",
            "OUTBOX_POLL_INTERVAL",
            "OUTBOX_RETRY_BASE",
            "PLATFORM_ADMIN_EMAIL",
            "INVITATION_TTL",
            "INVITES_PER_SENDER_PER_HOUR",
            "INVITES_PER_ORGANIZATION_PER_HOUR",
            "INVITES_PER_RECIPIENT_PER_HOUR",
            "INVITES_PER_RECIPIENT_PER_HOUR_ALL_ORGANIZATIONS",
            "NOTIFICATION_EMAILS_PER_ORGANIZATION_PER_DAY",
            "NEW_ORGANIZATIONS_NOTIFICATION_EMAILS_PER_DAY",
            "PLATFORM_NAME",
            "UNVERIFIED_ACCOUNT_TTL",
            "REFRESH_GRACE_PERIOD",
            "RATE_LIMIT_MAX_KEYS",
            "LOGIN_FAILURES_BEFORE_BACKOFF",
            "HASH_CONCURRENCY",
            "WORKER_THREADS",
            "METRICS_BIND_ADDR",
            "METRICS_TOKEN",
            "DOCS_ENABLED",
            "TRUSTED_PROXIES",
            "CORS_ALLOWED_ORIGINS",
            "DATABASE_PREPARED_STATEMENTS",
            "DRAIN_DELAY",
            "SHUTDOWN_TIMEOUT",
            "MIGRATION_LOCK_TIMEOUT",
        ]
        .into_iter()
        .collect();
        assert_eq!(seen, expected);
        for name in read {
            assert!(
                pairs.contains_key(&name),
                "{name} missing from .env.example"
            );
            assert!(
                readme.contains(&format!("`{name}`")),
                "{name} missing from README.md"
            );
        }
    }

    #[test]
    fn the_access_token_cache_may_be_off_and_has_a_ceiling() {
        let size = |v: &str| {
            Config::from_lookup(lookup(&[
                ("DATABASE_URL", DB),
                ("JWT_SECRET", SECRET),
                ("ACCESS_TOKEN_CACHE_SIZE", v),
            ]))
            .map(|c| c.access_token_cache_size)
        };
        assert_eq!(size("0").expect("off"), 0);
        assert_eq!(size(" 100 ").expect("a hundred"), 100);
        assert_eq!(size("100000").expect("the most"), 100_000);
        for bad in ["100001", "-1", "many", "1e3"] {
            let err = size(bad).expect_err(bad);
            assert_eq!(err.var, "ACCESS_TOKEN_CACHE_SIZE", "{bad}");
        }
    }

    #[test]
    fn worker_threads_default_to_the_runtime_s_own_choice() {
        assert_eq!(worker_threads(lookup(&[])).expect("unset"), None);
        assert_eq!(
            worker_threads(lookup(&[("WORKER_THREADS", " ")])).expect("empty"),
            None
        );
        assert_eq!(
            worker_threads(lookup(&[("WORKER_THREADS", "3")])).expect("three"),
            Some(3)
        );
        assert_eq!(
            worker_threads(lookup(&[("WORKER_THREADS", "1024")])).expect("the most"),
            Some(1024)
        );
        for bad in ["0", "-1", "two", "1025"] {
            let err = worker_threads(lookup(&[("WORKER_THREADS", bad)])).expect_err(bad);
            assert_eq!(err.var, "WORKER_THREADS");
        }
    }

    #[test]
    fn migrate_needs_only_the_admin_url() {
        let err = MigrateConfig::from_lookup(lookup(&[])).err();
        assert_eq!(err.map(|e| e.var), Some("DATABASE_ADMIN_URL"));
        let ok = MigrateConfig::from_lookup(lookup(&[("DATABASE_ADMIN_URL", DB)])).expect("ok");
        assert!(ok.database_url.is_none());
    }
}
