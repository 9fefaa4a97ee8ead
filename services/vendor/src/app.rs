//! Builds the vendor service from its settings and runs it until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use blangkon_platform::auth::{TokenVerifier, interceptor};
use blangkon_platform::outbox::{Relay, RelayWaker};
use blangkon_platform::{CancellationToken, db, grpc, kafka};
use blangkon_proto::vendor::vendor_service_server::{SERVICE_NAME, VendorServiceServer};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::api::VendorApi;
use crate::settings::Settings;
use crate::store::{self, migrations::Migrator};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error(transparent)]
    Grpc(#[from] grpc::GrpcError),
    #[error("kafka: {0}")]
    Kafka(#[from] kafka::KafkaError),
    #[error(transparent)]
    Settings(#[from] blangkon_platform::settings::SettingsError),
    #[error("adding configured regencies: {0}")]
    Regencies(#[source] sea_orm::DbErr),
}

/// A vendor service bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    db: DatabaseConnection,
    relay: Relay,
    api: VendorApi,
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
    /// Connects, migrates (if configured), creates missing topics and binds
    /// the gRPC listener. Nothing is served until [`Application::run`].
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let extra_regencies = settings.extra_regencies()?;
        let db = db::connect(&settings.database).await?;
        if settings.database.migrate_on_start {
            db::migrate::<Migrator>(&db).await?;
        }
        for regency in &extra_regencies {
            if store::add_regency(&db, regency, "config")
                .await
                .map_err(StartError::Regencies)?
            {
                tracing::info!(code = %regency.code, name = %regency.name, "regency added from configuration");
            }
        }
        if settings.kafka.create_topics
            && let Err(e) = kafka::ensure_topics(&settings.kafka, crate::events::TOPICS).await
        {
            // Not fatal: the outbox keeps events until the broker is back,
            // and brokers that auto-create topics need none of this.
            tracing::warn!(error = %e, "could not create topics at start");
        }
        let waker = RelayWaker::default();
        let relay = Relay::new("vendor", db.clone(), &settings.kafka, waker.clone())?;
        let listener = grpc::bind(settings.grpc.listen).await?;
        let address = listener
            .local_addr()
            .map_err(|source| grpc::GrpcError::Bind {
                addr: settings.grpc.listen,
                source,
            })?;
        tracing::info!(%address, "vendor service listening");
        Ok(Self {
            listener,
            address,
            api: VendorApi::new(db.clone(), waker),
            db,
            relay,
            verifier: Arc::new(TokenVerifier::new(&settings.auth)),
            grace: Duration::from_secs(settings.grpc.shutdown_grace_secs),
        })
    }

    /// The bound address (the real port when configured with port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn database(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Serves until `shutdown`; then drains calls and flushes the outbox.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StartError> {
        let relay = tokio::spawn(self.relay.run(shutdown.clone()));
        let service = VendorServiceServer::with_interceptor(self.api, interceptor(self.verifier));
        let served = grpc::serve(
            self.listener,
            &[SERVICE_NAME],
            Routes::new(service),
            self.grace,
            shutdown.clone(),
        )
        .await;
        // The relay stops on the same signal, after one last round.
        shutdown.cancel();
        if let Err(e) = relay.await {
            tracing::error!(error = %e, "outbox relay task failed");
        }
        self.db.close_by_ref().await.ok();
        Ok(served?)
    }
}
