//! Settings, tokens and running services for tests that start the real
//! services: one place for what every service's integration tests need.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use blangkon_platform::CancellationToken;
use blangkon_platform::auth::{Role, TokenIssuer, TokenRequest, bearer};
use blangkon_platform::settings::{AuthSettings, DatabaseSettings, GrpcSettings, KafkaSettings};
use blangkon_proto::catalog as cat;
use blangkon_proto::catalog::catalog_service_client::CatalogServiceClient;
use tonic::Request;
use tonic::transport::Channel;

use crate::{TestDatabase, TestKafka};

/// The JWT secret every service in a test is configured with.
pub const SECRET: &str = "integration-test-secret-0123456789abcdef";

/// A loopback listener on a free port.
pub fn grpc() -> GrpcSettings {
    GrpcSettings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        shutdown_grace_secs: 5,
    }
}

pub fn database(db: &TestDatabase) -> DatabaseSettings {
    DatabaseSettings {
        url: db.url.clone(),
        max_connections: 5,
        migrate_on_start: true,
    }
}

/// Kafka settings for `k` with consumer groups of the test's own (`group`);
/// topics are created through the broker's API unless it is the mock
/// cluster, which has none.
pub fn kafka(k: &TestKafka, group: &str) -> KafkaSettings {
    KafkaSettings {
        bootstrap_servers: k.bootstrap.clone(),
        relay_poll_ms: 200,
        delivery_timeout_ms: 3000,
        create_topics: !k.is_mock(),
        consumer_group_prefix: group.to_string(),
        ..KafkaSettings::default()
    }
}

pub fn auth() -> AuthSettings {
    AuthSettings {
        jwt_secret: SECRET.into(),
        ..AuthSettings::default()
    }
}

/// A token for `role`, signed with [`SECRET`], valid for ten minutes.
pub fn token(role: Role, request: TokenRequest) -> String {
    TokenIssuer::new(SECRET, None)
        .issue(role, request, Duration::from_secs(600))
        .expect("issue test token")
}

/// `message` with `token` as its bearer.
pub fn with<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", bearer(token).expect("bearer token"));
    request
}

/// Creates a product as the vendor of `vendor_token` and publishes it. The
/// catalog hears that a vendor is verified over Kafka, so creating is
/// retried for up to 30 s until it has; returns the product's id.
pub async fn listed_product(
    catalog: &mut CatalogServiceClient<Channel>,
    vendor_token: &str,
    details: cat::ProductDetails,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    let product = loop {
        let created = catalog
            .create_product(with(
                vendor_token,
                cat::CreateProductRequest {
                    details: Some(details.clone()),
                },
            ))
            .await;
        match created {
            Ok(p) => break p.into_inner(),
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("the catalog never saw the vendor verified: {e}"),
        }
    };
    catalog
        .publish_product(with(
            vendor_token,
            cat::PublishProductRequest {
                product_id: product.id.clone(),
            },
        ))
        .await
        .expect("publish the product");
    product.id
}

/// A service running on its own task until [`Running::stop`].
pub struct Running<E> {
    pub address: SocketAddr,
    shutdown: CancellationToken,
    handle: tokio::task::JoinHandle<Result<(), E>>,
}

impl<E: std::fmt::Debug + Send + 'static> Running<E> {
    /// Runs `run` (a service's `Application::run`) with a shutdown token.
    pub fn spawn<F>(address: SocketAddr, run: impl FnOnce(CancellationToken) -> F) -> Self
    where
        F: std::future::Future<Output = Result<(), E>> + Send + 'static,
    {
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(run(shutdown.clone()));
        Self {
            address,
            shutdown,
            handle,
        }
    }

    /// Signals shutdown and waits (30 s at most) for a clean stop.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let stopped = tokio::time::timeout(Duration::from_secs(30), self.handle)
            .await
            .expect("service stops within 30 s")
            .expect("service task");
        if let Err(e) = stopped {
            panic!("service stopped with an error: {e:?}");
        }
    }
}
