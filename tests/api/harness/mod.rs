//! Test harness.
//!
//! * One PostgreSQL server per test binary: a testcontainers container of the
//!   `vectra-test-postgres:15` image (PostgreSQL 15 + pgTAP), or the server
//!   named by `VECTRA_TEST_DATABASE_URL` when that is set. A missing image is
//!   built first, once (`image.rs`); without Docker the tests say what to
//!   install, or to set `VECTRA_TEST_DATABASE_URL`.
//! * One template database, migrated once; each test copies it
//!   (`create database … template …`) and drops its copy at the end.
//! * The container is removed when the binary exits (a `dtor`: statics are
//!   never dropped), and containers left behind by a killed run are removed by
//!   the next run.
//! * Helpers run SQL as any role with any settings, and serve the app on port 0.
//! * Email is delivered when a test says so: the app's worker stays idle,
//!   and `deliver_mail` (or `mail.wait_for`) runs the same outbox code on the
//!   test's database into its SMTP sink. `spawn_with_worker` leaves delivery
//!   to the app's own worker, for the tests of the worker itself.
//! * Every response an app of the harness serves, to any client, is checked
//!   against the OpenAPI document (`contract.rs`): a test whose requests got
//!   an answer the document does not describe fails.

#![allow(dead_code)] // each test module uses a different part of the harness

pub mod contract;
pub mod image;
pub mod seed;
pub mod smtp;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls, Row, error::SqlState, types::ToSql};
use uuid::Uuid;

pub const AUTHENTICATOR_PASSWORD: &str = "test-authenticator-password";
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
const IMAGE_ENV: &str = "VECTRA_TEST_PG_IMAGE";
const DEFAULT_IMAGE: &str = "vectra-test-postgres:15";
const LABEL: &str = "vectra-test-pid";

/// The server every test of this binary shares.
struct Server {
    host: String,
    port: u16,
    user: String,
    password: String,
    template: String,
}

/// The server, or why there is none: kept, so that a failure (no Docker, an
/// image that would not build) is reported by every test without being
/// tried again by each.
static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
static CONTAINER_ID: OnceLock<String> = OnceLock::new();

fn server() -> &'static Server {
    // testcontainers' blocking runner and the template migration bring their
    // own runtime: do them on a plain thread, outside the test's runtime.
    let server = SERVER.get_or_init(|| {
        std::thread::spawn(start_server)
            .join()
            .unwrap_or_else(|panic| {
                Err(panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "starting the test database server panicked".to_owned()))
            })
    });
    match server {
        Ok(server) => server,
        Err(why) => panic!("{why}"),
    }
}

/// The server, once started (the exit hooks never start one).
fn started_server() -> Option<&'static Server> {
    SERVER.get().and_then(|s| s.as_ref().ok())
}

fn start_server() -> Result<Server, String> {
    let (host, port, user, password) = match std::env::var("VECTRA_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => {
            let cfg: tokio_postgres::Config = url.parse().expect("VECTRA_TEST_DATABASE_URL");
            let host = match cfg.get_hosts().first() {
                Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
                _ => "127.0.0.1".to_owned(),
            };
            let port = cfg.get_ports().first().copied().unwrap_or(5432);
            let user = cfg.get_user().unwrap_or("postgres").to_owned();
            let password = cfg
                .get_password()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default();
            (host, port, user, password)
        }
        _ => start_container()?,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let template = format!("vectra_template_{}", Uuid::new_v4().simple());
    runtime.block_on(async {
        let admin = wait_for_server(&url(&host, port, &user, &password, "postgres")).await;
        admin
            .batch_execute(&format!("create database {template}"))
            .await
            .expect("create the template database");
        let admin_url = url(&host, port, &user, &password, &template);
        let auth_url = url(
            &host,
            port,
            "vectra_authenticator",
            AUTHENTICATOR_PASSWORD,
            &template,
        );
        let outcome = vectra::db::migrate::run(&migrate_config(&admin_url, Some(&auth_url)))
            .await
            .expect("migrating the template database");
        assert!(outcome.authenticator_password_set);
    });
    Ok(Server {
        host,
        port,
        user,
        password,
        template,
    })
}

