//! `vectra dev`: the service on a laptop with one command. A private
//! PostgreSQL cluster under `.vectra/` (found binaries, free loopback port),
//! migrated; generated passwords and JWT secret kept there; the API with its
//! outbox worker; mail kept in a local mailbox shown at `/dev/mailbox`
//! unless `SMTP_URL` is set. Every other setting comes from the environment.

pub mod postgres;

use std::fs::{self, File, TryLockError};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::Application;
use crate::config::{Config, MigrateConfig};
use crate::email::LocalMailbox;
use crate::http::DevMode;
use postgres::{Binaries, Cluster, RunAs};

/// The database dev mode creates in its cluster.
pub const DATABASE: &str = "vectra";
/// The DBA login dev mode creates, granted `vectra_tenant_reader`.
pub const DBA_ROLE: &str = "vectra_dba";
/// Connections the DBA login may hold at once: the service keeps the rest.
pub const DBA_CONNECTION_LIMIT: i32 = 5;

pub struct DevOptions {
    /// Where dev mode keeps its state (`.vectra` in the working directory).
    pub dir: PathBuf,
    /// Delete the cluster and the secrets first.
    pub reset: bool,
    /// Load the seed-demo data on first run.
    pub demo: bool,
    /// Serve on a non-loopback `BIND_ADDR` too (the mailbox and the dev
    /// pages become reachable from the network).
    pub listen_anywhere: bool,
    /// A Citus coordinator and [`CITUS_WORKERS`] workers instead of one
    /// PostgreSQL.
    pub citus: bool,
}

/// Workers of `vectra dev --citus`.
pub const CITUS_WORKERS: usize = 2;

/// What every node of `vectra dev --citus` adds to its configuration:
/// Citus preloaded, no statistics sent anywhere, logical decoding for the
/// shard moves of a rebalance.
const CITUS_CONF: &str = "shared_preload_libraries = 'citus'\n\
citus.enable_statistics_collection = off\n\
wal_level = logical\n\
max_connections = 300\n";

pub const NO_CITUS: &str = "--citus: Citus is not installed for this PostgreSQL (no citus.so in its library directory). \
Install it (Debian/Ubuntu: Citus's packages, `postgresql-15-citus-13.2`; macOS: `brew install citus`), \
or build it from source (scripts/install-citus.sh, docs/scale-out.md), or run the cluster in containers: \
`docker compose --profile citus up --build citus-app`";

/// Kept in `.vectra/dev.json` (mode 0600): what makes the next run find the
/// same data.
#[derive(Serialize, Deserialize)]
struct State {
    superuser_password: String,
    authenticator_password: String,
    dba_password: String,
    jwt_secret: String,
    port: u16,
    /// The workers' ports (`--citus`).
    #[serde(default)]
    worker_ports: Vec<u16>,
}

fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

impl State {
    fn create() -> anyhow::Result<Self> {
        Ok(Self {
            superuser_password: random_hex(24)?,
            authenticator_password: random_hex(24)?,
            dba_password: random_hex(12)?,
            jwt_secret: random_hex(48)?,
            port: postgres::free_port()?,
            worker_ports: Vec::new(),
        })
    }

    fn load(path: &Path) -> anyhow::Result<Option<Self>> {
        match fs::read_to_string(path) {
            Ok(text) => Ok(Some(serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is damaged; `vectra dev --reset` starts afresh",
                    path.display()
                )
            })?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    fn save(&self, path: &Path) -> anyhow::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let tmp = path.with_extension("json.tmp");
        let _ = fs::remove_file(&tmp);
        // Created 0600 at once: no moment at which another user could open it.
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(&serde_json::to_vec_pretty(self)?)?;
        drop(f);
        fs::rename(&tmp, path)?;
        Ok(())
    }
}

