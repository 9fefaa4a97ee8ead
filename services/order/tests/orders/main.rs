//! The order service with the real vendor and catalog services, each on its
//! own database, all on one Kafka-protocol broker.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
mod lifecycle;
mod placing;

use std::time::{Duration, Instant};

use blangkon_catalog::CatalogService;
use blangkon_order::OrderService;
use blangkon_platform::auth::{Role, TokenRequest};
use blangkon_platform::kafka::topics;
use blangkon_platform::service::Service;
use blangkon_platform::suite::Running;
use blangkon_proto::catalog as cat;
use blangkon_proto::catalog::catalog_service_client::CatalogServiceClient;
use blangkon_proto::order as pb;
use blangkon_proto::order::order_service_client::OrderServiceClient;
use blangkon_proto::vendor as ven;
use blangkon_proto::vendor::vendor_service_client::VendorServiceClient;
use blangkon_testkit::fixtures::{self, SECRET, token, with};
use blangkon_testkit::{EventReader, TestDatabase, TestSuite, stop};
use blangkon_vendor::VendorService;
use tonic::Code;

const WORK_UNIT: &str = "Dinas Pendidikan Kota Semarang";
const REGENCY: &str = "33.74";

/// The services the order service calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peer {
    Vendor,
    Catalog,
}

struct Suite {
    services: TestSuite,
    vendor_db: TestDatabase,
    catalog_db: TestDatabase,
    order_db: TestDatabase,
    vendor: Option<Running<VendorService>>,
    catalog: Option<Running<CatalogService>>,
    order: Running<OrderService>,
    vendor_id: String,
    product_id: String,
}

fn buyer() -> String {
    token(
        Role::Buyer,
        TokenRequest {
            subject: "ppk@disdik".into(),
            regency: Some("33.74".into()),
            work_unit: Some(WORK_UNIT.into()),
            ..TokenRequest::default()
        },
    )
}

fn province() -> String {
    token(
        Role::ProvinceAdmin,
        TokenRequest {
            subject: "admin".into(),
            ..TokenRequest::default()
        },
    )
}

impl Suite {
    fn vendor_token(&self) -> String {
        token(
            Role::Vendor,
            TokenRequest {
                subject: "umkm".into(),
                vendor_id: Some(self.vendor_id.clone()),
                ..TokenRequest::default()
            },
        )
    }

    async fn orders(&self) -> OrderServiceClient<tonic::transport::Channel> {
        OrderServiceClient::connect(self.order.endpoint())
            .await
            .unwrap()
    }

    async fn catalog(&self) -> CatalogServiceClient<tonic::transport::Channel> {
        CatalogServiceClient::connect(self.catalog.as_ref().unwrap().endpoint())
            .await
            .unwrap()
    }

    /// Stops `peer`; answers its port, to start it there again.
    async fn stop_peer(&mut self, peer: Peer) -> u16 {
        async fn stop_on_port<S: Service>(running: Option<Running<S>>) -> u16 {
            let running = running.expect("the peer is running");
            let port = running.address().port();
            stop(running).await;
            port
        }
        match peer {
            Peer::Vendor => stop_on_port(self.vendor.take()).await,
            Peer::Catalog => stop_on_port(self.catalog.take()).await,
        }
    }

    /// Starts `peer` again on `port`, where the order service calls it.
    async fn restart_peer(&mut self, peer: Peer, port: u16) {
        match peer {
            Peer::Vendor => {
                let settings = self.services.settings_at(&self.vendor_db, port);
                self.vendor = Some(self.services.start(settings).await);
            }
            Peer::Catalog => {
                let mut settings = self
                    .services
                    .settings_at::<CatalogService>(&self.catalog_db, port);
                settings.service.search_poll_ms = 100;
                self.catalog = Some(self.services.start(settings).await);
            }
        }
    }

    async fn place(&self, key: &str, quantity: i64) -> Result<pb::Order, tonic::Status> {
        self.place_lines(key, &[(&self.product_id, quantity)]).await
    }

    async fn stock(&self) -> i64 {
        self.stock_of(&self.product_id).await
    }

    async fn count_orders(&self) -> i64 {
        self.order_db.count("orders").await
    }

    async fn stop(self) {
        stop(self.order).await;
        if let Some(catalog) = self.catalog {
            stop(catalog).await;
        }
        if let Some(vendor) = self.vendor {
            stop(vendor).await;
        }
    }
}

