//! `vectra`: the command line. Everything else lives in the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use vectra::config::{Config, MigrateConfig};

/// mimalloc: the default allocator's locks and consolidation were a fifth of
/// the service's CPU under load (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "vectra",
    version,
    about = "Vectra API: multi-tenant backend with PostgreSQL row-level security"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (migrates first when DATABASE_ADMIN_URL is set).
    Serve,
    /// Apply pending migrations with DATABASE_ADMIN_URL, and give
    /// vectra_authenticator the password found in DATABASE_URL.
    Migrate,
    /// Run the API on this machine with one command: a private PostgreSQL
    /// under .vectra/ (found, created, started and stopped by vectra), and
    /// without SMTP_URL a mailbox page at /dev/mailbox.
    Dev {
        /// Delete the cluster and the secrets first, and start afresh.
        #[arg(long)]
        reset: bool,
        /// Load the seed-demo data on the first run.
        #[arg(long)]
        demo: bool,
        /// Where dev mode keeps its cluster and secrets.
        #[arg(long, default_value = ".vectra")]
        dir: std::path::PathBuf,
        /// Accept a BIND_ADDR that other machines can reach: they can then
        /// read the mailbox (every email and its links). Off by default.
        #[arg(long)]
        listen_anywhere: bool,
        /// A Citus cluster instead of one PostgreSQL: a coordinator and two
        /// workers, the schema distributed by organization (needs Citus
        /// installed for the PostgreSQL found; docs/scale-out.md).
        #[arg(long)]
        citus: bool,
    },
    /// Load a realistic, reproducible demo dataset (uses DATABASE_ADMIN_URL):
    /// organizations with their teams, campaigns, leads and meetings.
    SeedDemo {
        /// Organizations to create.
        #[arg(long, default_value_t = 10)]
        orgs: u32,
        /// Users per organization, the owner included.
        #[arg(long, default_value_t = 5)]
        users_per_org: u32,
        /// Leads per organization.
        #[arg(long, default_value_t = 100)]
        leads_per_org: u32,
        /// The same seed gives the same data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Add demo data even though the database has real users.
        #[arg(long)]
        force: bool,
    },
    /// Create a platform admin with a verified email (uses DATABASE_ADMIN_URL).
    /// The password is read from a prompt, or from standard input with
    /// --password-stdin.
    CreatePlatformAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Platform Admin")]
        full_name: String,
        /// Read the password from standard input (first line) instead of a prompt.
        #[arg(long)]
        password_stdin: bool,
    },
}

fn main() -> ExitCode {
    small_pages_only();
    let cli = Cli::parse();
    let threads = match vectra::config::worker_threads(|name| std::env::var(name).ok()) {
        Ok(threads) => threads,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    // `vectra dev` shares its host with its own PostgreSQL: there one worker
    // costs less CPU per request than one per core (docs/performance.md,
    // "Worker threads"), unless tokio's own variable asks otherwise.
    let dev = matches!(cli.command, Command::Dev { .. });
    let threads = threads
        .or_else(|| (dev && std::env::var_os("TOKIO_WORKER_THREADS").is_none()).then_some(1));
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = threads {
        runtime.worker_threads(threads);
    }
    match runtime.enable_all().build() {
        Ok(runtime) => runtime.block_on(run(cli)),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

/// No transparent huge pages for this process: mimalloc asks for them on
/// its arenas (`madvise`), and then a few bytes used in a 2 MiB region make
/// all of it resident: 45 of the 47 MB of anonymous memory of an idle
/// `vectra dev`, and a peak of 75 MB under load against 55 without
/// (docs/performance.md, "Peak memory"). The same as `MIMALLOC_ALLOW_THP=0`,
/// which mimalloc reads before `main`; here it holds without the variable,
/// for every page faulted from now on. Children (`vectra dev`'s PostgreSQL)
/// inherit it; PostgreSQL asks for no transparent huge pages anyway.
fn small_pages_only() {
    if let Err(e) = nix::sys::prctl::set_thp_disable(true) {
        eprintln!("warning: transparent huge pages stay on for this process: {e}");
    }
}

async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        // Dev mode talks to a person: its own lines, not every migration's.
        Command::Dev { .. } => vectra::telemetry::init_with_default("info,refinery_core=warn"),
        _ => vectra::telemetry::init(),
    }
    let result = match cli.command {
        Command::Serve => serve().await,
        Command::Migrate => migrate().await,
        Command::Dev {
            reset,
            demo,
            dir,
            listen_anywhere,
            citus,
        } => {
            vectra::dev::run(vectra::dev::DevOptions {
                dir,
                reset,
                demo,
                listen_anywhere,
                citus,
            })
            .await
        }
        Command::SeedDemo {
            orgs,
            users_per_org,
            leads_per_org,
            seed,
            force,
        } => {
            seed_demo(vectra::seed::DemoOptions {
                organizations: orgs,
                users_per_org,
                leads_per_org,
                seed,
                force,
            })
            .await
        }
        Command::CreatePlatformAdmin {
            email,
            full_name,
            password_stdin,
        } => create_platform_admin(&email, &full_name, password_stdin).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "vectra stopped");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    if let Some(migrate) = config.migrate_config() {
        let outcome = vectra::db::migrate::run(&migrate).await?;
        tracing::info!(applied = ?outcome.applied, "migrations checked");
    }
    let app = vectra::app::Application::build(config).await?;
    tracing::info!(
        addr = %app.local_addr()?,
        worker_threads = tokio::runtime::Handle::current().metrics().num_workers(),
        "listening"
    );
    app.run_until(vectra::app::shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn migrate() -> anyhow::Result<()> {
    let config = MigrateConfig::from_env()?;
    let outcome = vectra::db::migrate::run(&config).await?;
    if outcome.applied.is_empty() {
        println!("database is up to date");
    } else {
        for name in &outcome.applied {
            println!("applied {name}");
        }
    }
    if outcome.authenticator_password_set {
        println!("set the password of vectra_authenticator from DATABASE_URL");
    }
    Ok(())
}

async fn seed_demo(options: vectra::seed::DemoOptions) -> anyhow::Result<()> {
    let config = MigrateConfig::from_env()?;
    let s = vectra::seed::seed_demo(&config.database_admin_url, &options).await?;
    // Written, not printed: a closed pipe (`| head`) ends the listing
    // quietly instead of panicking.
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = (|| -> std::io::Result<()> {
        writeln!(
            out,
            "demo data: {} organizations, {} users, {} campaigns, {} leads, {} meetings in {:.1} s (seed {})",
            s.organizations,
            s.users,
            s.campaigns,
            s.leads,
            s.meetings,
            s.elapsed.as_secs_f64(),
            options.seed
        )?;
        writeln!(
            out,
            "every demo user's password: {}",
            vectra::seed::DEMO_PASSWORD
        )?;
        writeln!(
            out,
            "one owner per organization (organization, plan, status, email):"
        )?;
        for (name, plan, status, email) in &s.owners {
            writeln!(out, "  {name}\t{plan}\t{status}\t{email}")?;
        }
        Ok(())
    })();
    Ok(())
}

async fn create_platform_admin(
    email: &str,
    full_name: &str,
    password_stdin: bool,
) -> anyhow::Result<()> {
    let config = MigrateConfig::from_env()?;
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Repeat the password: ")?;
        anyhow::ensure!(first == again, "the passwords differ");
        first
    };
    let (email, id) = vectra::auth::platform_admin::create(
        &config.database_admin_url,
        email,
        full_name,
        &password,
    )
    .await?;
    println!("created platform admin {email} ({id}), email verified");
    Ok(())
}