/// Where dev mode listens: `BIND_ADDR`, or 127.0.0.1:8080. Dev mode shows
/// every email (with its sign-in and reset links) at `/dev/mailbox`, so it
/// refuses an address other machines can reach unless told so explicitly.
fn bind_addr(
    raw: Option<String>,
    listen_anywhere: bool,
    smtp: bool,
) -> anyhow::Result<std::net::SocketAddr> {
    let mut addr: std::net::SocketAddr = match raw {
        Some(raw) => raw
            .trim()
            .parse()
            .with_context(|| format!("BIND_ADDR: cannot parse {raw:?}"))?,
        None => "127.0.0.1:8080".parse().expect("address"),
    };
    if addr.port() == 0 {
        addr.set_port(postgres::free_port()?);
    }
    if !addr.ip().is_loopback() {
        let exposed = if smtp {
            "the dev pages that stand in for the front end"
        } else {
            "the mailbox (/dev/mailbox: every email, with its sign-in, reset and invitation links) and the dev pages"
        };
        if !listen_anywhere {
            bail!(
                "BIND_ADDR={addr} is reachable from other machines, and dev mode would serve them {exposed}. \
                 Use a loopback address (127.0.0.1:{port}), or pass --listen-anywhere if that is what you want",
                port = addr.port()
            );
        }
        tracing::warn!(
            %addr,
            "--listen-anywhere: other machines can reach {exposed}; use `vectra serve` for anything shared"
        );
        say(format!(
            "WARNING: listening on {addr}: anyone who can reach it can read {exposed}"
        ));
    }
    Ok(addr)
}

fn say(line: impl AsRef<str>) {
    println!("vectra dev: {}", line.as_ref());
}

/// Where the cluster lives: `.vectra/postgres`, unless dev mode runs as root
/// and the server's user cannot reach that directory (a home directory of
/// mode 0700, say): then a directory of its own under `/var/lib/vectra-dev`
/// (root's, mode 0711; not `/var/tmp`, which is cleaned by age and where
/// anyone could create the name first).
fn cluster_home(dir: &Path, name: &str, run_as: Option<&RunAs>) -> anyhow::Result<PathBuf> {
    let home = dir.join(name);
    match run_as {
        Some(u) if !u.can_reach(&home) => {
            let digest = Sha256::digest(dir.join(name).as_os_str().as_encoded_bytes());
            let tag: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            let parent = Path::new("/var/lib/vectra-dev");
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
            let m = fs::symlink_metadata(parent)?;
            use std::os::unix::fs::MetadataExt;
            if m.file_type().is_symlink() || m.uid() != 0 {
                bail!("{} must be a directory of root's", parent.display());
            }
            fs::set_permissions(parent, fs::Permissions::from_mode(0o711))?;
            Ok(parent.join(tag))
        }
        _ => Ok(home),
    }
}

