//! Builds the order service from its settings and runs it until shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use blangkon_platform::CancellationToken;
use blangkon_platform::host::{HostError, ServiceHost};
use blangkon_proto::order::order_service_server::{OrderServiceServer, SERVICE_NAME};
use sea_orm::DatabaseConnection;
use tonic::service::Routes;

use crate::api::OrderApi;
use crate::peers::Peers;
use crate::settings::Settings;
use crate::store::migrations::Migrator;
use crate::sweeper::Sweeper;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Host(#[from] HostError),
    #[error(transparent)]
    Grpc(#[from] blangkon_platform::grpc::GrpcError),
}

/// An order service bound to its port, ready to run.
#[derive(Debug)]
pub struct Application {
    host: ServiceHost,
    api: OrderApi,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let mut host = ServiceHost::start::<Migrator>(
            "order",
            &settings.grpc,
            &settings.database,
            &settings.kafka,
            &settings.auth,
            crate::events::TOPICS,
        )
        .await?;
        let peers = Peers::connect(
            &settings.order.vendor_endpoint,
            &settings.order.catalog_endpoint,
            Duration::from_millis(settings.order.call_timeout_ms),
            &settings.auth.jwt_secret,
        )?;
        let sweeper = Sweeper::new(
            host.database().clone(),
            peers.clone(),
            Duration::from_secs(settings.order.abandoned_placing_secs),
        );
        host.run_beside("abandoned placing sweeper", |shutdown| {
            sweeper.run(shutdown)
        });
        let api = OrderApi::new(
            host.database().clone(),
            host.waker(),
            peers,
            settings.order.max_order_total,
            settings.order.placing_lease(),
        );
        Ok(Self { host, api })
    }

    pub fn address(&self) -> SocketAddr {
        self.host.address()
    }

    pub fn database(&self) -> &DatabaseConnection {
        self.host.database()
    }

    /// Serves until `shutdown`; then drains calls and flushes the outbox.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StartError> {
        let service = OrderServiceServer::with_interceptor(self.api, self.host.authenticator());
        Ok(self
            .host
            .serve(&[SERVICE_NAME], Routes::new(service), shutdown)
            .await?)
    }
}