fn start_container() -> Result<(String, u16, String, String), String> {
    use testcontainers::core::{IntoContainerPort, WaitFor};
    use testcontainers::runners::SyncRunner;
    use testcontainers::{GenericImage, ImageExt};

    let image = std::env::var(IMAGE_ENV).unwrap_or_else(|_| DEFAULT_IMAGE.to_owned());
    image::ensure(&image)?;
    remove_orphaned_containers();
    let (name, tag) = image.rsplit_once(':').unwrap_or((image.as_str(), "latest"));
    let container = GenericImage::new(name, tag)
        .with_exposed_port(5432.tcp())
        .with_wait_for(WaitFor::message_on_stderr(
            "database system is ready to accept connections",
        ))
        .with_env_var("POSTGRES_USER", "postgres")
        .with_env_var("POSTGRES_PASSWORD", "postgres")
        .with_env_var("POSTGRES_DB", "postgres")
        .with_label(LABEL, std::process::id().to_string())
        .with_startup_timeout(Duration::from_secs(120))
        // Durability buys nothing in a throwaway test server.
        .with_cmd([
            "postgres",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
        ])
        .start()
        .map_err(|e| {
            format!(
                "cannot start the {image} container ({e}). Rebuild the image with \
                 scripts/build-test-image.sh, or set VECTRA_TEST_DATABASE_URL to an existing \
                 PostgreSQL 15 server with pgTAP"
            )
        })?;
    let host = container.get_host().expect("container host").to_string();
    let port = container.get_host_port_ipv4(5432).expect("container port");
    let _ = CONTAINER_ID.set(container.id().to_owned());
    // Not dropped (it lives as long as the process): `remove_container` below
    // deletes it at exit.
    std::mem::forget(container);
    Ok((host, port, "postgres".to_owned(), "postgres".to_owned()))
}

/// Removes this run's container (or databases) when the test binary exits.
#[dtor::dtor(unsafe)]
fn at_exit() {
    cleanup();
}

/// A run killed before its exit hook leaves its container behind; the label
/// names the process that started it, so the next run can tell.
fn remove_orphaned_containers() {
    let Ok(out) = std::process::Command::new("docker")
        .args([
            "ps",
            "--all",
            "--filter",
            &format!("label={LABEL}"),
            "--format",
            &format!("{{{{.ID}}}} {{{{.Label \"{LABEL}\"}}}}"),
        ])
        .output()
    else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((id, pid)) = line.split_once(' ') else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::process::Command::new("docker")
                .args(["rm", "--force", "--volumes", id])
                .output();
        }
    }
}

/// What the tests migrate with: the documented defaults, but the test
/// platform-admin email and limits generous enough for the suite (the
/// limits' own tests set theirs in `auth.settings`).
pub fn migrate_config(
    admin_url: &str,
    database_url: Option<&str>,
) -> vectra::config::MigrateConfig {
    vectra::config::MigrateConfig::from_lookup(|name| match name {
        "DATABASE_ADMIN_URL" => Some(admin_url.to_owned()),
        "DATABASE_URL" => database_url.map(str::to_owned),
        "PLATFORM_ADMIN_EMAIL" => Some(PLATFORM_ADMIN_EMAIL.to_owned()),
        "INVITES_PER_SENDER_PER_HOUR"
        | "INVITES_PER_ORGANIZATION_PER_HOUR"
        | "INVITES_PER_RECIPIENT_PER_HOUR"
        | "INVITES_PER_RECIPIENT_PER_HOUR_ALL_ORGANIZATIONS" => Some("1000".to_owned()),
        // Every organization of a test is younger than a day.
        "NEW_ORGANIZATIONS_NOTIFICATION_EMAILS_PER_DAY" => Some("100000".to_owned()),
        _ => None,
    })
    .expect("test migration configuration")
}

fn url(host: &str, port: u16, user: &str, password: &str, db: &str) -> String {
    format!("postgres://{user}:{password}@{host}:{port}/{db}")
}

/// The official image's entrypoint runs a temporary server before the real
/// one, so the ready message alone does not prove the port answers.
async fn wait_for_server(url: &str) -> Client {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match connect(url).await {
            Ok(c) => return c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("test database server not reachable: {e}"),
        }
    }
}

