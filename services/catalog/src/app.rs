//! Builds the catalog service from its settings and runs it until shutdown:
//! the gRPC API, the outbox relay, the vendor-status projection and the
//! search feed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use blangkon_platform::CancellationToken;
use blangkon_platform::host::{HostError, ServiceHost};
use blangkon_platform::inbox::InboxConsumer;
use blangkon_platform::kafka::topics;
use blangkon_proto::catalog::catalog_service_server::{CatalogServiceServer, SERVICE_NAME};
use sea_orm::DatabaseConnection;
use tonic::service::Routes;

use crate::api::CatalogApi;
use crate::events::{self, VendorProjection};
use crate::search::Search;
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
    #[error("building the search index: {0}")]
    Search(#[source] sea_orm::DbErr),
}

/// A catalog service bound to its port, ready to run.
#[derive(Debug)]
pub struct Application {
    host: ServiceHost,
    api: CatalogApi,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let mut host = ServiceHost::start::<Migrator>(
            "catalog",
            &settings.grpc,
            &settings.database,
            &settings.kafka,
            &settings.auth,
            events::TOPICS,
        )
        .await?;
        let db = host.database().clone();
        let projection = InboxConsumer::new(
            events::VENDOR_PROJECTION,
            db.clone(),
            &settings.kafka,
            &[topics::VENDOR_EVENTS],
            Arc::new(VendorProjection),
        )?;
        host.run_beside("vendor projection", move |shutdown| {
            projection.run(shutdown)
        });
        let (search, from) = Search::load(&db).await.map_err(StartError::Search)?;
        let poll = Duration::from_millis(settings.catalog.search_poll_ms);
        let feed = search.clone();
        let feed_db = db.clone();
        host.run_beside("search feed", move |shutdown| {
            feed.follow(feed_db, from, poll, shutdown)
        });
        let api = CatalogApi::new(db, host.waker(), search, settings.catalog.max_price);
        Ok(Self { host, api })
    }

    pub fn address(&self) -> SocketAddr {
        self.host.address()
    }

    pub fn database(&self) -> &DatabaseConnection {
        self.host.database()
    }

    /// Serves until `shutdown`; then drains calls, flushes the outbox and
    /// commits the projection's offsets.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StartError> {
        let service = CatalogServiceServer::with_interceptor(self.api, self.host.authenticator());
        Ok(self
            .host
            .serve(&[SERVICE_NAME], Routes::new(service), shutdown)
            .await?)
    }
}
