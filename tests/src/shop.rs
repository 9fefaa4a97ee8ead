//! The four services on fresh databases, stocked with one verified vendor
//! and one listed product, and the reconciliation a fault scenario ends
//! with.

use crate::*;
use blangkon_platform::kafka::topics;
use blangkon_proto::catalog as cat;
use blangkon_proto::catalog::catalog_service_client::CatalogServiceClient;
use blangkon_proto::events::EventEnvelope;
use blangkon_proto::order as ord;
use blangkon_proto::order::order_service_client::OrderServiceClient;
use blangkon_proto::reporting as rep;
use blangkon_proto::reporting::reporting_service_client::ReportingServiceClient;
use blangkon_proto::vendor as ven;
use blangkon_proto::vendor::vendor_service_client::VendorServiceClient;
use blangkon_testkit::fixtures::{
    individual_vendor, listed_product, province_admin, vendor_account, with,
};
use blangkon_testkit::{EventReader, TestDatabase, TestSuite, eventually};
use prost::Message as _;
use sea_orm::{ConnectionTrait, Statement};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Units of stock the shop's one product starts with.
pub const INITIAL_STOCK: i64 = 1_000_000;
/// Rupiah per unit of the product.
pub const PRICE: i64 = 25_000;

/// The four services on fresh databases, with one verified vendor in Kota
/// Semarang and one listed product.
pub struct Shop {
    pub suite: Suite,
    outboxes: Outboxes,
    pub product_id: String,
}

/// The shop is its suite with a product on the shelf: everything a
/// [`Suite`] offers, a shop offers.
impl std::ops::Deref for Shop {
    type Target = Suite;

    fn deref(&self) -> &Suite {
        &self.suite
    }
}

impl std::ops::DerefMut for Shop {
    fn deref_mut(&mut self) -> &mut Suite {
        &mut self.suite
    }
}

impl Shop {
    /// The four services on tasks of the test's process.
    pub async fn open(broker: &Broker) -> Self {
        Self::stock(Suite::open(broker).await).await
    }

    /// See [`Suite::open_reversed`].
    pub async fn open_reversed(broker: &Broker) -> Self {
        Self::stock(Suite::open_reversed(broker).await).await
    }

    /// See [`Suite::open_behind`].
    pub async fn open_behind(broker: &Broker, proxy: &DbProxy) -> Self {
        Self::stock(Suite::open_behind(broker, proxy).await).await
    }

    /// See [`Suite::open_on`].
    pub async fn open_on(services: TestSuite) -> Self {
        Self::stock(Suite::open_on(services).await).await
    }

    /// See [`Suite::open_processes`].
    pub async fn open_processes(broker: &Broker) -> Self {
        Self::stock(Suite::open_processes(broker).await).await
    }

    /// Onboards a vendor and lists its product: the shop opens.
    async fn stock(suite: Suite) -> Self {
        let product_id = stock_a_product(&suite.vendor_endpoint(), &suite.catalog_endpoint()).await;
        let outboxes = Outboxes::connect(&suite).await;
        Self {
            suite,
            outboxes,
            product_id,
        }
    }

    /// The four services' outboxes, to watch from another task.
    pub fn outboxes(&self) -> Outboxes {
        self.outboxes.clone()
    }

    /// Events committed and not yet acknowledged by the broker, in every
    /// service's outbox.
    pub async fn unpublished(&self) -> i64 {
        self.outboxes.unpublished().await
    }

    /// Waits until every outbox is empty; answers how long that took.
    pub async fn drained(&self, within: Duration) -> Duration {
        let start = Instant::now();
        eventually("every outbox drained", within, || async {
            (self.unpublished().await == 0).then_some(())
        })
        .await;
        start.elapsed()
    }

    /// Waits until reporting counts `orders` transactions, asking every
    /// 50 ms; answers how long that took.
    pub async fn reporting_counts(&self, orders: i64, within: Duration) -> Duration {
        let start = Instant::now();
        let reporting = self.reports().await;
        let what = format!("reporting counts {orders} orders");
        eventually(&what, within, || {
            let mut reporting = reporting.clone();
            async move {
                let summary = reporting.get_summary(rep::GetSummaryRequest {}).await;
                (summary.unwrap().into_inner().transactions >= orders).then_some(())
            }
        })
        .await;
        start.elapsed()
    }