pub async fn connect(url: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// A database of its own for one test, copied from the migrated template.
pub struct TestDb {
    pub name: String,
}

impl TestDb {
    pub async fn new() -> Self {
        Self::create(Some(&server().template)).await
    }

    /// An empty database (no template): for migration tests.
    pub async fn empty() -> Self {
        Self::create(None).await
    }

    async fn create(template: Option<&str>) -> Self {
        let s = server();
        let name = format!("t_{}", Uuid::new_v4().simple());
        let admin = connect(&url(&s.host, s.port, &s.user, &s.password, "postgres"))
            .await
            .expect("admin connection");
        let sql = match template {
            Some(t) => format!("create database {name} template {t}"),
            None => format!("create database {name}"),
        };
        // Two copies of one template at the same instant can collide on the
        // template's lock ("source database is being accessed"): retry.
        let mut attempts = 0;
        loop {
            match admin.batch_execute(&sql).await {
                Ok(()) => break,
                Err(e) if e.code() == Some(&SqlState::OBJECT_IN_USE) && attempts < 50 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("{sql}: {e}"),
            }
        }
        created().lock().map(|mut v| v.push(name.clone())).ok();
        // As `vectra migrate` leaves a database it migrates: CREATE DATABASE
        // … TEMPLATE does not copy the template's privileges.
        if template.is_some() {
            admin
                .batch_execute(&format!("revoke temporary on database {name} from public"))
                .await
                .expect("revoke TEMP");
        }
        Self { name }
    }

    /// Superuser (migration owner) URL of this database.
    pub fn admin_url(&self) -> String {
        let s = server();
        url(&s.host, s.port, &s.user, &s.password, &self.name)
    }

    /// This database as any login role.
    pub fn url_as(&self, user: &str, password: &str) -> String {
        let s = server();
        url(&s.host, s.port, user, password, &self.name)
    }

    /// The service's URL: `vectra_authenticator`.
    pub fn authenticator_url(&self) -> String {
        let s = server();
        url(
            &s.host,
            s.port,
            "vectra_authenticator",
            AUTHENTICATOR_PASSWORD,
            &self.name,
        )
    }

    pub async fn admin(&self) -> Client {
        connect(&self.admin_url()).await.expect("admin connection")
    }

    pub async fn authenticator(&self) -> Client {
        connect(&self.authenticator_url())
            .await
            .expect("authenticator connection")
    }

    /// A transaction switched to `role` with `settings` (`app.org_id` …), as
    /// a DBA would in psql: `set role …; select set_config(…)`.
    pub async fn as_role(&self, role: &str, settings: &[(&str, String)]) -> AsRole {
        let client = self.admin().await;
        client.batch_execute("begin").await.expect("begin");
        client
            .query("select set_config('role', $1, true)", &[&role])
            .await
            .expect("set role");
        for (name, value) in settings {
            client
                .query("select set_config($1, $2, true)", &[name, value])
                .await
                .expect("set setting");
        }
        AsRole { client }
    }

    /// Waits until `n` backends of this database wait for a lock: requests
    /// held at a gate (a transaction of the test's holding the rows they
    /// need) have all got that far. Panics after 20 s.
    pub async fn wait_for_lock_waiters(&self, n: i64) {
        let admin = self.admin().await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let waiting: i64 = admin
                .query_one(
                    "select count(*) from pg_stat_activity
                      where datname = current_database() and wait_event_type = 'Lock'",
                    &[],
                )
                .await
                .expect("pg_stat_activity")
                .get(0);
            if waiting >= n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{waiting} of {n} backends waiting for a lock after 20 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The `Db` handle the app would use, with a pool of `size` connections.
    pub fn db(&self, size: usize) -> vectra::db::Db {
        vectra::db::Db::new(vectra::db::pool(&self.authenticator_url(), size).expect("pool"))
    }

    /// A service configuration pointing at this database, listening on port 0.
    pub fn config(&self) -> vectra::config::Config {
        self.config_with(&[])
    }

    /// The same, with some variables overridden.
    pub fn config_with(&self, overrides: &[(&str, &str)]) -> vectra::config::Config {
        let url = self.authenticator_url();
        let overrides: Vec<(String, String)> = overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        vectra::config::Config::from_lookup(|name| {
            if let Some((_, v)) = overrides.iter().find(|(k, _)| k == name) {
                return Some(v.clone());
            }
            match name {
                "DATABASE_URL" => Some(url.clone()),
                "JWT_SECRET" => Some(JWT_SECRET.to_owned()),
                "BIND_ADDR" => Some("127.0.0.1:0".to_owned()),
                "DATABASE_POOL_SIZE" => Some("4".to_owned()),
                "PLATFORM_ADMIN_EMAIL" => Some(PLATFORM_ADMIN_EMAIL.to_owned()),
                "PUBLIC_BASE_URL" => Some("http://app.vectra.test".to_owned()),
                "RATE_LIMIT_PER_MINUTE" => Some("10000".to_owned()),
                "OUTBOX_POLL_INTERVAL" => Some("50ms".to_owned()),
                "OUTBOX_RETRY_BASE" => Some("200ms".to_owned()),
                _ => None,
            }
        })
        .expect("test configuration")
    }
}

pub const PLATFORM_ADMIN_EMAIL: &str = "admin@vectra.test";

impl Drop for TestDb {
    fn drop(&mut self) {
        // Not awaited, and not joined: the test's runtime may still hold app
        // connections half-way through authentication, which PostgreSQL would
        // keep (authentication_timeout) and which DROP DATABASE waits for.
        // Whatever is left when the binary exits is dropped by `cleanup`.
        let name = self.name.clone();
        std::thread::spawn(move || {
            if drop_database(&name) {
                created().lock().map(|mut v| v.retain(|n| n != &name)).ok();
            }
        });
    }
}

/// Test databases of this process not dropped yet.
fn created() -> &'static std::sync::Mutex<Vec<String>> {
    static CREATED: OnceLock<std::sync::Mutex<Vec<String>>> = OnceLock::new();
    CREATED.get_or_init(Default::default)
}

fn drop_database(name: &str) -> bool {
    let Some(s) = started_server() else {
        return false;
    };
    let admin_url = url(&s.host, s.port, &s.user, &s.password, "postgres");
    let sql = format!("drop database if exists {name} with (force)");
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return false;
    };
    rt.block_on(async {
        match connect(&admin_url).await {
            Ok(c) => c.batch_execute(&sql).await.is_ok(),
            Err(_) => false,
        }
    })
}

