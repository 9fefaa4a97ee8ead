//! Builds the catalog service from its settings and runs it until shutdown:
//! the gRPC API, the outbox relay, and the vendor-status projection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use blangkon_platform::auth::{TokenVerifier, interceptor};
use blangkon_platform::inbox::InboxConsumer;
use blangkon_platform::kafka::topics;
use blangkon_platform::outbox::{Relay, RelayWaker};
use blangkon_platform::{CancellationToken, db, grpc, kafka};
use blangkon_proto::catalog::catalog_service_server::{CatalogServiceServer, SERVICE_NAME};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::api::CatalogApi;
use crate::events::{self, VendorProjection};
use crate::search::Search;
use crate::settings::Settings;
use crate::store::migrations::Migrator;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error(transparent)]
    Grpc(#[from] grpc::GrpcError),
    #[error("kafka: {0}")]
    Kafka(#[from] kafka::KafkaError),
}

/// A catalog service bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    db: DatabaseConnection,
    relay: Relay,
    projection: InboxConsumer,
    api: CatalogApi,
    search: Arc<Search>,
    search_from: i64,
    search_poll: Duration,
    verifier: Arc<TokenVerifier>,
    grace: Duration,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("address", &self.address)
            .finish()
    }
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let db = db::connect(&settings.database).await?;
        if settings.database.migrate_on_start {
            db::migrate::<Migrator>(&db).await?;
        }
        if settings.kafka.create_topics
            && let Err(e) = kafka::ensure_topics(&settings.kafka, events::TOPICS).await
        {
            tracing::warn!(error = %e, "could not create topics at start");
        }
        let waker = RelayWaker::default();
        let relay = Relay::new("catalog", db.clone(), &settings.kafka, waker.clone())?;
        let projection = InboxConsumer::new(
            events::VENDOR_PROJECTION,
            db.clone(),
            &settings.kafka,
            &[topics::VENDOR_EVENTS],
            Arc::new(VendorProjection),
        )?;
        let (search, search_from) = Search::load(&db).await.map_err(db::DbError::Migrate)?;
        let listener = grpc::bind(settings.grpc.listen).await?;
        let address = listener
            .local_addr()
            .map_err(|source| grpc::GrpcError::Bind {
                addr: settings.grpc.listen,
                source,
            })?;
        tracing::info!(%address, "catalog service listening");
        Ok(Self {
            listener,
            address,
            api: CatalogApi::new(
                db.clone(),
                waker,
                search.clone(),
                settings.catalog.max_price,
            ),
            search,
            search_from,
            search_poll: Duration::from_millis(settings.catalog.search_poll_ms),
            db,
            relay,
            projection,
            verifier: Arc::new(TokenVerifier::new(&settings.auth)),
            grace: Duration::from_secs(settings.grpc.shutdown_grace_secs),
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn database(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Serves until `shutdown`; then drains calls, flushes the outbox and
    /// commits the projection's offsets.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StartError> {
        let relay = tokio::spawn(self.relay.run(shutdown.clone()));
        let projection = tokio::spawn(self.projection.run(shutdown.clone()));
        let search = tokio::spawn(self.search.follow(
            self.db.clone(),
            self.search_from,
            self.search_poll,
            shutdown.clone(),
        ));
        let service = CatalogServiceServer::with_interceptor(self.api, interceptor(self.verifier));
        let served = grpc::serve(
            self.listener,
            &[SERVICE_NAME],
            Routes::new(service),
            self.grace,
            shutdown.clone(),
        )
        .await;
        shutdown.cancel();
        for (name, task) in [
            ("outbox relay", relay),
            ("vendor projection", projection),
            ("search feed", search),
        ] {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "{name} task failed");
            }
        }
        self.db.close_by_ref().await.ok();
        Ok(served?)
    }
}
