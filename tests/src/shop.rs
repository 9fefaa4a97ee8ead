//! The four services on fresh databases, stocked with one verified vendor
//! and one listed product, and the reconciliation a fault scenario ends
//! with.

use crate::*;
use blangkon_catalog::CatalogService;
use blangkon_order::OrderService;
use blangkon_platform::auth::{Role, TokenRequest};
use blangkon_platform::kafka::topics;
use blangkon_platform::suite::Running;
use blangkon_proto::catalog as cat;
use blangkon_proto::catalog::catalog_service_client::CatalogServiceClient;
use blangkon_proto::order as ord;
use blangkon_proto::order::order_service_client::OrderServiceClient;
use blangkon_proto::reporting as rep;
use blangkon_proto::reporting::reporting_service_client::ReportingServiceClient;
use blangkon_proto::vendor as ven;
use blangkon_proto::vendor::vendor_service_client::VendorServiceClient;
use blangkon_reporting::ReportingService;
use blangkon_testkit::fixtures::{individual_vendor, listed_product, token, with};
use blangkon_testkit::{EventReader, TestDatabase, TestKafka, TestSuite, stop};
use blangkon_vendor::VendorService;
use sea_orm::{ConnectionTrait, Statement};
use std::time::{Duration, Instant};

/// Units of stock the shop's one product starts with.
pub const INITIAL_STOCK: i64 = 1_000_000;
/// Rupiah per unit of the product.
pub const PRICE: i64 = 25_000;

/// The four services on fresh databases, with one verified vendor in Kota
/// Semarang and one listed product.
pub struct Shop {
    pub services: TestSuite,
    pub vendor_db: TestDatabase,
    pub catalog_db: TestDatabase,
    pub order_db: TestDatabase,
    pub reporting_db: TestDatabase,
    outboxes: Outboxes,
    hosts: Hosts,
    vendor_endpoint: String,
    catalog_endpoint: String,
    order_endpoint: String,
    reporting_endpoint: String,
    pub product_id: String,
}

/// Where the shop's services run.
// One per test: the size of its variants does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Hosts {
    /// On tasks of the test's process.
    InProcess {
        vendor: Running<VendorService>,
        catalog: Running<CatalogService>,
        order: Running<OrderService>,
        reporting: Running<ReportingService>,
    },
    /// As the services' own binaries, which the test may kill.
    Processes(Vec<ServiceProcess>),
}

impl Hosts {
    /// Services running in the test's process, and their endpoints in
    /// the order vendor, catalog, order, reporting.
    fn in_process(
        vendor: Running<VendorService>,
        catalog: Running<CatalogService>,
        order: Running<OrderService>,
        reporting: Running<ReportingService>,
    ) -> (Self, [String; 4]) {
        let endpoints = [
            vendor.endpoint(),
            catalog.endpoint(),
            order.endpoint(),
            reporting.endpoint(),
        ];
        let hosts = Self::InProcess {
            vendor,
            catalog,
            order,
            reporting,
        };
        (hosts, endpoints)
    }
}

impl Shop {
    /// The four services on tasks of the test's process.
    pub async fn open(broker: &Broker) -> Self {
        Self::open_routed(broker, |url| url.to_string()).await
    }

    /// The four services on tasks of the test's process, each consumer
    /// started before the service whose topics it reads: reporting, the
    /// catalog, the order service, the vendor service.
    pub async fn open_reversed(broker: &Broker) -> Self {
        let services = suite_on(broker).await;
        let dbs = Databases::new().await;
        let reporting = services.start_on::<ReportingService>(&dbs.reporting).await;
        let catalog = services.start_on::<CatalogService>(&dbs.catalog).await;
        // The order service calls the vendor service only when placing.
        let vendor_port = free_port();
        let mut order_settings = services.settings::<OrderService>(&dbs.order);
        order_settings.service.vendor_endpoint = format!("http://127.0.0.1:{vendor_port}");
        order_settings.service.catalog_endpoint = catalog.endpoint();
        let order = services.start(order_settings).await;
        let vendor = services
            .start(services.settings_at::<VendorService>(&dbs.vendor, vendor_port))
            .await;
        let (hosts, endpoints) = Hosts::in_process(vendor, catalog, order, reporting);
        Self::stock(services, dbs, hosts, endpoints).await
    }

    /// The four services on tasks of the test's process, reaching their
    /// databases through `proxy`.
    pub async fn open_behind(broker: &Broker, proxy: &DbProxy) -> Self {
        Self::open_routed(broker, |url| proxy.route(url)).await
    }