/// At exit: on a server of the developer's (VECTRA_TEST_DATABASE_URL), drop
/// what this run created; a container is simply removed.
fn cleanup() {
    if let Some(id) = CONTAINER_ID.get() {
        let _ = std::process::Command::new("docker")
            .args(["rm", "--force", "--volumes", id])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        return;
    }
    let Some(server) = started_server() else {
        return;
    };
    let mut names = created().lock().map(|v| v.clone()).unwrap_or_default();
    names.push(server.template.clone());
    for name in names {
        drop_database(&name);
    }
}

/// An open transaction as some role. Statements that may fail run under a
/// savepoint, so one refusal does not abort the rest of the test.
pub struct AsRole {
    client: Client,
}

impl AsRole {
    pub async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        self.client.batch_execute("savepoint attempt").await?;
        match self.client.query(sql, params).await {
            Ok(rows) => {
                self.client
                    .batch_execute("release savepoint attempt")
                    .await?;
                Ok(rows)
            }
            Err(e) => {
                self.client
                    .batch_execute("rollback to savepoint attempt")
                    .await?;
                Err(e)
            }
        }
    }

    /// Rows changed by an INSERT/UPDATE/DELETE, or its error.
    pub async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, tokio_postgres::Error> {
        self.client.batch_execute("savepoint attempt").await?;
        match self.client.execute(sql, params).await {
            Ok(n) => {
                self.client
                    .batch_execute("release savepoint attempt")
                    .await?;
                Ok(n)
            }
            Err(e) => {
                self.client
                    .batch_execute("rollback to savepoint attempt")
                    .await?;
                Err(e)
            }
        }
    }

    pub async fn commit(self) {
        self.client.batch_execute("commit").await.expect("commit");
    }
}

/// The server's message of a database error, for assertions.
pub fn message(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.message().to_owned())
        .unwrap_or_else(|| e.to_string())
}

/// SQLSTATE of a database error, for assertions.
pub fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_owned()).unwrap_or_default()
}