pub async fn run(options: DevOptions) -> anyhow::Result<()> {
    let bind_addr = bind_addr(
        std::env::var("BIND_ADDR")
            .ok()
            .filter(|v| !v.trim().is_empty()),
        options.listen_anywhere,
        std::env::var("SMTP_URL").is_ok_and(|v| !v.trim().is_empty()),
    )?;
    let dir = std::path::absolute(&options.dir)
        .with_context(|| format!("{}: not a usable path", options.dir.display()))?;
    let created = !dir.exists();
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let run_as = RunAs::for_this_process()?;
    // Private; as root, the server's user may pass through (its own
    // directory inside is 0700, the secrets file 0600). A directory that
    // existed already (`--dir .`) keeps its mode.
    if created {
        let mode = if run_as.is_some() { 0o711 } else { 0o700 };
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode))?;
    }
    // One dev mode per directory: a second one would share the cluster.
    let lock = File::create(dir.join("dev.lock"))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => bail!(
            "another `vectra dev` is running with {} (stop it first, or use another --dir)",
            dir.display()
        ),
        Err(TryLockError::Error(e)) => return Err(e).context("locking dev.lock"),
    }

    let bin = Binaries::find()?;
    if options.citus && !bin.has_citus() {
        bail!("{NO_CITUS}");
    }
    let home = cluster_home(&dir, "postgres", run_as.as_ref())?;
    let state_path = dir.join("dev.json");
    let mut cluster = Cluster::new(bin.clone(), home.clone(), 0, run_as.clone());
    let mut workers = Vec::new();
    for n in 1..=CITUS_WORKERS {
        let home = cluster_home(&dir, &format!("postgres-worker-{n}"), run_as.as_ref())?;
        workers.push(Cluster::new(bin.clone(), home, 0, run_as.clone()));
    }

    // A server left running by a dev mode that crashed or was killed.
    if cluster.data().exists() {
        if let Some(pid) = cluster.running_pid()? {
            say(format!(
                "a PostgreSQL left running by an earlier `vectra dev` (pid {pid}) on {}: stopping it",
                cluster.data().display()
            ));
            cluster.stop()?;
        } else if let Some(pid) = cluster.remove_stale_pid_file()? {
            say(format!(
                "removed a stale postmaster.pid (pid {pid} is not running; the last run did not stop cleanly)"
            ));
        }
    }
    for worker in &mut workers {
        if worker.data().exists() && worker.running_pid()?.is_some() {
            worker.stop()?;
        } else if worker.data().exists() {
            worker.remove_stale_pid_file()?;
        }
    }
    if options.reset {
        say(format!(
            "--reset: deleting the cluster and the secrets in {}",
            dir.display()
        ));
        let worker_homes: Vec<PathBuf> = workers.iter().map(|w| w.home.clone()).collect();
        for path in [&home, &dir.join("postgres")]
            .into_iter()
            .chain(&worker_homes)
        {
            if path.exists() {
                fs::remove_dir_all(path).with_context(|| format!("deleting {}", path.display()))?;
            }
        }
        let _ = fs::remove_file(&state_path);
    }

    let mut state = match (State::load(&state_path)?, cluster.existing_major()) {
        (Some(s), Some(_)) => s,
        (None, Some(_)) => bail!(
            "{} holds a cluster, but {} (its passwords) is gone: `vectra dev --reset` starts afresh",
            cluster.data().display(),
            state_path.display()
        ),
        // No cluster (first run, or deleted by hand): new secrets for a new one.
        _ => State::create()?,
    };
    if let Some(u) = &run_as {
        say(format!(
            "running as root: PostgreSQL refuses root, so the cluster runs as the OS user `{}`",
            u.name
        ));
    }
    if !postgres::port_is_free(state.port) {
        let port = postgres::free_port()?;
        say(format!(
            "port {} is in use; PostgreSQL gets port {port} this time",
            state.port
        ));
        state.port = port;
    }
    if options.citus {
        state.worker_ports.resize(CITUS_WORKERS, 0);
        for port in &mut state.worker_ports {
            if *port == 0 || !postgres::port_is_free(*port) {
                *port = postgres::free_port()?;
            }
        }
    }
    state.save(&state_path)?;
    cluster.port = state.port;

    let created = cluster.ensure_initialized(&state.superuser_password)?;
    if created {
        say(format!(
            "created a PostgreSQL {} cluster in {} (binaries: {})",
            bin.major,
            cluster.data().display(),
            bin.dir.display()
        ));
    }
    if options.citus {
        cluster.extra_conf = CITUS_CONF.to_owned();
        for (worker, port) in workers.iter_mut().zip(&state.worker_ports) {
            worker.port = *port;
            worker.extra_conf = CITUS_CONF.to_owned();
            if worker.ensure_initialized(&state.superuser_password)? {
                say(format!(
                    "created a Citus worker in {}",
                    worker.data().display()
                ));
            }
            worker.start()?;
        }
    } else {
        workers.clear();
    }
    cluster.start()?;

    let admin_url = |db: &str| {
        format!(
            "postgres://postgres:{}@127.0.0.1:{}/{db}",
            state.superuser_password, state.port
        )
    };
    let database_url = format!(
        "postgres://vectra_authenticator:{}@127.0.0.1:{}/{DATABASE}",
        state.authenticator_password, state.port
    );
    if options.citus {
        prepare_citus(&state).await?;
    }
    prepare_database(
        &admin_url("postgres"),
        &admin_url(DATABASE),
        &database_url,
        &state,
    )
    .await?;

    if options.demo && created {
        let s = crate::seed::seed_demo(
            &admin_url(DATABASE),
            &crate::seed::DemoOptions {
                organizations: 10,
                users_per_org: 5,
                leads_per_org: 100,
                seed: 1,
                force: false,
            },
        )
        .await?;
        say(format!(
            "--demo: {} organizations, {} users, {} leads; every demo user's password: {}",
            s.organizations,
            s.users,
            s.leads,
            crate::seed::DEMO_PASSWORD
        ));
    } else if options.demo {
        say("--demo loads data on the first run only (or with --reset); keeping the data as it is");
    }

    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if !postgres::port_is_free(bind_addr.port()) && bind_addr.ip().is_loopback() {
        bail!(
            "port {} is in use (another vectra?); choose another with BIND_ADDR=127.0.0.1:<port>",
            bind_addr.port()
        );
    }
    let api_url = format!("http://localhost:{}", bind_addr.port());
    let smtp = env("SMTP_URL");
    let config = Config::from_lookup(|name| match name {
        "DATABASE_URL" => Some(database_url.clone()),
        // Migrated above already.
        "DATABASE_ADMIN_URL" => None,
        "JWT_SECRET" => env("JWT_SECRET").or_else(|| Some(state.jwt_secret.clone())),
        "BIND_ADDR" => Some(bind_addr.to_string()),
        "PUBLIC_BASE_URL" => env("PUBLIC_BASE_URL").or_else(|| Some(api_url.clone())),
        other => std::env::var(other).ok(),
    })?;
    let mailbox = smtp.is_none().then(|| Arc::new(LocalMailbox::new()));
    let app = Application::build_with(
        config.clone(),
        Some(DevMode {
            mailbox: mailbox.clone(),
        }),
    )
    .await?;

    let org = first_organization(&admin_url(DATABASE)).await;
    banner(&api_url, smtp.as_deref(), &config, &state, &org);
    app.run_until(crate::app::shutdown_signal()).await?;
    say("stopping PostgreSQL");
    cluster.stop()?;
    for worker in &mut workers {
        worker.stop()?;
    }
    say("stopped");
    drop(lock);
    Ok(())
}

