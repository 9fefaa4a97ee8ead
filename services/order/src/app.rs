//! The order service as the platform's skeleton runs it: the gRPC API over
//! its peers (vendor and catalog), the projection of vendor events, and the
//! sweeper of abandoned placings.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use blangkon_platform::auth::ServiceCredentials;
use blangkon_platform::host::ServiceHost;
use blangkon_platform::kafka::topics;
use blangkon_platform::metrics::StatusCounts;
use blangkon_platform::service::{About, Service, StartError};
use blangkon_proto::order::order_service_server::{OrderServiceServer, SERVICE_NAME};
use tonic::service::Routes;

use crate::api::OrderApi;
use crate::peers::{Peer, Peers};
use crate::placing::Placer;
use crate::settings::Settings;
use crate::sweeper::Sweeper;
use crate::{OrderService, Orders};

impl Service for OrderService {
    const ABOUT: About = About::new("order", 50053, &[SERVICE_NAME], crate::events::TOPICS)
        .calling(&["vendor", "catalog"]);
    type Section = crate::settings::OrderSettings;
    type Migrator = crate::store::migrations::Migrator;

    async fn build(host: &mut ServiceHost, settings: &Settings) -> Result<Routes, StartError> {
        // Placing checks vendors against this projection (crate::vendors).
        host.consume(
            crate::vendors::VENDOR_PROJECTION,
            &[topics::VENDOR_EVENTS],
            Arc::new(crate::vendors::VendorProjection),
        )?;
        let order = &settings.service;
        let deadline = Duration::from_millis(order.call_timeout_ms);
        let connecting = |e| StartError::step("connecting to the vendor and catalog services", e);
        // The order service's own identity: tokens for the vendor and
        // catalog audiences, nothing that could sign one.
        let credentials = ServiceCredentials::new(&settings.platform.auth).map_err(|e| {
            StartError::step(
                "setting up the order service's client credentials",
                std::io::Error::other(e),
            )
        })?;
        let peers = Peers::new(
            Peer::connect(
                "vendor",
                &order.vendor_endpoint,
                &order.vendor_audience,
                deadline,
                &order.peer_tls,
            )
            .map_err(connecting)?,
            Peer::connect(
                "catalog",
                &order.catalog_endpoint,
                &order.catalog_audience,
                deadline,
                &order.peer_tls,
            )
            .map_err(connecting)?,
            Arc::new(credentials),
        );
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
        let checks = placer.vendor_checks();
        host.metrics().counter_fn(
            "order_vendor_checks_from_projection",
            "Placings whose vendor check the order service's own vendor projection answered",
            move || checks.by_projection.load(Ordering::Relaxed),
        );
        let checks = placer.vendor_checks();
        host.metrics().counter_fn(
            "order_vendor_checks_from_vendor_service",
            "Placings whose vendor check asked the vendor service (a vendor the projection has not \
             heard of, or does not hold verified)",
            move || checks.by_vendor_service.load(Ordering::Relaxed),
        );
        let orders =
            Orders::new(host.database().clone(), host.waker(), peers, placer).counting(counts);
        let api = OrderApi::new(orders);
        Ok(Routes::new(host.authenticated(
            OrderServiceServer::new(api).max_decoding_message_size(host.max_message_bytes()),
        )))
    }
}