/// The app served on port 0 for one test, with its own database and SMTP sink.
pub struct TestApp {
    pub db: TestDb,
    pub base: String,
    pub http: reqwest::Client,
    pub mail: smtp::SmtpSink,
    /// The private metrics listener, when `METRICS_BIND_ADDR` was given.
    pub metrics_base: Option<String>,
    /// What the router serves: (method, path template).
    pub routes: Vec<(String, String)>,
    /// Responses of this app (and of its other instances) that the OpenAPI
    /// document does not describe, not reported yet.
    pub violations: contract::Violations,
}

impl Drop for TestApp {
    /// A response no request of the harness reported (one sent with another
    /// client, or the last one) fails the test here.
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        contract::assert_conforms(&self.violations);
    }
}

/// The app, every response of its main listener checked against the
/// OpenAPI document into `violations`.
fn checked(
    app: vectra::app::Application,
    violations: &contract::Violations,
    metrics_route: bool,
) -> vectra::app::Application {
    let violations = violations.clone();
    // Around the whole router, so that the check sees the response as the
    // client does (axum adds a 405's Allow outside the routes' layers).
    app.map_router(move |router| {
        axum::Router::new()
            .fallback_service(router)
            .layer(axum::middleware::from_fn(move |req, next| {
                contract::layer(violations.clone(), metrics_route, req, next)
            }))
    })
}

/// Whether the main listener routes `GET /metrics` (METRICS_TOKEN set): its
/// document then has the operation.
fn serves_metrics(routes: &[(String, String)]) -> bool {
    routes.iter().any(|(m, p)| m == "GET" && p == "/metrics")
}

/// A response's status and JSON body (Null when there is none).
pub struct Reply {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: serde_json::Value,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

impl Reply {
    /// Asserts the status, and for errors the problem+json shape.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "unexpected reply: {self:?}");
        if status >= 400 {
            assert_eq!(
                self.headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok()),
                Some("application/problem+json"),
                "{self:?}"
            );
            assert_eq!(self.body["status"], status, "{self:?}");
            assert!(
                self.body["title"].is_string() && self.body["detail"].is_string(),
                "{self:?}"
            );
        }
        self
    }

    /// Asserts an error status and its exact `detail`.
    #[track_caller]
    pub fn problem(self, status: u16, detail: &str) -> Self {
        let reply = self.expect(status);
        assert_eq!(reply.body["detail"], detail, "{reply:?}");
        reply
    }

    /// Asserts a 422 naming exactly these (field, message) pairs, in any order.
    #[track_caller]
    pub fn invalid(self, expected: &[(&str, &str)]) -> Self {
        let reply = self.expect(422);
        let mut found: Vec<(String, String)> = reply.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors in {reply:?}"))
            .iter()
            .map(|e| {
                let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
                (text("field"), text("message"))
            })
            .collect();
        let mut expected: Vec<(String, String)> = expected
            .iter()
            .map(|(f, m)| (f.to_string(), m.to_string()))
            .collect();
        found.sort_unstable();
        expected.sort_unstable();
        assert_eq!(found, expected, "{reply:?}");
        reply
    }

    /// The fields a 422 names, sorted.
    pub fn fields(&self) -> Vec<String> {
        let mut fields: Vec<String> = self.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors in {self:?}"))
            .iter()
            .filter_map(|e| e["field"].as_str().map(str::to_owned))
            .collect();
        fields.sort_unstable();
        fields
    }

    pub fn str(&self, pointer: &str) -> String {
        self.body
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("no string at {pointer} in {self:?}"))
            .to_owned()
    }
}

/// Tokens of a signed-in user.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub user_id: Uuid,
}

impl From<&Reply> for Tokens {
    /// The tokens of a token response (login, refresh, verify-email …).
    fn from(r: &Reply) -> Self {
        Tokens {
            access: r.str("/access_token"),
            refresh: r.str("/refresh_token"),
            user_id: r.str("/user/id").parse().expect("uuid"),
        }
    }
}

/// Where the worker of a manual-delivery app sends the probe of its first round.
const FIRST_ROUND_PROBE: &str = "first-round-probe@harness.test";