/// The application's database on the server of `server_url`, created when
/// missing.
async fn ensure_database(server_url: &str) -> anyhow::Result<()> {
    let server = crate::db::connect(server_url).await?;
    let exists = server
        .query_opt("select 1 from pg_database where datname = $1", &[&DATABASE])
        .await?
        .is_some();
    if !exists {
        server
            .batch_execute(&format!("create database {DATABASE}"))
            .await?;
    }
    Ok(())
}

/// The Citus cluster: the database and the extension on every node, the
/// workers registered with the coordinator, which reaches them as the
/// superuser with its password (`pg_dist_authinfo`). The migration then
/// distributes the schema (`db::citus`).
async fn prepare_citus(state: &State) -> anyhow::Result<()> {
    let url = |port: u16, db: &str| {
        format!(
            "postgres://postgres:{}@127.0.0.1:{port}/{db}",
            state.superuser_password
        )
    };
    for port in std::iter::once(state.port).chain(state.worker_ports.iter().copied()) {
        ensure_database(&url(port, "postgres")).await?;
        let db = crate::db::connect(&url(port, DATABASE)).await?;
        db.batch_execute("create extension if not exists citus")
            .await
            .with_context(|| format!("create extension citus on the node of port {port}"))?;
    }
    let coordinator = crate::db::connect(&url(state.port, DATABASE)).await?;
    coordinator
        .execute(
            "insert into pg_dist_authinfo (nodeid, rolename, authinfo) values (0, 'postgres', 'password=' || $1)
             on conflict (rolename, nodeid) do update set authinfo = excluded.authinfo",
            &[&state.superuser_password],
        )
        .await
        .context("pg_dist_authinfo for the superuser")?;
    coordinator
        .execute(
            "select citus_set_coordinator_host('127.0.0.1', $1)",
            &[&i32::from(state.port)],
        )
        .await?;
    // A worker whose port changed since the last run (it was taken): the
    // same node, moved.
    let known: Vec<(i32, i32)> = coordinator
        .query(
            "select nodeid, nodeport from pg_dist_node where groupid <> 0 and nodename = '127.0.0.1' order by nodeid",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for ((node, old), new) in known.iter().zip(&state.worker_ports) {
        if *old != i32::from(*new) {
            coordinator
                .execute(
                    "select citus_update_node($1, '127.0.0.1', $2)",
                    &[node, &i32::from(*new)],
                )
                .await
                .context("moving a worker to its new port")?;
        }
    }
    for port in &state.worker_ports {
        let port = i32::from(*port);
        coordinator
            .execute(
                "select citus_add_node('127.0.0.1', $1)
                  where not exists (select from pg_dist_node where nodename = '127.0.0.1' and nodeport = $1)",
                &[&port],
            )
            .await
            .with_context(|| format!("adding the worker of port {port}"))?;
    }
    // Strict tenant routing (auth.begin_request): a statement of an
    // organization user's request that would touch more than one shard is
    // an error here, so a route that stops routing fails in development.
    coordinator
        .batch_execute(&format!(
            "alter database {DATABASE} set vectra.tenant_routing = 'strict'"
        ))
        .await
        .context("vectra.tenant_routing")?;
    say(format!(
        "Citus: a coordinator (port {}) and {} workers (ports {:?}); strict tenant routing",
        state.port,
        state.worker_ports.len(),
        state.worker_ports
    ));
    Ok(())
}

/// The database, migrated, and the DBA login.
async fn prepare_database(
    server_url: &str,
    admin_url: &str,
    database_url: &str,
    state: &State,
) -> anyhow::Result<()> {
    ensure_database(server_url).await?;
    let migrate = MigrateConfig::from_lookup(|name| match name {
        "DATABASE_ADMIN_URL" => Some(admin_url.to_owned()),
        "DATABASE_URL" => Some(database_url.to_owned()),
        other => std::env::var(other).ok(),
    })?;
    let outcome = crate::db::migrate::run(&migrate).await?;
    if !outcome.applied.is_empty() {
        say(format!("applied {} migrations", outcome.applied.len()));
    }
    let admin = crate::db::connect(admin_url).await?;
    let dba_exists = admin
        .query_opt("select 1 from pg_roles where rolname = $1", &[&DBA_ROLE])
        .await?
        .is_some();
    if !dba_exists {
        admin
            .batch_execute(&format!(
                "create role {DBA_ROLE} login in role vectra_tenant_reader; grant connect on database {DATABASE} to {DBA_ROLE}"
            ))
            .await?;
    }
    // A DBA's session cannot take the service's connections or hold locks
    // and disk for long (docs/security.md, "For DBAs"); every run, so older
    // clusters get them too.
    admin
        .batch_execute(&format!(
            "alter role {DBA_ROLE} connection limit {DBA_CONNECTION_LIMIT};
             alter role {DBA_ROLE} set statement_timeout = '60s';
             alter role {DBA_ROLE} set idle_in_transaction_session_timeout = '5min';
             alter role {DBA_ROLE} set temp_file_limit = '1GB'"
        ))
        .await?;
    // The password in clear never crosses the wire: a SCRAM verifier.
    let verifier = postgres_protocol::password::scram_sha_256(state.dba_password.as_bytes());
    admin
        .batch_execute(&format!(
            "alter role {DBA_ROLE} password '{}'",
            verifier.replace('\'', "''")
        ))
        .await?;
    // On Citus, the DBA's queries reach the workers as the DBA.
    if crate::db::citus::is_cluster(&admin).await? {
        admin
            .execute(
                "insert into pg_dist_authinfo (nodeid, rolename, authinfo) values (0, $1, 'password=' || $2)
                 on conflict (rolename, nodeid) do update set authinfo = excluded.authinfo",
                &[&DBA_ROLE, &state.dba_password],
            )
            .await
            .context("pg_dist_authinfo for the DBA login")?;
    }
    Ok(())
}

async fn first_organization(admin_url: &str) -> Option<(String, String)> {
    let client = crate::db::connect(admin_url).await.ok()?;
    let row = client
        .query_opt(
            "select id::text, name from organizations where status = 'active' order by created_at limit 1",
            &[],
        )
        .await
        .ok()??;
    Some((row.get(0), row.get(1)))
}

fn banner(
    api: &str,
    smtp: Option<&str>,
    config: &Config,
    state: &State,
    org: &Option<(String, String)>,
) {
    let port = state.port;
    let mail = match smtp {
        Some(url) => format!("sent to SMTP_URL ({})", crate::config::redact_url(url)),
        None => format!("{api}/dev/mailbox (JSON: {api}/dev/mailbox.json)"),
    };
    let (org_id, org_note) = match org {
        Some((id, name)) => (id.clone(), format!(" -- {name}")),
        None => (
            "<organization id>".to_owned(),
            " -- register first; ids: select id, name from organizations (as postgres)".to_owned(),
        ),
    };
    println!(
        "
Vectra dev is running. Ctrl-C stops the API and its PostgreSQL.

  API            {api}   (GET /health, /api/v1/...)
  Threads        {threads} serving requests (WORKER_THREADS, 1 by default in dev mode)
  Mailbox        {mail}
  Platform admin register with {admin} (then verify it from the mailbox)

  DBA, read-only, one tenant at a time:
    PGPASSWORD={dba_pw} psql -h 127.0.0.1 -p {port} -U {DBA_ROLE} {DATABASE}
    begin;
    select set_config('app.org_id', '{org_id}', true),{org_note}
           set_config('app.role', 'owner', true);
    select email, role, status from users;
    rollback;
  Superuser:
    PGPASSWORD={su_pw} psql -h 127.0.0.1 -p {port} -U postgres {DATABASE}
",
        threads = match tokio::runtime::Handle::current().metrics().num_workers() {
            1 => "1 worker thread".to_owned(),
            n => format!("{n} worker threads"),
        },
        admin = config.instance.platform_admin_email,
        dba_pw = state.dba_password,
        su_pw = state.superuser_password,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_mode_stays_on_loopback_unless_told_otherwise() {
        let addr = |raw: &str, anywhere: bool, smtp: bool| {
            bind_addr(Some(raw.to_owned()), anywhere, smtp).map_err(|e| e.to_string())
        };
        assert_eq!(
            bind_addr(None, false, false).expect("default"),
            "127.0.0.1:8080".parse().expect("address")
        );
        assert!(addr("[::1]:9000", false, false).is_ok());
        assert!(addr("127.0.0.2:9000", false, false).is_ok());
        for public in ["0.0.0.0:8080", "[::]:8080", "192.168.1.10:8080"] {
            let refused = addr(public, false, false).expect_err(public);
            assert!(
                refused.contains("--listen-anywhere") && refused.contains("/dev/mailbox"),
                "{refused}"
            );
            assert!(addr(public, true, false).is_ok(), "{public}");
        }
        // With SMTP_URL there is no mailbox, but the dev pages still say so.
        let refused = addr("0.0.0.0:8080", false, true).expect_err("smtp");
        assert!(
            !refused.contains("mailbox") && refused.contains("dev pages"),
            "{refused}"
        );
        assert!(addr("not an address", true, false).is_err());
    }
}
