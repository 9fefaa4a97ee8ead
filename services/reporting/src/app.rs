//! Builds the reporting service from its settings and runs it until
//! shutdown: the public gRPC API, the projection of the domain topics and
//! the outbox relay of the analyst streams.

use std::net::SocketAddr;
use std::sync::Arc;

use blangkon_platform::CancellationToken;
use blangkon_platform::host::{HostError, ServiceHost};
use blangkon_platform::inbox::InboxConsumer;
use blangkon_proto::reporting::reporting_service_server::{ReportingServiceServer, SERVICE_NAME};
use sea_orm::DatabaseConnection;
use tonic::service::Routes;

use crate::api::ReportingApi;
use crate::projection::{self, Projection};
use crate::settings::Settings;
use crate::store::migrations::Migrator;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Host(#[from] HostError),
    #[error(transparent)]
    Grpc(#[from] blangkon_platform::grpc::GrpcError),
    #[error("kafka: {0}")]
    Kafka(#[from] blangkon_platform::kafka::KafkaError),
}

/// A reporting service bound to its port, ready to run.
#[derive(Debug)]
pub struct Application {
    host: ServiceHost,
    api: ReportingApi,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let mut host = ServiceHost::start::<Migrator>(
            "reporting",
            &settings.grpc,
            &settings.database,
            &settings.kafka,
            &settings.auth,
            projection::TOPICS,
        )
        .await?;
        let db = host.database().clone();
        let consumer = InboxConsumer::new(
            projection::CONSUMER,
            db.clone(),
            &settings.kafka,
            projection::SOURCES,
            Arc::new(Projection::new(host.waker())),
        )?;
        host.run_beside("reporting projection", move |shutdown| {
            consumer.run(shutdown)
        });
        let api = ReportingApi::new(db, settings.reporting.clone());
        Ok(Self { host, api })
    }

    pub fn address(&self) -> SocketAddr {
        self.host.address()
    }

    pub fn database(&self) -> &DatabaseConnection {
        self.host.database()
    }

    /// Serves until `shutdown`; then drains calls, flushes the analyst
    /// streams and commits the projection's offsets.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StartError> {
        let service =
            ReportingServiceServer::with_interceptor(self.api, self.host.open_authenticator());
        Ok(self
            .host
            .serve(&[SERVICE_NAME], Routes::new(service), shutdown)
            .await?)
    }
}