impl TestApp {
    /// The app, with email delivered only when the test says so
    /// (`deliver_mail`, or `mail.wait_for`), never behind its back.
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// The same, with some configuration overridden.
    pub async fn spawn_with(overrides: &[(&str, &str)]) -> Self {
        let db = TestDb::new().await;
        // The app's worker runs one round at start, then sleeps for the poll
        // interval: an hour here. So that an email queued by the test's first
        // request is not caught by that round (and delivered behind the
        // test's back), the round is given a probe to deliver, and the app
        // is handed over only once the probe has arrived.
        db.admin()
            .await
            .execute(
                "insert into email_outbox (organization_id, to_email, template, context)
                 values (app.platform_org_id(), $1, 'account-exists', '{\"name\": \"probe\"}')",
                &[&FIRST_ROUND_PROBE],
            )
            .await
            .expect("the probe email");
        let mut all = vec![("OUTBOX_POLL_INTERVAL", "1h")];
        all.extend_from_slice(overrides);
        let app = Self::start(db, &all).await;
        app.mail.wait_for(FIRST_ROUND_PROBE, 1).await;
        app.db
            .admin()
            .await
            .execute(
                "delete from email_outbox where to_email = $1",
                &[&FIRST_ROUND_PROBE],
            )
            .await
            .expect("delete the probe");
        app.mail.clear();
        // The test's own postman: the app's outbox code, on the same
        // database and sink. A failed attempt waits an hour, so that a retry
        // happens only when a test makes it due.
        let config = app.db.config_with(&[("SMTP_URL", &app.mail.url())]);
        let outbox = vectra::email::Outbox::new(
            app.db.db(2),
            vectra::email::Mailer::new(&config.smtp_url, &config.email_from).expect("mailer"),
            std::sync::Arc::new(vectra::email::Templates::new(&config.public_base_url)),
            vectra::email::OutboxSettings {
                retry_base: Duration::from_secs(3600),
                concurrency: 2,
                ..Default::default()
            },
            vectra::metrics::Metrics::new(),
        );
        app.mail.deliver_with(outbox);
        app
    }

    /// The app with its own email worker polling every 50 ms: for the tests
    /// of the worker itself (retries, outages, its metrics).
    pub async fn spawn_with_worker(overrides: &[(&str, &str)]) -> Self {
        Self::start(TestDb::new().await, overrides).await
    }

    async fn start(db: TestDb, overrides: &[(&str, &str)]) -> Self {
        let mail = smtp::SmtpSink::start().await;
        let smtp_url = mail.url();
        let mut all = vec![("SMTP_URL", smtp_url.as_str())];
        all.extend_from_slice(overrides);
        let app = vectra::app::Application::build(db.config_with(&all))
            .await
            .expect("build app");
        let addr = app.local_addr().expect("local addr");
        let metrics_base = app.metrics_addr().map(|a| format!("http://{a}"));
        let routes = app.route_table();
        let violations = contract::Violations::default();
        let app = checked(app, &violations, serves_metrics(&routes));
        tokio::spawn(app.run_until(std::future::pending()));
        Self {
            db,
            routes,
            violations,
            base: format!("http://{addr}"),
            metrics_base,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            mail,
        }
    }

    /// Another instance of the service on this test's database (its own
    /// listener, memory and pool; mail to the same sink, its worker idle),
    /// as a deployment of several would run: its base URL.
    pub async fn another_instance(&self, overrides: &[(&str, &str)]) -> String {
        let smtp_url = self.mail.url();
        let mut all = vec![
            ("SMTP_URL", smtp_url.as_str()),
            ("OUTBOX_POLL_INTERVAL", "1h"),
        ];
        all.extend_from_slice(overrides);
        let app = vectra::app::Application::build(self.db.config_with(&all))
            .await
            .expect("build another instance");
        let metrics = serves_metrics(&app.route_table());
        let app = checked(app, &self.violations, metrics);
        let addr = app.local_addr().expect("local addr");
        tokio::spawn(app.run_until(std::future::pending()));
        format!("http://{addr}")
    }

    /// Delivers every due email now (see `SmtpSink::deliver`); returns how
    /// many were attempted.
    pub async fn deliver_mail(&self) -> usize {
        self.mail.deliver().await
    }

    /// Rows of the outbox to `to` with `template`: what a request queued,
    /// delivered or not.
    pub async fn outbox_count(&self, to: &str, template: &str) -> i64 {
        self.db
            .admin()
            .await
            .query_one(
                "select count(*) from email_outbox where to_email = $1 and template = $2",
                &[&to, &template],
            )
            .await
            .expect("outbox count")
            .get(0)
    }

