//! The reporting service as the platform's skeleton runs it: the public
//! gRPC API, the projection of the domain topics (whose analyst records the
//! outbox relay publishes), and the `rebuild` command.

use std::sync::Arc;

use blangkon_platform::host::ServiceHost;
use blangkon_platform::service::{About, Service, ServiceCommand, StartError};
use blangkon_proto::reporting::reporting_service_server::{ReportingServiceServer, SERVICE_NAME};
use tonic::service::Routes;

use crate::ReportingService;
use crate::api::ReportingApi;
use crate::open_data::OpenData;
use crate::projection::{self, Projection};
use crate::settings::Settings;

impl Service for ReportingService {
    const ABOUT: About =
        About::new("reporting", 50054, &[SERVICE_NAME], projection::TOPICS).publishing(8054);
    type Section = crate::settings::ReportingSettings;
    type Migrator = crate::store::migrations::Migrator;

    async fn build(host: &mut ServiceHost, settings: &Settings) -> Result<Routes, StartError> {
        // Orders a replica of an older release changed after the migration
        // that began keeping versions (during a rolling upgrade) get their
        // current version kept now, before the projection goes on.
        let kept = crate::store::keep_current_versions(host.database())
            .await
            .map_err(|e| StartError::step("keeping the orders' current versions", e))?;
        if kept > 0 {
            tracing::info!(
                orders = kept,
                "kept the current version of orders changed meanwhile"
            );
        }
        // Flags computed with other thresholds (or none yet, after the
        // migration that added them) are recomputed before events go on.
        match projection::refresh_red_flags(host.database(), &settings.service.red_flags).await {
            Ok(Some((raised, cleared))) => {
                tracing::info!(
                    raised,
                    cleared,
                    "recomputed the red flags with the thresholds in force"
                );
            }
            Ok(None) => {}
            Err(e) => return Err(StartError::step("recomputing the red flags", e)),
        }
        let handler = Arc::new(Projection::new(
            host.waker(),
            settings.service.red_flags.clone(),
        ));
        host.consume(projection::CONSUMER, projection::SOURCES, handler)?;
        let (db, thresholds, waker) = (
            host.database().clone(),
            settings.service.red_flags.clone(),
            host.waker(),
        );
        host.run_beside("red flags", move |shutdown| {
            projection::keep_red_flags(db, thresholds, waker, shutdown)
        });
        let api = ReportingApi::new(host.database().clone(), settings.service.clone());
        let open_data = OpenData::new(host.database().clone(), settings.service.clone());
        let web = crate::http::routes(open_data.clone(), host.http_settings().clone())
            .merge(crate::site::routes(open_data));
        host.publish(web);
        // Open data: no token needed, a sent one must be valid.
        Ok(Routes::new(host.open(
            ReportingServiceServer::new(api).max_decoding_message_size(host.max_message_bytes()),
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