    /// Places one order as a buyer of Kota Semarang.
    pub async fn place_one(&self) {
        place_one_at(&self.order_endpoint(), &self.product_id).await;
    }

    /// Compares what the order database holds with what reporting and the
    /// analysts' stream say, and the product's stock with what was
    /// ordered; waits up to `within` for the projections to catch up.
    pub async fn reconcile(&self, within: Duration) -> Reconciliation {
        // Unlike `eventually`, answers the figures when time is up (the
        // test prints what did not balance), so each probe has a bound of
        // its own.
        async fn bounded<T>(what: &str, probe: impl std::future::Future<Output = T>) -> T {
            let bound = Duration::from_secs(30);
            match tokio::time::timeout(bound, probe).await {
                Ok(answer) => answer,
                Err(_) => panic!("reconciling: {what} took longer than {bound:?}"),
            }
        }
        let deadline = Instant::now() + within;
        loop {
            let mut now = bounded("the databases' figures", self.reconciliation()).await;
            let last = Instant::now() > deadline;
            // Reading the analysts' stream takes seconds: only once the
            // database figures agree (or time is up).
            if now.balances_in_the_databases() || last {
                (now.stream_orders, now.stream_value) =
                    bounded("the analysts' stream", self.stream_figures()).await;
                if now.balances() || last {
                    return now;
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The figures of the databases and of reporting's API.
    async fn reconciliation(&self) -> Reconciliation {
        let orders = scalar(&self.order_db, "SELECT COUNT(*) FROM orders").await;
        let value = scalar(
            &self.order_db,
            "SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT) FROM orders",
        )
        .await;
        let ordered = scalar(
            &self.order_db,
            "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM order_items",
        )
        .await;
        let stock = scalar(
            &self.catalog_db,
            &format!(
                "SELECT stock FROM products WHERE id = '{}'",
                self.product_id
            ),
        )
        .await;
        // A placing that reserved stock and wrote no order is swept (its
        // stock given back); none may be left once the load stopped.
        let unfinished = scalar(&self.order_db, "SELECT COUNT(*) FROM placing_attempts").await;
        let mut reporting = ReportingServiceClient::connect(self.reporting_endpoint())
            .await
            .unwrap();
        let summary = reporting
            .get_summary(rep::GetSummaryRequest {})
            .await
            .unwrap()
            .into_inner();
        Reconciliation {
            orders,
            value,
            reporting_orders: summary.transactions,
            reporting_value: summary.transaction_value,
            // Read apart, by `reconcile`.
            stream_orders: 0,
            stream_value: 0,
            stock,
            expected_stock: INITIAL_STOCK - ordered,
            unfinished_placings: unfinished,
        }
    }

    /// Orders and their value by the analysts' stream: the highest version
    /// of each order's facts, counted when it is a transaction.
    async fn stream_figures(&self) -> (i64, i64) {
        let topic = self
            .services
            .config
            .kafka
            .topic(topics::REPORTING_TRANSACTIONS);
        let reader = EventReader::new(&self.services.kafka.bootstrap, &topic);
        let records = reader
            .read_records_until(Duration::from_secs(5), |_| false)
            .await;
        let mut latest: std::collections::HashMap<String, (i64, bool, i64)> =
            std::collections::HashMap::new();
        for record in records {
            let fact: serde_json::Value = serde_json::from_slice(&record.value).unwrap();
            let order = fact["order_id"].as_str().unwrap().to_string();
            let version = fact["version"].as_i64().unwrap();
            let seen = (
                version,
                fact["is_transaction"].as_bool().unwrap(),
                fact["total"].as_i64().unwrap(),
            );
            let entry = latest.entry(order).or_insert(seen);
            if version > entry.0 {
                *entry = seen;
            }
        }
        let transactions = latest.values().filter(|(_, is, _)| *is);
        let (count, value) = transactions.fold((0, 0), |(n, v), (_, _, total)| (n + 1, v + total));
        (count, value)
    }

    pub async fn close(self) {
        self.suite.close().await;
    }

    /// Where the orders that reporting lacks were lost, for a scenario
    /// that did not balance: their events in the order outbox (published
    /// or not), on the order topic, and in reporting's inbox. Events on the
    /// topic but not in the inbox were lost by the consumer; events the
    /// outbox says were acknowledged but that are not on the topic, by the
    /// producer or the broker.
    pub async fn trace_missing_orders(&self) -> String {
        let placed = texts(&self.order_db, "SELECT id FROM orders").await;
        let projected = texts(&self.reporting_db, "SELECT order_id FROM orders").await;
        let missing: BTreeSet<&String> = placed.difference(&projected).collect();
        let Some(first) = missing.first() else {
            return "every order is in reporting's read model".to_string();
        };
        // (event id, outbox row id, published) of the missing orders' events.
        let conn = self.order_db.connect().await;
        let rows = conn
            .query_all_raw(Statement::from_string(
                conn.get_database_backend(),
                "SELECT event_id, message_key, id, published_at IS NOT NULL FROM outbox",
            ))
            .await
            .unwrap();
        conn.close().await.ok();
        let events: Vec<(String, i64, bool)> = rows
            .iter()
            .filter(|row| missing.contains(&row.try_get_by_index::<String>(1).unwrap()))
            .map(|row| {
                (
                    row.try_get_by_index(0).unwrap(),
                    row.try_get_by_index(2).unwrap(),
                    row.try_get_by_index(3).unwrap(),
                )
            })
            .collect();
        let published = events.iter().filter(|(_, _, published)| *published).count();
        let outbox_rows = events.iter().map(|(_, id, _)| *id);
        let (low, high) = (outbox_rows.clone().min(), outbox_rows.max());
        let inbox = texts(&self.reporting_db, "SELECT event_id FROM inbox").await;
        let topic = self.services.config.kafka.topic(topics::ORDER_EVENTS);
        let on_topic: BTreeMap<String, (i32, i64)> =
            EventReader::new(&self.services.kafka.bootstrap, &topic)
                .read_records_until(Duration::from_secs(10), |_| false)
                .await
                .into_iter()
                .filter_map(|record| {
                    let envelope = EventEnvelope::decode(record.value.as_slice()).ok()?;
                    Some((envelope.event_id, (record.partition, record.offset)))
                })
                .collect();
        let found: Vec<(i32, i64)> = events
            .iter()
            .filter_map(|(event_id, _, _)| on_topic.get(event_id).copied())
            .collect();
        let received = events
            .iter()
            .filter(|(event_id, _, _)| inbox.contains(event_id))
            .count();
        format!(
            "{} orders missing from reporting (the first {first}); their {} events, outbox rows \
             {low:?}..{high:?}: {published} acknowledged by the broker per the outbox, {} on \
             the order topic (partition, offset: {found:?}), {received} in reporting's inbox",
            missing.len(),
            events.len(),
            found.len(),
        )
    }
}

/// The first column of every row `sql` answers, as text.
async fn texts(db: &TestDatabase, sql: &str) -> BTreeSet<String> {
    let conn = db.connect().await;
    let rows = conn
        .query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap();
    conn.close().await.ok();
    rows.iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect()
}

/// The outboxes of the suite's databases, through the test's own
/// connections straight to them: what it sees does not depend on the
/// faults it makes.
#[derive(Debug, Clone)]
pub struct Outboxes(Vec<sea_orm::DatabaseConnection>);

impl Outboxes {
    async fn connect(suite: &Suite) -> Self {
        let mut connections = Vec::new();
        let dbs = [
            &suite.vendor_db,
            &suite.catalog_db,
            &suite.order_db,
            &suite.reporting_db,
        ];
        for db in dbs {
            connections.push(db.connect().await);
        }
        Self(connections)
    }

    /// Events committed and not yet acknowledged by the broker.
    pub async fn unpublished(&self) -> i64 {
        let mut waiting = 0;
        for conn in &self.0 {
            let sql = "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL";
            waiting += scalar_on(conn, sql).await;
        }
        waiting
    }
}

/// The figures a fault scenario ends with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    pub orders: i64,
    pub value: i64,
    pub reporting_orders: i64,
    pub reporting_value: i64,
    pub stream_orders: i64,
    pub stream_value: i64,
    pub stock: i64,
    pub expected_stock: i64,
    pub unfinished_placings: i64,
}

impl Reconciliation {
    /// Order database = reporting = the analysts' stream, stock = initial
    /// − ordered, no placing left unfinished.
    pub fn balances(&self) -> bool {
        self.balances_in_the_databases()
            && self.orders == self.stream_orders
            && self.value == self.stream_value
    }

    /// All but the analysts' stream agree.
    fn balances_in_the_databases(&self) -> bool {
        self.orders == self.reporting_orders
            && self.value == self.reporting_value
            && self.stock == self.expected_stock
            && self.unfinished_placings == 0
    }
}

impl std::fmt::Display for Reconciliation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "orders {} / reporting {} / stream {}; value Rp{} / Rp{} / Rp{}; \
             stock {} (expected {}); unfinished placings {}",
            self.orders,
            self.reporting_orders,
            self.stream_orders,
            self.value,
            self.reporting_value,
            self.stream_value,
            self.stock,
            self.expected_stock,
            self.unfinished_placings
        )
    }
}