/// Vendor, catalog and order services; one verified vendor in Kota
/// Semarang with one listed product (Rp25,000 a box, 500 in stock).
async fn suite() -> Suite {
    let services = TestSuite::new();
    services.kafka.create_topic(topics::VENDOR_EVENTS, 6).await;
    let (vendor_db, catalog_db, order_db) = (
        TestDatabase::new().await,
        TestDatabase::new().await,
        TestDatabase::new().await,
    );

    let vendor = services.start_on::<VendorService>(&vendor_db).await;
    let vendor_address = vendor.address();
    let mut catalog_settings = services.settings::<CatalogService>(&catalog_db);
    catalog_settings.service.search_poll_ms = 100;
    let catalog = services.start(catalog_settings).await;

    let mut order_settings = services.settings::<OrderService>(&order_db);
    order_settings.service.vendor_endpoint = vendor.endpoint();
    order_settings.service.catalog_endpoint = catalog.endpoint();
    order_settings.service.call_timeout_ms = 2_000;
    let order = services.start(order_settings).await;

    // Onboard a vendor through the vendor service.
    let mut vendors = VendorServiceClient::connect(format!("http://{vendor_address}"))
        .await
        .unwrap();
    vendors
        .join_regency(with(
            &province(),
            ven::JoinRegencyRequest {
                code: "33.74".into(),
            },
        ))
        .await
        .unwrap();
    let registered = vendors
        .register_vendor(with(
            &province(),
            fixtures::individual_vendor("Katering Bu Sri", "33.74"),
        ))
        .await
        .unwrap()
        .into_inner();
    vendors
        .verify_vendor(with(
            &province(),
            ven::VerifyVendorRequest {
                vendor_id: registered.id.clone(),
                note: String::new(),
            },
        ))
        .await
        .unwrap();

    let mut suite = Suite {
        services,
        vendor_db,
        catalog_db,
        order_db,
        vendor: Some(vendor),
        catalog: Some(catalog),
        order,
        vendor_id: registered.id,
        product_id: String::new(),
    };
    suite.product_id = suite
        .listed_product(cat::ProductDetails {
            name: "Nasi Kotak Ayam Bakar".into(),
            description: "Nasi, ayam bakar, lalapan".into(),
            category_code: "katering.nasi-kotak".into(),
            unit: "kotak".into(),
            price: 25_000,
            min_order_quantity: 20,
            stock: 500,
            image_urls: vec![],
            delivery_regencies: vec!["33.74".into()],
            domestic_product: true,
        })
        .await;
    suite
}

impl Suite {
    /// Lists a product of the suite's vendor, waiting until the catalog
    /// has heard over Kafka that the vendor is verified.
    async fn listed_product(&self, details: cat::ProductDetails) -> String {
        fixtures::listed_product(&mut self.catalog().await, &self.vendor_token(), details).await
    }

    async fn stock_of(&self, product_id: &str) -> i64 {
        self.catalog()
            .await
            .get_product(with(
                &token(Role::Service, TokenRequest::default()),
                cat::GetProductRequest {
                    product_id: product_id.into(),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .details
            .unwrap()
            .stock
    }

    async fn place_lines(
        &self,
        key: &str,
        lines: &[(&str, i64)],
    ) -> Result<pb::Order, tonic::Status> {
        self.orders()
            .await
            .place_order(with(
                &buyer(),
                pb::PlaceOrderRequest {
                    idempotency_key: key.into(),
                    lines: lines
                        .iter()
                        .map(|(product_id, quantity)| pb::OrderLine {
                            product_id: product_id.to_string(),
                            quantity: *quantity,
                        })
                        .collect(),
                    note: String::new(),
                },
            ))
            .await
            .map(tonic::Response::into_inner)
    }
}

fn key() -> String {
    format!("po-{}", uuid::Uuid::now_v7())
}

/// With `peer` down a placing fails UNAVAILABLE and leaves no order and
/// no stock taken; once `peer` is back, a retry with the same key places
/// the order, and a second retry answers that same order.
async fn a_placing_survives_an_outage_of(peer: Peer) {
    let mut s = suite().await;
    let port = s.stop_peer(peer).await;

    let k = key();
    let down = s.place(&k, 20).await.unwrap_err();
    assert_eq!(down.code(), Code::Unavailable, "{down}");
    assert_eq!(s.count_orders().await, 0);
    if peer == Peer::Vendor {
        assert_eq!(s.stock().await, 500, "the reservation was released");
    }

    s.restart_peer(peer, port).await;
    let placed = s.place(&k, 20).await.unwrap();
    let retried = s.place(&k, 20).await.unwrap();
    assert_eq!(placed.id, retried.id);
    assert_eq!(s.count_orders().await, 1);
    assert_eq!(s.stock().await, 480);
    s.stop().await;
}
