//! `vectra`: the command line. Everything else lives in the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use vectra::config::{Config, MigrateConfig};

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
}

#[tokio::main]
async fn main() -> ExitCode {
    vectra::telemetry::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve => serve().await,
        Command::Migrate => migrate().await,
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
    if let Some(admin_url) = &config.database_admin_url {
        let outcome = vectra::db::migrate::run(&MigrateConfig {
            database_admin_url: admin_url.clone(),
            database_url: Some(config.database_url.clone()),
        })
        .await?;
        tracing::info!(applied = ?outcome.applied, "migrations checked");
    }
    let app = vectra::app::Application::build(config).await?;
    tracing::info!(addr = %app.local_addr()?, "listening");
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