pub(crate) async fn scalar(db: &TestDatabase, sql: &str) -> i64 {
    let conn = db.connect().await;
    let value = scalar_on(&conn, sql).await;
    conn.close().await.ok();
    value
}

pub(crate) async fn scalar_on(conn: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    let row = conn
        .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// Onboards a verified vendor in Kota Semarang through the vendor service
/// at `vendor` and lists its product through the catalog service at
/// `catalog`; answers the product's id.
pub async fn stock_a_product(vendor: &str, catalog: &str) -> String {
    let vendor_id = onboard_vendor(vendor).await;
    let vendor_token = vendor_account(&vendor_id);
    let mut catalog_client = CatalogServiceClient::connect(catalog.to_string())
        .await
        .unwrap();
    listed_product(
        &mut catalog_client,
        &vendor_token,
        cat::ProductDetails {
            name: "Nasi Kotak Ayam Bakar".into(),
            description: "Nasi, ayam bakar, lalapan".into(),
            category_code: "katering.nasi-kotak".into(),
            unit: "kotak".into(),
            price: PRICE,
            min_order_quantity: 1,
            stock: INITIAL_STOCK,
            image_urls: vec![],
            delivery_regencies: vec!["33.74".into()],
            domestic_product: true,
        },
    )
    .await
}

/// Joins Kota Semarang, registers and verifies a vendor there; answers
/// its id.
pub(crate) async fn onboard_vendor(endpoint: &str) -> String {
    onboard_vendor_as(endpoint, &province_admin()).await
}

/// [`onboard_vendor`], as the province admin whose token is `province`
/// (one of another issuer's, say).
pub async fn onboard_vendor_as(endpoint: &str, province: &str) -> String {
    let province = province.to_string();
    let mut vendors = VendorServiceClient::connect(endpoint.to_string())
        .await
        .unwrap();
    let join = ven::JoinRegencyRequest {
        code: "33.74".into(),
    };
    vendors.join_regency(with(&province, join)).await.unwrap();
    let registration = individual_vendor("Katering Bu Sri", "33.74");
    let vendor = vendors
        .register_vendor(with(&province, registration))
        .await
        .unwrap()
        .into_inner();
    let verify = ven::VerifyVendorRequest {
        vendor_id: vendor.id.clone(),
        note: String::new(),
    };
    vendors
        .verify_vendor(with(&province, verify))
        .await
        .unwrap();
    vendor.id
}

/// Places one order of `product_id` through the order service at
/// `endpoint`, as a buyer of Kota Semarang; answers the order.
pub async fn place_one_at(endpoint: &str, product_id: &str) -> ord::Order {
    let (buyer, request) = (buyer_token(0), one_line_order(product_id, 1));
    let mut orders = OrderServiceClient::connect(endpoint.to_string())
        .await
        .unwrap();
    orders
        .place_order(with(&buyer, request))
        .await
        .unwrap()
        .into_inner()
}