    /// The four services on tasks of the test's process, on `services` as
    /// the test configured them (its broker, its topics).
    pub async fn open_on(services: TestSuite) -> Self {
        Self::open_in_process(services, |url| url.to_string()).await
    }

    async fn open_routed(broker: &Broker, route: impl Fn(&str) -> String) -> Self {
        Self::open_in_process(suite_on(broker).await, route).await
    }

    async fn open_in_process(services: TestSuite, route: impl Fn(&str) -> String) -> Self {
        let dbs = Databases::new().await;
        let routed = |db: &TestDatabase| route(&db.url);
        let vendor = services
            .start(
                services
                    .config
                    .settings::<VendorService>(routed(&dbs.vendor), 0),
            )
            .await;
        let catalog = services
            .start(
                services
                    .config
                    .settings::<CatalogService>(routed(&dbs.catalog), 0),
            )
            .await;
        let mut order_settings = services
            .config
            .settings::<OrderService>(routed(&dbs.order), 0);
        order_settings.service.vendor_endpoint = vendor.endpoint();
        order_settings.service.catalog_endpoint = catalog.endpoint();
        let order = services.start(order_settings).await;
        let reporting = services
            .start(
                services
                    .config
                    .settings::<ReportingService>(routed(&dbs.reporting), 0),
            )
            .await;
        let (hosts, endpoints) = Hosts::in_process(vendor, catalog, order, reporting);
        Self::stock(services, dbs, hosts, endpoints).await
    }

    /// The four services as their own binaries (built by `cargo test
    /// --workspace`), which the test may kill and start again.
    pub async fn open_processes(broker: &Broker) -> Self {
        let services = suite_on(broker).await;
        let dbs = Databases::new().await;
        let ports = [free_port(), free_port(), free_port(), free_port()];
        let endpoints = ports.map(|port| format!("http://127.0.0.1:{port}"));
        let common = |name: &str, port: u16, db: &TestDatabase| {
            service_env(&services, name, port, 0, &db.url)
        };
        let mut order_env = common("order", ports[2], &dbs.order);
        order_env.push((
            "BLANGKON_ORDER__ORDER__VENDOR_ENDPOINT".into(),
            endpoints[0].clone(),
        ));
        order_env.push((
            "BLANGKON_ORDER__ORDER__CATALOG_ENDPOINT".into(),
            endpoints[1].clone(),
        ));
        let processes = vec![
            ServiceProcess::start("vendor", ports[0], common("vendor", ports[0], &dbs.vendor))
                .await,
            ServiceProcess::start(
                "catalog",
                ports[1],
                common("catalog", ports[1], &dbs.catalog),
            )
            .await,
            ServiceProcess::start("order", ports[2], order_env).await,
            ServiceProcess::start(
                "reporting",
                ports[3],
                common("reporting", ports[3], &dbs.reporting),
            )
            .await,
        ];
        Self::stock(services, dbs, Hosts::Processes(processes), endpoints).await
    }

    /// Onboards a vendor and lists its product: the shop opens.
    async fn stock(
        services: TestSuite,
        dbs: Databases,
        hosts: Hosts,
        [vendor, catalog, order, reporting]: [String; 4],
    ) -> Self {
        let product_id = stock_a_product(&vendor, &catalog).await;
        let outboxes = Outboxes::connect(&dbs).await;
        Self {
            services,
            outboxes,
            vendor_db: dbs.vendor,
            catalog_db: dbs.catalog,
            order_db: dbs.order,
            reporting_db: dbs.reporting,
            hosts,
            vendor_endpoint: vendor,
            catalog_endpoint: catalog,
            order_endpoint: order,
            reporting_endpoint: reporting,
            product_id,
        }
    }

    /// Kills service `name` (SIGKILL: no drain, no final commit), waits
    /// `down`, and starts it again on its port. Processes only.
    pub async fn crash(&mut self, name: &str, down: Duration) {
        let Hosts::Processes(processes) = &mut self.hosts else {
            panic!("crash needs the services as processes (Shop::open_processes)");
        };
        let process = processes
            .iter_mut()
            .find(|p| p.name == name)
            .expect("a service of the shop");
        process.kill();
        tokio::time::sleep(down).await;
        process.restart().await;
    }

    pub fn vendor_endpoint(&self) -> String {
        self.vendor_endpoint.clone()
    }

    pub fn catalog_endpoint(&self) -> String {
        self.catalog_endpoint.clone()
    }

    pub fn reporting_endpoint(&self) -> String {
        self.reporting_endpoint.clone()
    }

