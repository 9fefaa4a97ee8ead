//! The order service with the real vendor and catalog services, each on its
//! own database, all on one Kafka-protocol broker.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_goes_from_placed_to_completed_with_one_event_per_step() {
    let s = suite().await;
    let order = s.place(&key(), 100).await.unwrap();
    assert_eq!(order.status, pb::OrderStatus::Placed as i32);
    assert_eq!(order.total, 2_500_000);
    assert_eq!(order.items[0].unit_price, 25_000);
    assert_eq!(s.stock().await, 400);

    let mut orders = s.orders().await;
    let vendor = s.vendor_token();
    let id = || pb::TransitionRequest {
        order_id: order.id.clone(),
        note: String::new(),
    };
    orders.accept_order(with(&vendor, id())).await.unwrap();
    orders.ship_order(with(&vendor, id())).await.unwrap();
    orders
        .receive_order(with(
            &buyer(),
            pb::ReceiveOrderRequest {
                order_id: order.id.clone(),
                bast_number: "BAST/027/DISDIK/2026".into(),
                bast_date: "2026-11-20".into(),
            },
        ))
        .await
        .unwrap();
    orders
        .pay_order(with(
            &buyer(),
            pb::PayOrderRequest {
                order_id: order.id.clone(),
                payment_reference: "SP2D-0001".into(),
            },
        ))
        .await
        .unwrap();
    let done = orders
        .complete_order(with(&buyer(), id()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.status, pb::OrderStatus::Completed as i32);
    assert_eq!(done.bast_number, "BAST/027/DISDIK/2026");
    assert_eq!(done.history.len(), 6);

    let reader = EventReader::new(&s.services.kafka.bootstrap, topics::ORDER_EVENTS);
    let events = reader
        .read_until(Duration::from_secs(30), |e| {
            e.iter().filter(|e| e.key == order.id).count() >= 6
        })
        .await;
    let statuses: Vec<String> = events
        .iter()
        .filter(|e| e.key == order.id)
        .map(|e| {
            let payload = e.envelope.payload.as_ref().unwrap();
            let snapshot = if e.envelope.event_type.ends_with("OrderPlaced") {
                payload
                    .to_msg::<blangkon_proto::events::OrderPlaced>()
                    .unwrap()
                    .order
            } else {
                payload
                    .to_msg::<blangkon_proto::events::OrderStatusChanged>()
                    .unwrap()
                    .order
            };
            let snapshot = snapshot.unwrap();
            assert_eq!(
                (
                    snapshot.vendor_legal_form.as_str(),
                    snapshot.vendor_scale.as_str()
                ),
                ("individual", "micro")
            );
            assert_eq!(snapshot.items[0].category_code, "katering.nasi-kotak");
            snapshot.status
        })
        .collect();
    assert_eq!(
        statuses,
        [
            "placed",
            "accepted",
            "shipped",
            "received",
            "paid",
            "completed"
        ]
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_transitions_and_parties_are_refused() {
    let s = suite().await;
    let order = s.place(&key(), 20).await.unwrap();
    let mut orders = s.orders().await;
    let vendor = s.vendor_token();
    let id = || pb::TransitionRequest {
        order_id: order.id.clone(),
        note: String::new(),
    };

    let ship_early = orders.ship_order(with(&vendor, id())).await.unwrap_err();
    assert_eq!(ship_early.code(), Code::FailedPrecondition);
    assert_eq!(ship_early.message(), "a placed order cannot be shipped");
    let buyer_accepts = orders.accept_order(with(&buyer(), id())).await.unwrap_err();
    assert_eq!(buyer_accepts.code(), Code::PermissionDenied);
    let vendor_pays = orders
        .pay_order(with(
            &vendor,
            pb::PayOrderRequest {
                order_id: order.id.clone(),
                payment_reference: "x".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(vendor_pays.code(), Code::PermissionDenied);

    orders.accept_order(with(&vendor, id())).await.unwrap();
    orders.ship_order(with(&vendor, id())).await.unwrap();
    let cancel_late = orders.cancel_order(with(&buyer(), id())).await.unwrap_err();
    assert_eq!(cancel_late.message(), "a shipped order cannot be cancelled");

    // Cancelling before shipping gives the stock back.
    let second = s.place(&key(), 30).await.unwrap();
    assert_eq!(s.stock().await, 500 - 20 - 30);
    orders
        .cancel_order(with(
            &buyer(),
            pb::TransitionRequest {
                order_id: second.id.clone(),
                note: "anggaran dialihkan".into(),
            },
        ))
        .await
        .unwrap();
    assert_eq!(s.stock().await, 500 - 20);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_order_is_placed_once_even_when_retries_race() {
    let s = suite().await;
    let k = key();
    let first = s.place(&k, 40).await.unwrap();
    let again = s.place(&k, 40).await.unwrap();
    assert_eq!(again.id, first.id);
    let other_body = s.place(&k, 41).await.unwrap_err();
    assert_eq!(other_body.code(), Code::AlreadyExists);

    let racing = key();
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let address = s.order.address();
        let product = s.product_id.clone();
        let racing = racing.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = OrderServiceClient::connect(format!("http://{address}"))
                .await
                .unwrap();
            // A call that finds another one placing with its key is told
            // to retry, as a client would.
            let mut aborted = 0;
            loop {
                let placed = client
                    .place_order(with(
                        &buyer(),
                        pb::PlaceOrderRequest {
                            idempotency_key: racing.clone(),
                            lines: vec![pb::OrderLine {
                                product_id: product.clone(),
                                quantity: 50,
                            }],
                            note: String::new(),
                        },
                    ))
                    .await;
                match placed {
                    Ok(order) => return order.into_inner().id,
                    Err(e) if e.code() == Code::Aborted && aborted < 100 => {
                        aborted += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) => panic!("a racing retry failed: {e}"),
                }
            }
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap());
    }
    assert_eq!(ids.len(), 1, "five racing retries, one order");
    assert_eq!(s.count_orders().await, 2);
    assert_eq!(s.stock().await, 500 - 40 - 50);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_keeps_the_price_it_was_placed_at() {
    let s = suite().await;
    let order = s.place(&key(), 20).await.unwrap();
    s.catalog()
        .await
        .update_product(with(
            &s.vendor_token(),
            cat::UpdateProductRequest {
                product_id: s.product_id.clone(),
                details: Some(cat::ProductDetails {
                    name: "Nasi Kotak Ayam Bakar".into(),
                    category_code: "katering.nasi-kotak".into(),
                    unit: "kotak".into(),
                    price: 30_000,
                    min_order_quantity: 20,
                    stock: 480,
                    delivery_regencies: vec!["33.74".into()],
                    ..Default::default()
                }),
            },
        ))
        .await
        .unwrap();
    let again = s
        .orders()
        .await
        .get_order(with(
            &buyer(),
            pb::GetOrderRequest {
                order_id: order.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((again.items[0].unit_price, again.total), (25_000, 500_000));
    let next = s.place(&key(), 20).await.unwrap();
    assert_eq!(next.total, 600_000);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_orders_are_refused_before_anything_is_written() {
    let s = suite().await;
    let below_minimum = s.place(&key(), 5).await.unwrap_err();
    assert_eq!(below_minimum.code(), Code::InvalidArgument);
    assert!(
        below_minimum.message().contains("minimum order"),
        "{}",
        below_minimum.message()
    );
    use tonic_types::StatusExt;
    assert_eq!(
        below_minimum
            .get_details_bad_request()
            .unwrap()
            .field_violations[0]
            .field,
        "lines[0].quantity"
    );
    // Rp60,000,000 a unit: four units pass the Rp200,000,000 ceiling.
    let generator = s
        .listed_product(cat::ProductDetails {
            name: "Genset Diesel 100 kVA".into(),
            description: "Generator set untuk gedung kantor".into(),
            category_code: "katering.nasi-kotak".into(),
            unit: "unit".into(),
            price: 60_000_000,
            min_order_quantity: 1,
            stock: 10,
            image_urls: vec![],
            delivery_regencies: vec!["33.74".into()],
            domestic_product: true,
        })
        .await;
    let over_limit = s
        .place_lines(&key(), &[(&s.product_id, 20), (&generator, 4)])
        .await
        .unwrap_err();
    assert_eq!(over_limit.code(), Code::InvalidArgument, "{over_limit}");
    assert!(over_limit.message().contains("200000000"), "{over_limit}");
    assert_eq!(s.stock_of(&generator).await, 10, "the stock was given back");
    // More than the stock is the catalog's state, named by line.
    let too_many = s
        .place_lines(&key(), &[(&generator, 1), (&s.product_id, 501)])
        .await
        .unwrap_err();
    assert_eq!(too_many.code(), Code::FailedPrecondition, "{too_many}");
    let refusals = blangkon_platform::validation::refusals_of(&too_many);
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0].kind, "OUT_OF_STOCK");
    assert_eq!(refusals[0].subject, "lines[1]");
    assert_eq!(s.stock_of(&generator).await, 10);
    let bad = s
        .orders()
        .await
        .place_order(with(
            &buyer(),
            pb::PlaceOrderRequest {
                idempotency_key: "short".into(),
                lines: vec![pb::OrderLine {
                    product_id: "nope".into(),
                    quantity: 0,
                }],
                note: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    let vendor_places = s
        .orders()
        .await
        .place_order(with(
            &s.vendor_token(),
            pb::PlaceOrderRequest {
                idempotency_key: key(),
                lines: vec![pb::OrderLine {
                    product_id: s.product_id.clone(),
                    quantity: 20,
                }],
                note: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(vendor_places.code(), Code::PermissionDenied);
    assert_eq!(s.count_orders().await, 0);
    assert_eq!(s.stock().await, 500);
    s.stop().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_catalog_down_nothing_is_left_behind_and_a_retry_succeeds_once() {
    a_placing_survives_an_outage_of(Peer::Catalog).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_vendor_service_down_the_stock_is_given_back_and_a_retry_succeeds_once() {
    a_placing_survives_an_outage_of(Peer::Vendor).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_vendor_cannot_receive_orders() {
    let s = suite().await;
    let mut vendors = VendorServiceClient::connect(s.vendor.as_ref().unwrap().endpoint())
        .await
        .unwrap();
    vendors
        .suspend_vendor(with(
            &province(),
            ven::SuspendVendorRequest {
                vendor_id: s.vendor_id.clone(),
                reason: "laporan harga tidak wajar".into(),
            },
        ))
        .await
        .unwrap();
    // At once: the vendor service says so, whatever the catalog has heard.
    let refused = s.place(&key(), 20).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused}");
    assert_eq!(s.count_orders().await, 0);
    assert_eq!(s.stock().await, 500);

    // Reinstated, it can take orders again.
    vendors
        .reinstate_vendor(with(
            &province(),
            ven::ReinstateVendorRequest {
                vendor_id: s.vendor_id.clone(),
                note: String::new(),
            },
        ))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let placed = loop {
        match s.place(&key(), 20).await {
            Ok(order) => break order,
            // The catalog hears of the reinstatement over Kafka.
            Err(e) if e.code() == Code::FailedPrecondition && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("a reinstated vendor could not take an order: {e}"),
        }
    };
    assert_eq!(placed.status, pb::OrderStatus::Placed as i32);
    assert_eq!(s.stock().await, 480);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_held_by_an_abandoned_placing_is_given_back() {
    use blangkon_order::store;
    let s = suite().await;
    let order_db = s.order_db.connect().await;
    let long_ago = blangkon_platform::time::now() - chrono::Duration::minutes(10);

    // A placing that reserved and then stopped, as the process left it.
    let buyer_key = |key: &str| store::BuyerKey {
        regency: REGENCY.into(),
        work_unit: WORK_UNIT.into(),
        key: key.into(),
    };
    let attempt = |key: &str, started_at| store::attempt::Model {
        buyer_regency: REGENCY.into(),
        work_unit: WORK_UNIT.into(),
        key: key.into(),
        reservation_id: blangkon_order::placing::reservation_id(&buyer_key(key)),
        started_at,
    };
    let abandoned = key();
    let reservation = blangkon_order::placing::reservation_id(&buyer_key(&abandoned));
    s.catalog()
        .await
        .reserve_stock(with(
            &token(Role::Service, TokenRequest::default()),
            cat::ReserveStockRequest {
                reservation_id: reservation.clone(),
                lines: vec![cat::QuoteLine {
                    product_id: s.product_id.clone(),
                    quantity: 20,
                }],
            },
        ))
        .await
        .unwrap();
    store::record_attempt(&order_db, attempt(&abandoned, long_ago))
        .await
        .unwrap();
    // And one whose order was written though its attempt was left behind.
    let placed_key = key();
    let placed = s.place(&placed_key, 20).await.unwrap();
    store::record_attempt(&order_db, attempt(&placed_key, long_ago))
        .await
        .unwrap();
    // A live attempt is younger than the abandonment age: left alone.
    let live = key();
    store::record_attempt(&order_db, attempt(&live, blangkon_platform::time::now()))
        .await
        .unwrap();
    assert_eq!(s.stock().await, 460);

    let peers = blangkon_order::peers::Peers::connect(
        &s.vendor.as_ref().unwrap().endpoint(),
        &s.catalog.as_ref().unwrap().endpoint(),
        Duration::from_secs(2),
        SECRET,
    )
    .unwrap();
    let sweeper =
        blangkon_order::sweeper::Sweeper::new(order_db.clone(), peers, Duration::from_secs(60));
    assert_eq!(sweeper.sweep().await.unwrap(), 1, "only the abandoned one");
    assert_eq!(
        s.stock().await,
        480,
        "its 20 came back; the order keeps its 20"
    );
    assert_eq!(sweeper.sweep().await.unwrap(), 0, "nothing twice");
    let left = store::stale_attempts(
        &order_db,
        blangkon_platform::time::now() + chrono::Duration::minutes(1),
        10,
    )
    .await
    .unwrap();
    assert_eq!(
        left.iter().map(|a| a.key.as_str()).collect::<Vec<_>>(),
        [live.as_str()]
    );

    // A call with the key of a live placing is told to retry, and takes
    // nothing meanwhile.
    let busy = s.place(&live, 20).await.unwrap_err();
    assert_eq!(busy.code(), Code::Aborted, "{busy}");
    assert_eq!(s.stock().await, 480);

    // The order that was placed still holds its stock; a late retry of the
    // abandoned key places its order once.
    assert_eq!(
        s.place(&placed_key, 20).await.unwrap().id,
        placed.id,
        "the placed order replays"
    );
    let late = s.place(&abandoned, 20).await.unwrap();
    assert_eq!(s.place(&abandoned, 20).await.unwrap().id, late.id);
    assert_eq!(s.stock().await, 460);
    assert_eq!(s.count_orders().await, 2);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_work_unit_of_the_same_name_in_another_regency_is_another_buyer() {
    let s = suite().await;
    // Kabupaten Kendal has a work unit of the very same name.
    let namesake = token(
        Role::Buyer,
        TokenRequest {
            subject: "ppk@kendal".into(),
            regency: Some("33.24".into()),
            work_unit: Some(WORK_UNIT.into()),
            ..TokenRequest::default()
        },
    );
    let shared_key = key();
    let semarang = s.place(&shared_key, 20).await.unwrap();
    let request = || pb::PlaceOrderRequest {
        idempotency_key: shared_key.clone(),
        lines: vec![pb::OrderLine {
            product_id: s.product_id.clone(),
            quantity: 20,
        }],
        note: String::new(),
    };
    // The same key and body from the namesake is its own order, with its
    // own stock: not Semarang's order handed back.
    let kendal = s
        .orders()
        .await
        .place_order(with(&namesake, request()))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(kendal.id, semarang.id);
    assert_eq!(kendal.buyer_regency, "33.24");
    assert_eq!(s.stock().await, 460, "each order holds its own 20");
    let again = s
        .orders()
        .await
        .place_order(with(&namesake, request()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.id, kendal.id, "a retry is still a retry");

    let mut orders = s.orders().await;
    let listed = |response: tonic::Response<pb::ListOrdersResponse>| -> Vec<String> {
        response
            .into_inner()
            .orders
            .into_iter()
            .map(|o| o.id)
            .collect()
    };
    let mine = orders
        .list_orders(with(&namesake, pb::ListOrdersRequest::default()))
        .await
        .unwrap();
    assert_eq!(listed(mine), [kendal.id.as_str()]);
    let theirs = orders
        .list_orders(with(&buyer(), pb::ListOrdersRequest::default()))
        .await
        .unwrap();
    assert_eq!(listed(theirs), [semarang.id.as_str()]);
    let peek = orders
        .get_order(with(
            &namesake,
            pb::GetOrderRequest {
                order_id: semarang.id.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(peek.code(), Code::PermissionDenied, "{peek}");
    let cancel = orders
        .cancel_order(with(
            &namesake,
            pb::TransitionRequest {
                order_id: semarang.id.clone(),
                note: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(cancel.code(), Code::PermissionDenied, "{cancel}");

    // Cancelling its own order gives back its own stock, not Semarang's.
    orders
        .cancel_order(with(
            &namesake,
            pb::TransitionRequest {
                order_id: kendal.id.clone(),
                note: String::new(),
            },
        ))
        .await
        .unwrap();
    assert_eq!(s.stock().await, 480);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_sees_its_own_orders_and_lists_filter_and_page() {
    let s = suite().await;
    let first = s.place(&key(), 20).await.unwrap();
    let between = blangkon_platform::time::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = s.place(&key(), 30).await.unwrap();
    // Another work unit, in Kabupaten Kendal, buys from the same vendor.
    let kendal_buyer = token(
        Role::Buyer,
        TokenRequest {
            subject: "ppk@rsud-kendal".into(),
            regency: Some("33.24".into()),
            work_unit: Some("RSUD Dr. Soewondo Kendal".into()),
            ..TokenRequest::default()
        },
    );
    let kendal = s
        .orders()
        .await
        .place_order(with(
            &kendal_buyer,
            pb::PlaceOrderRequest {
                idempotency_key: key(),
                lines: vec![pb::OrderLine {
                    product_id: s.product_id.clone(),
                    quantity: 25,
                }],
                note: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    s.orders()
        .await
        .accept_order(with(
            &s.vendor_token(),
            pb::TransitionRequest {
                order_id: second.id.clone(),
                note: String::new(),
            },
        ))
        .await
        .unwrap();

    let list = |who: String, request: pb::ListOrdersRequest| {
        let address = s.order.address();
        async move {
            OrderServiceClient::connect(format!("http://{address}"))
                .await
                .unwrap()
                .list_orders(with(&who, request))
                .await
                .map(|r| {
                    r.into_inner()
                        .orders
                        .into_iter()
                        .map(|o| o.id)
                        .collect::<Vec<_>>()
                })
        }
    };
    let all = pb::ListOrdersRequest::default;
    let role = |role: Role, regency: Option<&str>, vendor: Option<&str>| {
        token(
            role,
            TokenRequest {
                subject: "someone".into(),
                regency: regency.map(Into::into),
                vendor_id: vendor.map(Into::into),
                ..TokenRequest::default()
            },
        )
    };
    let everything = vec![first.id.clone(), second.id.clone(), kendal.id.clone()];
    assert_eq!(
        list(buyer(), all()).await.unwrap(),
        [first.id.as_str(), second.id.as_str()]
    );
    assert_eq!(
        list(kendal_buyer.clone(), all()).await.unwrap(),
        [kendal.id.as_str()]
    );
    assert_eq!(list(s.vendor_token(), all()).await.unwrap(), everything);
    let stranger = uuid::Uuid::now_v7().to_string();
    assert!(
        list(role(Role::Vendor, None, Some(&stranger)), all())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        list(role(Role::RegencyAdmin, Some("33.74"), None), all())
            .await
            .unwrap(),
        [first.id.as_str(), second.id.as_str()]
    );
    assert_eq!(
        list(role(Role::RegencyAdmin, Some("33.24"), None), all())
            .await
            .unwrap(),
        [kendal.id.as_str()]
    );
    for reader in [Role::ProvinceAdmin, Role::Analyst] {
        assert_eq!(
            list(role(reader, None, None), all()).await.unwrap(),
            everything
        );
    }
    let peeking = list(
        s.vendor_token(),
        pb::ListOrdersRequest {
            vendor_id: stranger.clone(),
            ..all()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(peeking.code(), Code::PermissionDenied);

    // GetOrder follows the same lines.
    let get = |who: String, id: String| {
        let address = s.order.address();
        async move {
            OrderServiceClient::connect(format!("http://{address}"))
                .await
                .unwrap()
                .get_order(with(&who, pb::GetOrderRequest { order_id: id }))
                .await
        }
    };
    assert!(get(buyer(), first.id.clone()).await.is_ok());
    assert_eq!(
        get(buyer(), kendal.id.clone()).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    assert_eq!(
        get(
            role(Role::RegencyAdmin, Some("33.24"), None),
            first.id.clone()
        )
        .await
        .unwrap_err()
        .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        get(role(Role::Vendor, None, Some(&stranger)), first.id.clone())
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let seen = get(role(Role::Analyst, None, None), kendal.id.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seen.items.len(), 1);
    assert_eq!(seen.history.len(), 1);
    assert_eq!(
        get(buyer(), uuid::Uuid::now_v7().to_string())
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );

    // Filters: status, date range, and pages that neither skip nor repeat.
    let analyst = role(Role::Analyst, None, None);
    assert_eq!(
        list(
            analyst.clone(),
            pb::ListOrdersRequest {
                status: pb::OrderStatus::Accepted as i32,
                ..all()
            }
        )
        .await
        .unwrap(),
        [second.id.as_str()]
    );
    let at = |t: chrono::DateTime<chrono::Utc>| Some(blangkon_platform::time::to_timestamp(t));
    assert_eq!(
        list(
            analyst.clone(),
            pb::ListOrdersRequest {
                placed_from: at(between),
                ..all()
            }
        )
        .await
        .unwrap(),
        [second.id.as_str(), kendal.id.as_str()]
    );
    assert_eq!(
        list(
            analyst.clone(),
            pb::ListOrdersRequest {
                placed_until: at(between),
                ..all()
            }
        )
        .await
        .unwrap(),
        [first.id.as_str()]
    );
    let mut client = s.orders().await;
    let mut paged = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_orders(with(
                &analyst,
                pb::ListOrdersRequest {
                    page_size: 2,
                    page_token: page_token.clone(),
                    ..all()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(page.orders.len() <= 2);
        paged.extend(page.orders.into_iter().map(|o| o.id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(paged, everything);

    let bad = list(
        analyst.clone(),
        pb::ListOrdersRequest {
            page_size: 501,
            page_token: "not-ours".into(),
            vendor_id: "nope".into(),
            placed_from: at(between),
            placed_until: at(between),
            ..all()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    use tonic_types::StatusExt;
    let mut fields: Vec<String> = bad
        .get_details_bad_request()
        .unwrap()
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        ["page_size", "page_token", "placed_until", "vendor_id"]
    );
    s.stop().await;
}
