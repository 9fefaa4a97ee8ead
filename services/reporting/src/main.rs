//! `blangkon-reporting`: runs the reporting service, its migrations, or a
//! rebuild of its read model from the domain topics.

use std::path::PathBuf;

use anyhow::Context;
use blangkon_platform::{db, grpc, settings, telemetry};
use blangkon_reporting::{Application, Settings, rebuild, store::migrations::Migrator};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(version, about = "Blangkon reporting service")]
struct Cli {
    /// Optional TOML file between the defaults and BLANGKON_REPORTING__* variables.
    #[arg(long, env = "BLANGKON_REPORTING_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve gRPC (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Empty the read model and replay the domain topics from their start
    /// into it, then exit. Stop the service first.
    Rebuild,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings: Settings = settings::load("reporting", cli.config.as_deref())?;
    let _telemetry = telemetry::init("reporting", &settings.telemetry)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            let db = db::connect(&settings.database).await?;
            db::migrate::<Migrator>(&db).await?;
            tracing::info!("migrations applied");
        }
        Command::Rebuild => {
            let outcome = rebuild::rebuild_configured(&settings).await?;
            println!("{outcome}");
        }
        Command::Serve => {
            let app = Application::build(settings)
                .await
                .context("starting the reporting service")?;
            app.run(grpc::shutdown_on_signals()).await?;
        }
    }
    Ok(())
}