    pub fn order_endpoint(&self) -> String {
        self.order_endpoint.clone()
    }

    /// Where service `name` serves its metrics (in-process services).
    pub fn metrics_address(&self, name: &str) -> Option<std::net::SocketAddr> {
        let Hosts::InProcess {
            vendor,
            catalog,
            order,
            reporting,
        } = &self.hosts
        else {
            return None;
        };
        match name {
            "vendor" => vendor.metrics_address(),
            "catalog" => catalog.metrics_address(),
            "order" => order.metrics_address(),
            "reporting" => reporting.metrics_address(),
            _ => None,
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
        loop {
            let waiting = self.unpublished().await;
            if waiting == 0 {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < within,
                "{waiting} events still unpublished after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until reporting counts `orders` transactions, asking every
    /// 5 ms; answers how long that took.
    pub async fn reporting_counts(&self, orders: i64, within: Duration) -> Duration {
        let start = Instant::now();
        let mut reporting = ReportingServiceClient::connect(self.reporting_endpoint.clone())
            .await
            .unwrap();
        loop {
            let summary = reporting
                .get_summary(rep::GetSummaryRequest {})
                .await
                .unwrap()
                .into_inner();
            if summary.transactions >= orders {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < within,
                "reporting counts {} of {orders} orders after {within:?}",
                summary.transactions
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Places one order as a buyer of Kota Semarang.
    pub async fn place_one(&self) {
        place_one_at(&self.order_endpoint(), &self.product_id).await;
    }

    /// Compares what the order database holds with what reporting and the
    /// analysts' stream say, and the product's stock with what was
    /// ordered; waits up to `within` for the projections to catch up.
    pub async fn reconcile(&self, within: Duration) -> Reconciliation {
        let deadline = Instant::now() + within;
        loop {
            let mut now = self.reconciliation().await;
            let last = Instant::now() > deadline;
            // Reading the analysts' stream takes seconds: only once the
            // database figures agree (or time is up).
            if now.balances_in_the_databases() || last {
                (now.stream_orders, now.stream_value) = self.stream_figures().await;
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
        let mut reporting = ReportingServiceClient::connect(self.reporting_endpoint.clone())
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
        match self.hosts {
            Hosts::InProcess {
                vendor,
                catalog,
                order,
                reporting,
            } => {
                stop(reporting).await;
                stop(order).await;
                stop(catalog).await;
                stop(vendor).await;
            }
            Hosts::Processes(processes) => {
                for mut process in processes.into_iter().rev() {
                    process.terminate();
                }
            }
        }
    }
}

/// A test suite on `broker`, with the topics the mock cluster cannot
/// create on its own.
pub(crate) async fn suite_on(broker: &Broker) -> TestSuite {
    let services = TestSuite::on(TestKafka::external(broker.kafka.bootstrap.clone()));
    with_topics(services, &broker.kafka).await
}

/// `services` on `kafka` with the suite's topics in place: the services
/// create them on a real broker; the mock cluster gets them from the test.
pub async fn with_topics(mut services: TestSuite, kafka: &TestKafka) -> TestSuite {
    services.config.kafka.create_topics = !kafka.is_mock();
    if kafka.is_mock() {
        for spec in topics::ALL {
            kafka.create_topic(spec.name, spec.partitions).await;
        }
    }
    services
}

pub(crate) struct Databases {
    vendor: TestDatabase,
    catalog: TestDatabase,
    order: TestDatabase,
    reporting: TestDatabase,
}

impl Databases {
    async fn new() -> Self {
        Self {
            vendor: TestDatabase::new().await,
            catalog: TestDatabase::new().await,
            order: TestDatabase::new().await,
            reporting: TestDatabase::new().await,
        }
    }
}

/// The outboxes of the suite's databases, through the test's own
/// connections straight to them: what it sees does not depend on the
/// faults it makes.
#[derive(Debug, Clone)]
pub struct Outboxes(Vec<sea_orm::DatabaseConnection>);

impl Outboxes {
    async fn connect(dbs: &Databases) -> Self {
        let mut connections = Vec::new();
        for db in [&dbs.vendor, &dbs.catalog, &dbs.order, &dbs.reporting] {
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
    let vendor_token = token(
        Role::Vendor,
        TokenRequest {
            subject: "umkm".into(),
            vendor_id: Some(vendor_id),
            ..TokenRequest::default()
        },
    );
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
    let province = token(
        Role::ProvinceAdmin,
        TokenRequest {
            subject: "admin".into(),
            ..TokenRequest::default()
        },
    );
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
