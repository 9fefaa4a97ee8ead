//! Builds the vendor service from its settings and runs it until shutdown.

use std::net::SocketAddr;

use blangkon_platform::CancellationToken;
use blangkon_platform::host::{HostError, ServiceHost};
use blangkon_proto::vendor::vendor_service_server::{SERVICE_NAME, VendorServiceServer};
use sea_orm::DatabaseConnection;
use tonic::service::Routes;

use crate::api::VendorApi;
use crate::settings::Settings;
use crate::store::{self, migrations::Migrator};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Host(#[from] HostError),
    #[error(transparent)]
    Grpc(#[from] blangkon_platform::grpc::GrpcError),
    #[error(transparent)]
    Settings(#[from] blangkon_platform::settings::SettingsError),
    #[error("adding configured regencies: {0}")]
    Regencies(#[source] sea_orm::DbErr),
}

/// A vendor service bound to its port, ready to run.
#[derive(Debug)]
pub struct Application {
    host: ServiceHost,
    api: VendorApi,
}

impl Application {
    /// Connects, migrates (if configured), adds the configured regencies,
    /// creates missing topics and binds the gRPC listener. Nothing is served
    /// until [`Application::run`].
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let extra_regencies = settings.extra_regencies()?;
        let host = ServiceHost::start::<Migrator>(
            "vendor",
            &settings.grpc,
            &settings.database,
            &settings.kafka,
            &settings.auth,
            crate::events::TOPICS,
        )
        .await?;
        for regency in &extra_regencies {
            if store::add_regency(host.database(), regency, "config")
                .await
                .map_err(StartError::Regencies)?
            {
                tracing::info!(code = %regency.code, name = %regency.name, "regency added from configuration");
            }
        }
        let api = VendorApi::new(host.database().clone(), host.waker());
        Ok(Self { host, api })
    }

    /// The bound address (the real port when configured with port 0).
    pub fn address(&self) -> SocketAddr {
        self.host.address()
    }

    pub fn database(&self) -> &DatabaseConnection {
        self.host.database()
    }

    /// Serves until `shutdown`; then drains calls and flushes the outbox.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StartError> {
        let service = VendorServiceServer::with_interceptor(self.api, self.host.authenticator());
        Ok(self
            .host
            .serve(&[SERVICE_NAME], Routes::new(service), shutdown)
            .await?)
    }
}
