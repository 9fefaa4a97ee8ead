//! Reporting through the whole suite: the reporting service with the real
//! vendor, catalog and order services, each on its own database, all on one
//! Kafka-protocol broker (PostgreSQL and tansu in CI).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod public_http;
mod scenario;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use blangkon_platform::inbox::{self, Applied, ReceivedEvent};
use blangkon_platform::kafka::topics;
use blangkon_proto::catalog as cat;
use blangkon_proto::order as ord;
use blangkon_proto::reporting as pb;
use blangkon_proto::reporting::reporting_service_server::ReportingService as _;
use blangkon_proto::vendor as ven;
use blangkon_reporting::api::ReportingApi;
use blangkon_reporting::projection::{CONSUMER, Projection};
use blangkon_reporting::settings::ReportingSettings;
use blangkon_suite_tests::{Member, Suite, own_topics};
use blangkon_testkit::fixtures::{self, with};
use blangkon_testkit::{EventReader, TestDatabase, eventually};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use tonic::Request;

// Personal and private data given to the other services; none of it may
// reach a public answer or an analyst stream.
const PRIVATE: &[&str] = &[
    "3374015708800002", // NIK
    "2010123456",       // bank account
    "081225001234",     // phone
    "sri@example.id",   // e-mail
    "Jl. Pandanaran",   // address
    "SP2D-2026-000123", // payment reference
    "ppk@disdik",       // buyer account
    "catatan rahasia",  // a note on a transition
    "123456789012301",  // NPWP of the CV
];

fn province() -> String {
    fixtures::province_admin()
}

fn buyer(regency: &str, unit: &str) -> String {
    fixtures::buyer_of(regency, unit)
}

fn vendor_token(vendor_id: &str) -> String {
    fixtures::vendor_account(vendor_id)
}

/// The whole suite with topics of its own, three partitions each whatever
/// the production layout: the scenario's checks were written against it.
async fn suite() -> Suite {
    let mut services = own_topics(Some(3)).await;
    services.config.kafka.delivery_timeout_ms = 5000;
    Suite::open_on(services).await
}

/// What the reporting scenario does through the suite.
trait Scenario {
    async fn register(&self, request: ven::RegisterVendorRequest, verify: bool) -> String;
    async fn product(&self, vendor_id: &str, code: &str, price: i64, min: i64) -> String;
    async fn place(&self, buyer: &str, lines: &[(&str, i64)]) -> String;
    async fn summary(&self) -> pb::Summary;
}

impl Scenario for Suite {
    async fn register(&self, request: ven::RegisterVendorRequest, verify: bool) -> String {
        let mut vendors = self.vendors().await;
        let id = vendors
            .register_vendor(with(&province(), request))
            .await
            .unwrap()
            .into_inner()
            .id;
        if verify {
            vendors
                .verify_vendor(with(
                    &province(),
                    ven::VerifyVendorRequest {
                        vendor_id: id.clone(),
                        note: String::new(),
                    },
                ))
                .await
                .unwrap();
        }
        id
    }

    /// Creates and publishes a product, waiting until the catalog has heard
    /// that its vendor is verified.
    async fn product(&self, vendor_id: &str, code: &str, price: i64, min: i64) -> String {
        let details = cat::ProductDetails {
            name: format!("Produk {code}"),
            description: "Produk UMKM Jawa Tengah".into(),
            category_code: code.into(),
            unit: "paket".into(),
            price,
            min_order_quantity: min,
            stock: 1_000,
            image_urls: vec![],
            delivery_regencies: vec!["33.74".into(), "33.22".into()],
            domestic_product: true,
        };
        fixtures::listed_product(&mut self.catalog().await, &vendor_token(vendor_id), details).await
    }