    /// The first column of the first row of `sql` run as the superuser: a
    /// count, usually.
    pub async fn count(&self, sql: &str) -> i64 {
        self.db
            .admin()
            .await
            .query_one(sql, &[])
            .await
            .expect(sql)
            .get(0)
    }

    /// The platform overview's snapshot, recomputed now (the worker does it
    /// at start and every minute: `auth.refresh_overview`).
    pub async fn refresh_overview(&self) {
        self.db
            .admin()
            .await
            .batch_execute("select auth.refresh_overview('0 seconds')")
            .await
            .expect("refresh the overview");
    }

    /// Until the outbox holds nothing pending or being sent: every email
    /// queued so far is in the SMTP sink (or failed for good). With manual
    /// delivery, delivers now; with the app's worker, waits for it.
    pub async fn settle_outbox(&self) {
        let unsettled = "select count(*) from email_outbox where status in ('pending', 'sending')";
        if self.mail.is_manual() {
            self.deliver_mail().await;
            assert_eq!(self.count(unsettled).await, 0, "an email was rescheduled");
            return;
        }
        for _ in 0..400 {
            if self.count(unsettled).await == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the outbox did not drain within 20 s");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Any request, as built by the caller.
    pub async fn send_with(&self, request: reqwest::RequestBuilder) -> Reply {
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request");
        contract::assert_conforms(&self.violations);
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
            })
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut r = self.http.get(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        self.send(r).await
    }

    pub async fn post(&self, path: &str, body: serde_json::Value, token: Option<&str>) -> Reply {
        let mut r = self.http.post(self.url(path)).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        self.send(r).await
    }

    pub async fn patch(&self, path: &str, body: serde_json::Value, token: Option<&str>) -> Reply {
        let mut r = self.http.patch(self.url(path)).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        self.send(r).await
    }

    pub async fn patch_raw(&self, path: &str, body: &str, token: &str) -> Reply {
        self.send(
            self.http
                .patch(self.url(path))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body.to_owned()),
        )
        .await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        let mut r = self.http.delete(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        self.send(r).await
    }

    /// A POST with a body as given, for malformed-input tests.
    pub async fn send_raw(&self, path: &str, body: &str, content_type: &str) -> Reply {
        self.send(
            self.http
                .post(self.url(path))
                .header("content-type", content_type)
                .body(body.to_owned()),
        )
        .await
    }

    /// Registers an owner with a new organization; returns the profile.
    pub async fn register(&self, email: &str, password: &str, org: &str) -> Reply {
        self.post(
            "/api/v1/auth/register",
            serde_json::json!({
                "email": email, "password": password,
                "full_name": "Test User", "organization_name": org,
            }),
            None,
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Tokens {
        let r = self
            .post(
                "/api/v1/auth/login",
                serde_json::json!({"email": email, "password": password}),
                None,
            )
            .await
            .expect(200);
        Tokens::from(&r)
    }

    /// Asserts that both tokens of a session are refused as revoked: the
    /// access token at its next request, the refresh token at refresh.
    pub async fn assert_session_revoked(&self, tokens: &Tokens) {
        self.get("/api/v1/user/me", Some(&tokens.access))
            .await
            .problem(401, "Session revoked");
        self.post(
            "/api/v1/auth/refresh",
            serde_json::json!({"refresh_token": tokens.refresh}),
            None,
        )
        .await
        .problem(401, "Session revoked");
    }

    /// Registers and follows the emailed verification link, which signs in.
    pub async fn verified_owner(&self, email: &str, org: &str) -> Tokens {
        self.register(email, PASSWORD, org).await.expect(202);
        let mail = self.mail.last_to(email).await;
        let r = self
            .post(
                "/api/v1/auth/verify-email",
                serde_json::json!({"token": mail.token()}),
                None,
            )
            .await
            .expect(200);
        Tokens::from(&r)
    }
}

pub const PASSWORD: &str = "correct horse battery";

/// The claims of an access token issued by a test app (signature checked).
pub fn jwt_claims(token: &str) -> serde_json::Value {
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.set_audience(&["vectra-api"]);
    jsonwebtoken::decode::<serde_json::Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(JWT_SECRET.as_bytes()),
        &v,
    )
    .expect("decode")
    .claims
}
