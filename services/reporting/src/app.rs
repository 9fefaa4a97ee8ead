//! The reporting service as the platform's skeleton runs it: the public
//! gRPC API, the projection of the domain topics (whose analyst records the
//! outbox relay publishes), and the `rebuild` command.

use std::sync::Arc;

use blangkon_platform::host::ServiceHost;
use blangkon_platform::kafka::TopicSpec;
use blangkon_platform::service::{self, Service, ServiceCommand, StartError};
use blangkon_proto::reporting::reporting_service_server::{ReportingServiceServer, SERVICE_NAME};
use tonic::service::Routes;

use crate::api::ReportingApi;
use crate::projection::{self, Projection};
use crate::settings::{ReportingSettings, Settings};
use crate::store::migrations::Migrator;

/// The reporting service.
#[derive(Debug)]
pub struct ReportingService;

/// A reporting service bound to its port, ready to run.
pub type Application = service::Application<ReportingService>;

impl Service for ReportingService {
    const NAME: &'static str = "reporting";
    const DEFAULT_PORT: u16 = 50054;
    const SECTION: &'static str = "reporting";
    const GRPC_SERVICES: &'static [&'static str] = &[SERVICE_NAME];
    const TOPICS: &'static [TopicSpec<'static>] = projection::TOPICS;
    type Section = ReportingSettings;
    type Migrator = Migrator;
    type Command = ReportingCommand;

    async fn build(host: &mut ServiceHost, settings: &Settings) -> Result<Routes, StartError> {
        let handler = Arc::new(Projection::new(host.waker()));
        host.consume(projection::CONSUMER, projection::SOURCES, handler)?;
        let api = ReportingApi::new(host.database().clone(), settings.service.clone());
        // Open data: no token needed, a sent one must be valid.
        Ok(Routes::new(ReportingServiceServer::with_interceptor(
            api,
            host.open_authenticator(),
        )))
    }
}

/// The reporting binary's own commands.
#[derive(Debug, clap::Subcommand)]
pub enum ReportingCommand {
    /// Empty the read model and replay the domain topics from their start
    /// into it, then exit. Stop the service first.
    Rebuild,
}

impl ServiceCommand<ReportingService> for ReportingCommand {
    async fn run(self, settings: Settings) -> anyhow::Result<()> {
        match self {
            Self::Rebuild => {
                let outcome = crate::rebuild::rebuild_configured(&settings).await?;
                println!("{outcome}");
            }
        }
        Ok(())
    }
}