    async fn place(&self, buyer: &str, lines: &[(&str, i64)]) -> String {
        self.orders()
            .await
            .place_order(with(
                buyer,
                ord::PlaceOrderRequest {
                    idempotency_key: uuid::Uuid::new_v4().to_string(),
                    lines: lines
                        .iter()
                        .map(|(product_id, quantity)| ord::OrderLine {
                            product_id: product_id.to_string(),
                            quantity: *quantity,
                        })
                        .collect(),
                    note: "catatan rahasia".into(),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .id
    }

    async fn summary(&self) -> pb::Summary {
        self.reports()
            .await
            .get_summary(Request::new(pb::GetSummaryRequest {}))
            .await
            .unwrap()
            .into_inner()
    }
}

fn transition(order_id: &str) -> ord::TransitionRequest {
    ord::TransitionRequest {
        order_id: order_id.into(),
        note: "catatan rahasia".into(),
    }
}

fn individual(name: &str, regency: &str) -> ven::RegisterVendorRequest {
    blangkon_testkit::fixtures::individual_vendor(name, regency)
}

fn entity(
    name: &str,
    form: ven::LegalForm,
    scale: ven::Scale,
    regency: &str,
    nib: &str,
) -> ven::RegisterVendorRequest {
    ven::RegisterVendorRequest {
        name: name.into(),
        legal_form: form as i32,
        nib: nib.into(),
        npwp: format!("{nib}01"),
        scale: scale as i32,
        address: "Jl. Pandanaran 99".into(),
        regency_code: regency.into(),
        contact: Some(ven::Contact {
            phone: "081225001234".into(),
            email: String::new(),
        }),
        bank_account: Some(ven::BankAccount {
            bank_name: "Bank Jateng".into(),
            account_number: "2010123456".into(),
            account_holder: name.into(),
        }),
        ..Default::default()
    }
}

async fn connect(db: &TestDatabase) -> DatabaseConnection {
    db.connect().await
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap()
}

/// The figures the order and vendor services' own databases give.
struct Truth {
    transactions: i64,
    value: i64,
    micro_small_value: i64,
    orders: i64,
    vendors: i64,
    individuals: i64,
}

async fn truth(s: &Suite) -> Truth {
    let orders = connect(&s.order_db).await;
    let vendors = connect(&s.vendor_db).await;
    let transacted = "FROM orders WHERE status NOT IN ('rejected', 'cancelled')";
    Truth {
        transactions: scalar(&orders, &format!("SELECT COUNT(*) AS n {transacted}")).await,
        value: scalar(
            &orders,
            &format!("SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT) AS n {transacted}"),
        )
        .await,
        micro_small_value: scalar(
            &orders,
            &format!(
                "SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT) AS n {transacted} \
                 AND (vendor_scale IN ('micro', 'small') OR vendor_legal_form = 'koperasi')"
            ),
        )
        .await,
        orders: scalar(&orders, "SELECT COUNT(*) AS n FROM orders").await,
        vendors: scalar(&vendors, "SELECT COUNT(*) AS n FROM vendors").await,
        individuals: scalar(
            &vendors,
            "SELECT COUNT(*) AS n FROM vendors WHERE legal_form = 'individual'",
        )
        .await,
    }
}

fn count_of(rows: &[pb::KeyCount], key: &str) -> i64 {
    rows.iter().find(|r| r.key == key).map_or(0, |r| r.count)
}

fn leaks(text: &str) -> Vec<&'static str> {
    PRIVATE
        .iter()
        .copied()
        .filter(|p| text.contains(p))
        .collect()
}

/// Every domain event of the three topics, read until there are `n`.
async fn domain_events(s: &Suite, n: usize) -> Vec<ReceivedEvent> {
    let mut all = Vec::new();
    for topic in [
        topics::VENDOR_EVENTS,
        topics::CATALOG_EVENTS,
        topics::ORDER_EVENTS,
    ] {
        let reader = EventReader::new(&s.services.kafka.bootstrap, &s.topic(topic));
        // Everything published is on the topic by now; read it all.
        let events = reader.read_until(Duration::from_secs(4), |_| false).await;
        all.extend(events.into_iter().map(|e| ReceivedEvent {
            envelope: e.envelope,
            topic: topic.to_string(),
            partition: 0,
            offset: 0,
        }));
    }
    // One id may travel twice (the relay may send again after a failure).
    let mut seen = HashSet::new();
    all.retain(|e| seen.insert(e.envelope.event_id.clone()));
    assert_eq!(all.len(), n, "domain events on the topics vs the inbox");
    all
}

/// The figures a reporting database answers, through the API's own code.
async fn figures(db: DatabaseConnection) -> (pb::Summary, Vec<pb::Breakdown>, Vec<String>) {
    let api = ReportingApi::new(db, ReportingSettings::default());
    let summary = api
        .get_summary(Request::new(pb::GetSummaryRequest {}))
        .await
        .unwrap()
        .into_inner();
    let mut breakdowns = Vec::new();
    for dimension in [
        pb::Dimension::Category,
        pb::Dimension::Subcategory,
        pb::Dimension::Regency,
        pb::Dimension::BuyerRegency,
        pb::Dimension::Month,
        pb::Dimension::LegalForm,
        pb::Dimension::Scale,
        pb::Dimension::Status,
        pb::Dimension::BuyerUnit,
        pb::Dimension::Vendor,
    ] {
        breakdowns.push(
            api.get_breakdown(Request::new(pb::GetBreakdownRequest {
                dimension: dimension as i32,
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner(),
        );
    }
    let ledger = api
        .list_transactions(Request::new(pb::ListTransactionsRequest {
            page_size: 500,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .transactions
        .iter()
        .map(|t| format!("{t:?}"))
        .collect();
    (summary, breakdowns, ledger)
}

/// Runs libcoveocds on `json` offline against the OCDS 1.1.5 schema kept
/// with these tests.
fn validate_ocds(json: &str) -> serde_json::Value {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("package.json");
    std::fs::write(&file, json).unwrap();
    let output = std::process::Command::new(blangkon_testkit::python_tools().join("libcoveocds"))
        .arg("--standard-zip")
        .arg(root.join("data/ocds-schema-1.1.5.zip"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "libcoveocds failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Runs the analysts' example, examples/analysts/spending_by_category.py,
/// a plain confluent-kafka consumer, against the suite's stream.
fn analyst_example(s: &Suite) -> serde_json::Value {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = std::process::Command::new(blangkon_testkit::python_tools().join("python"))
        .arg(root.join("../examples/analysts/spending_by_category.py"))
        .args(["--bootstrap", &s.services.kafka.bootstrap])
        .args(["--topic-prefix", &s.services.config.kafka.topic_prefix])
        .args(["--idle", "3"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the analyst example failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}
