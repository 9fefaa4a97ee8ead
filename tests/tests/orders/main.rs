//! Ordering through the whole suite: the order service with the real
//! vendor and catalog services, each on its own database, all on one
//! Kafka-protocol broker.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
mod lifecycle;
mod placing;

use std::time::Duration;

use blangkon_domain::VendorStatus;
use blangkon_platform::auth::{Role, TokenRequest};
use blangkon_platform::kafka::topics;
use blangkon_platform::validation::violations_of;
use blangkon_proto::catalog as cat;
use blangkon_proto::order as pb;
use blangkon_proto::order::order_service_client::OrderServiceClient;
use blangkon_proto::vendor as ven;
use blangkon_suite_tests::{Member, Suite, own_topics};
use blangkon_testkit::fixtures::{self, token, with};
use blangkon_testkit::{EventReader, eventually};
use sea_orm::EntityTrait as _;
use tonic::Code;

const WORK_UNIT: &str = "Dinas Pendidikan Kota Semarang";
const REGENCY: &str = "33.74";

/// The whole suite with one verified vendor in Kota Semarang and its one
/// listed product (Rp25,000 a box, 500 in stock, at least 20 an order).
struct Orders {
    suite: Suite,
    vendor_id: String,
    product_id: String,
}

/// Orders are placed on the suite: what the suite offers, `Orders` offers.
impl std::ops::Deref for Orders {
    type Target = Suite;

    fn deref(&self) -> &Suite {
        &self.suite
    }
}

impl std::ops::DerefMut for Orders {
    fn deref_mut(&mut self) -> &mut Suite {
        &mut self.suite
    }
}

fn buyer() -> String {
    fixtures::buyer_of(REGENCY, WORK_UNIT)
}

fn province() -> String {
    fixtures::province_admin()
}

async fn suite() -> Orders {
    let suite = Suite::open_on(own_topics(None).await).await;

    // Onboard a vendor through the vendor service.
    let mut vendors = suite.vendors().await;
    vendors
        .join_regency(with(
            &province(),
            ven::JoinRegencyRequest {
                code: REGENCY.into(),
            },
        ))
        .await
        .unwrap();
    let registered = vendors
        .register_vendor(with(
            &province(),
            fixtures::individual_vendor("Katering Bu Sri", REGENCY),
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

    let mut orders = Orders {
        suite,
        vendor_id: registered.id,
        product_id: String::new(),
    };
    orders.product_id = orders
        .listed_product(cat::ProductDetails {
            name: "Nasi Kotak Ayam Bakar".into(),
            description: "Nasi, ayam bakar, lalapan".into(),
            category_code: "katering.nasi-kotak".into(),
            unit: "kotak".into(),
            price: 25_000,
            min_order_quantity: 20,
            stock: 500,
            image_urls: vec![],
            delivery_regencies: vec![REGENCY.into()],
            domestic_product: true,
        })
        .await;
    orders
}

impl Orders {
    fn vendor_token(&self) -> String {
        fixtures::vendor_account(&self.vendor_id)
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

    async fn close(self) {
        self.suite.close().await;
    }

    /// Waits until the order service's projection holds the suite's
    /// vendor in `status` (it hears over Kafka).
    async fn order_service_holds_vendor(&self, status: VendorStatus) {
        let db = self.order_db.connect().await;
        eventually(
            &format!("the order service holds the vendor {status}"),
            Duration::from_secs(10),
            || async {
                match blangkon_order::store::find_vendor(&db, &self.vendor_id).await {
                    Ok(Some(row)) if row.status == status => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            },
        )
        .await;
    }

    /// Makes the order service's projection as if it had never heard of
    /// the suite's vendor (its registration older than the topic's
    /// retention, say): once it has heard, its row is deleted.
    async fn order_service_forgets_vendor(&self) {
        self.order_service_holds_vendor(VendorStatus::Verified)
            .await;
        let db = self.order_db.connect().await;
        blangkon_order::store::vendor::Entity::delete_by_id(self.vendor_id.clone())
            .exec(&db)
            .await
            .unwrap();
    }
    /// Lists a product of the suite's vendor, waiting until the catalog
    /// has heard over Kafka that the vendor is verified.
    async fn listed_product(&self, details: cat::ProductDetails) -> String {
        fixtures::listed_product(&mut self.catalog().await, &self.vendor_token(), details).await
    }

    async fn stock_of(&self, product_id: &str) -> i64 {
        self.catalog()
            .await
            .get_product(with(
                &token(Role::ProvinceAdmin, TokenRequest::default()),
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

/// With `peer` down (for the vendor service: with a vendor the order
/// service has not heard of) a placing fails UNAVAILABLE and leaves no order and
/// no stock taken; once `peer` is back, a retry with the same key places
/// the order, and a second retry answers that same order.
async fn a_placing_survives_an_outage_of(peer: Member) {
    let mut s = suite().await;
    if peer == Member::Vendor {
        // A vendor the order service knows needs no call (see
        // `a_vendor_the_order_service_knows_takes_orders_with_the_vendor_service_down`).
        s.order_service_forgets_vendor().await;
    }
    s.stop(peer).await;

    let k = key();
    let down = s.place(&k, 20).await.unwrap_err();
    assert_eq!(down.code(), Code::Unavailable, "{down}");
    assert_eq!(s.count_orders().await, 0);
    if peer == Member::Vendor {
        assert_eq!(s.stock().await, 500, "the reservation was released");
    }

    s.start(peer).await;
    let placed = s.place(&k, 20).await.unwrap();
    let retried = s.place(&k, 20).await.unwrap();
    assert_eq!(placed.id, retried.id);
    assert_eq!(s.count_orders().await, 1);
    assert_eq!(s.stock().await, 480);
    s.close().await;
}
