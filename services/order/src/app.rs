//! Builds the order service from its settings and runs it until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use blangkon_platform::auth::{TokenVerifier, interceptor};
use blangkon_platform::outbox::{Relay, RelayWaker};
use blangkon_platform::{CancellationToken, db, grpc, kafka};
use blangkon_proto::order::order_service_server::{OrderServiceServer, SERVICE_NAME};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::api::OrderApi;
use crate::peers::Peers;
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

/// An order service bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    db: DatabaseConnection,
    relay: Relay,
    api: OrderApi,
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
            && let Err(e) = kafka::ensure_topics(&settings.kafka, crate::events::TOPICS).await
        {
            tracing::warn!(error = %e, "could not create topics at start");
        }
        let waker = RelayWaker::default();
        let relay = Relay::new("order", db.clone(), &settings.kafka, waker.clone())?;
        let peers = Peers::connect(
            &settings.order.vendor_endpoint,
            &settings.order.catalog_endpoint,
            Duration::from_millis(settings.order.call_timeout_ms),
            &settings.auth.jwt_secret,
        )?;
        let listener = grpc::bind(settings.grpc.listen).await?;
        let address = listener
            .local_addr()
            .map_err(|source| grpc::GrpcError::Bind {
                addr: settings.grpc.listen,
                source,
            })?;
        tracing::info!(%address, "order service listening");
        Ok(Self {
            listener,
            address,
            api: OrderApi::new(db.clone(), waker, peers, settings.order.max_order_total),
            db,
            relay,
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

    /// Serves until `shutdown`; then drains calls and flushes the outbox.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StartError> {
        let relay = tokio::spawn(self.relay.run(shutdown.clone()));
        let service = OrderServiceServer::with_interceptor(self.api, interceptor(self.verifier));
        let served = grpc::serve(
            self.listener,
            &[SERVICE_NAME],
            Routes::new(service),
            self.grace,
            shutdown.clone(),
        )
        .await;
        shutdown.cancel();
        if let Err(e) = relay.await {
            tracing::error!(error = %e, "outbox relay task failed");
        }
        self.db.close_by_ref().await.ok();
        Ok(served?)
    }
}
