//! `blangkon-order`: runs the order service, or only its migrations.

use std::path::PathBuf;

use anyhow::Context;
use blangkon_order::{Application, Settings, store::migrations::Migrator};
use blangkon_platform::{db, grpc, settings, telemetry};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(version, about = "Blangkon order service")]
struct Cli {
    /// Optional TOML file between the defaults and BLANGKON_ORDER__* variables.
    #[arg(long, env = "BLANGKON_ORDER_CONFIG", global = true)]
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
    let settings: Settings = settings::load("order", cli.config.as_deref())?;
    let _telemetry = telemetry::init("order", &settings.telemetry)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            let db = db::connect(&settings.database).await?;
            db::migrate::<Migrator>(&db).await?;
            tracing::info!("migrations applied");
        }
        Command::Serve => {
            let app = Application::build(settings)
                .await
                .context("starting the order service")?;
            app.run(grpc::shutdown_on_signals()).await?;
        }
    }
    Ok(())
}
