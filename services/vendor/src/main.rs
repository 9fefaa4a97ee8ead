//! `blangkon-vendor`: runs the vendor service, or only its migrations.

use std::path::PathBuf;

use anyhow::Context;
use blangkon_platform::{db, grpc, settings, telemetry};
use blangkon_vendor::{Application, Settings, store::migrations::Migrator};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(version, about = "Blangkon vendor service")]
struct Cli {
    /// Optional TOML file between the defaults and BLANGKON_VENDOR__* variables.
    #[arg(long, env = "BLANGKON_VENDOR_CONFIG", global = true)]
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings: Settings = settings::load("vendor", cli.config.as_deref())?;
    let _telemetry = telemetry::init("vendor", &settings.telemetry)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            let db = db::connect(&settings.database).await?;
            db::migrate::<Migrator>(&db).await?;
            tracing::info!("migrations applied");
        }
        Command::Serve => {
            let app = Application::build(settings)
                .await
                .context("starting the vendor service")?;
            app.run(grpc::shutdown_on_signals()).await?;
        }
    }
    Ok(())
}
