//! The order service as the platform's skeleton runs it: the gRPC API over
//! its peers (vendor and catalog), and the sweeper of abandoned placings.

use std::time::Duration;

use blangkon_platform::host::ServiceHost;
use blangkon_platform::metrics::StatusCounts;
use blangkon_platform::service::{About, Service, StartError};
use blangkon_proto::order::order_service_server::{OrderServiceServer, SERVICE_NAME};
use tonic::service::Routes;

use crate::api::OrderApi;
use crate::peers::Peers;
use crate::placing::Placer;
use crate::settings::Settings;
use crate::sweeper::Sweeper;
use crate::{OrderService, Orders};

impl Service for OrderService {
    const ABOUT: About = About::new("order", 50053, &[SERVICE_NAME], crate::events::TOPICS);
    type Section = crate::settings::OrderSettings;
    type Migrator = crate::store::migrations::Migrator;

    async fn build(host: &mut ServiceHost, settings: &Settings) -> Result<Routes, StartError> {
        let order = &settings.service;
        let peers = Peers::connect(
            &order.vendor_endpoint,
            &order.catalog_endpoint,
            Duration::from_millis(order.call_timeout_ms),
            settings.platform.auth.jwt_secret.expose(),
        )
        .map_err(|e| StartError::step("connecting to the vendor and catalog services", e))?;
        let sweeper = Sweeper::new(
            host.database().clone(),
            peers.clone(),
            Duration::from_secs(order.abandoned_placing_secs),
        );
        host.run_beside("abandoned placing sweeper", |shutdown| {
            sweeper.run(shutdown)
        });
        let counts = StatusCounts::registered(
            host.metrics(),
            "orders",
            "Orders that reached each status (placed, accepted, ... cancelled), counted as the change commits",
        );
        let placer = Placer::new(
            host.database().clone(),
            host.waker(),
            peers.clone(),
            order.max_order_total,
            order.placing_lease(),
        )
        .counting(counts.clone());
        let orders =
            Orders::new(host.database().clone(), host.waker(), peers, placer).counting(counts);
        let api = OrderApi::new(orders);
        Ok(Routes::new(OrderServiceServer::with_interceptor(
            api,
            host.authenticator(),
        )))
    }
}
