//! The whole suite under test: a broker of the test's own that the test
//! may hang and resume ([`Broker`]), the four services on fresh databases
//! with one verified vendor and one listed product ([`Shop`]), buyers
//! placing orders ([`Load`]), and the reconciliation every fault scenario
//! ends with ([`Reconciliation`]).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

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
use blangkon_testkit::fixtures::{listed_product, token, with};
use blangkon_testkit::{EventReader, TestDatabase, TestKafka, TestSuite, stop};
use blangkon_vendor::VendorService;
use sea_orm::{ConnectionTrait, Statement};
use tonic::Code;

/// A Kafka-protocol broker of one test's own: a tansu process where tansu
/// is installed (`deploy/local/tansu.sh install`; CI has it), which the
/// test can hang (SIGSTOP) and resume; else librdkafka's mock cluster,
/// whose broker the test takes down and up instead.
pub struct Broker {
    pub kafka: TestKafka,
    process: Option<Child>,
}

impl Broker {
    pub async fn start() -> Self {
        let Some(tansu) = tansu_binary() else {
            eprintln!("tansu is not installed: the faults hit the mock cluster's broker");
            return Self {
                kafka: TestKafka::mock(),
                process: None,
            };
        };
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let process = Command::new(tansu)
            .args([
                "broker",
                "--listener-url",
                &format!("tcp://{address}"),
                "--advertised-listener-url",
                &format!("tcp://{address}"),
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(&address).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not listen on {address}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            kafka: TestKafka::external(address),
            process: Some(process),
        }
    }

    /// What the fault is on this broker, for the report.
    pub fn kind(&self) -> &'static str {
        if self.process.is_some() {
            "tansu"
        } else {
            "mock cluster"
        }
    }

    /// Freezes the broker: connections stay open and nothing is answered.
    pub fn hang(&self) {
        match &self.process {
            Some(process) => signal(process, "-STOP"),
            None => self.kafka.broker_down(),
        }
    }

    pub fn resume(&self) {
        match &self.process {
            Some(process) => signal(process, "-CONT"),
            None => self.kafka.broker_up(),
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(process) = &mut self.process {
            signal(process, "-CONT");
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

fn signal(process: &Child, signal: &str) {
    let sent = Command::new("kill")
        .args([signal, &process.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill {signal} {}", process.id());
}

fn tansu_binary() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let tansu = std::env::var_os("TANSU")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join("bin/tansu"));
    tansu.exists().then_some(tansu)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

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
    vendor: Running<VendorService>,
    catalog: Running<CatalogService>,
    order: Running<OrderService>,
    reporting: Running<ReportingService>,
    pub product_id: String,
}

impl Shop {
    pub async fn open(broker: &Broker) -> Self {
        let services = TestSuite::on(TestKafka::external(broker.kafka.bootstrap.clone()));
        if broker.kafka.is_mock() {
            for topic in [
                topics::VENDOR_EVENTS,
                topics::CATALOG_EVENTS,
                topics::ORDER_EVENTS,
                topics::REPORTING_TRANSACTIONS,
                topics::REPORTING_SUMMARY,
            ] {
                broker.kafka.create_topic(topic, 3).await;
            }
        }
        let mut services = services;
        services.config.kafka.create_topics = !broker.kafka.is_mock();
        let (vendor_db, catalog_db, order_db, reporting_db) = (
            TestDatabase::new().await,
            TestDatabase::new().await,
            TestDatabase::new().await,
            TestDatabase::new().await,
        );
        let vendor = services.start_on::<VendorService>(&vendor_db).await;
        let catalog = services.start_on::<CatalogService>(&catalog_db).await;
        let mut order_settings = services.settings::<OrderService>(&order_db);
        order_settings.service.vendor_endpoint = vendor.endpoint();
        order_settings.service.catalog_endpoint = catalog.endpoint();
        let order = services.start(order_settings).await;
        let reporting = services.start_on::<ReportingService>(&reporting_db).await;

        let vendor_id = onboard_vendor(&vendor.endpoint()).await;
        let vendor_token = token(
            Role::Vendor,
            TokenRequest {
                subject: "umkm".into(),
                vendor_id: Some(vendor_id),
                ..TokenRequest::default()
            },
        );
        let mut catalog_client = CatalogServiceClient::connect(catalog.endpoint())
            .await
            .unwrap();
        let product_id = listed_product(
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
        .await;
        Self {
            services,
            vendor_db,
            catalog_db,
            order_db,
            reporting_db,
            vendor,
            catalog,
            order,
            reporting,
            product_id,
        }
    }

    pub fn order_endpoint(&self) -> String {
        self.order.endpoint()
    }

    /// The four services' outboxes, to watch from another task.
    pub fn outboxes(&self) -> Outboxes {
        Outboxes(
            [
                &self.vendor_db,
                &self.catalog_db,
                &self.order_db,
                &self.reporting_db,
            ]
            .map(|db| db.url.clone())
            .to_vec(),
        )
    }

    /// Events committed and not yet acknowledged by the broker, in every
    /// service's outbox.
    pub async fn unpublished(&self) -> i64 {
        self.outboxes().unpublished().await
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

    /// Compares what the order database holds with what reporting and the
    /// analysts' stream say, and the product's stock with what was
    /// ordered; waits up to `within` for the projections to catch up.
    pub async fn reconcile(&self, within: Duration) -> Reconciliation {
        let deadline = Instant::now() + within;
        loop {
            let now = self.reconciliation().await;
            if now.balances() || Instant::now() > deadline {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

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
        let mut reporting = ReportingServiceClient::connect(self.reporting.endpoint())
            .await
            .unwrap();
        let summary = reporting
            .get_summary(rep::GetSummaryRequest {})
            .await
            .unwrap()
            .into_inner();
        let (stream_orders, stream_value) = self.stream_figures().await;
        Reconciliation {
            orders,
            value,
            reporting_orders: summary.transactions,
            reporting_value: summary.transaction_value,
            stream_orders,
            stream_value,
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
        stop(self.reporting).await;
        stop(self.order).await;
        stop(self.catalog).await;
        stop(self.vendor).await;
    }
}

/// The outboxes of the suite's databases.
#[derive(Debug, Clone)]
pub struct Outboxes(Vec<String>);

impl Outboxes {
    /// Events committed and not yet acknowledged by the broker.
    pub async fn unpublished(&self) -> i64 {
        let mut waiting = 0;
        for url in &self.0 {
            let conn = sea_orm::Database::connect(url.as_str()).await.unwrap();
            let sql = "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL";
            waiting += scalar_on(&conn, sql).await;
            conn.close().await.ok();
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
        self.orders == self.reporting_orders
            && self.orders == self.stream_orders
            && self.value == self.reporting_value
            && self.value == self.stream_value
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

async fn scalar(db: &TestDatabase, sql: &str) -> i64 {
    let conn = db.connect().await;
    let value = scalar_on(&conn, sql).await;
    conn.close().await.ok();
    value
}

async fn scalar_on(conn: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    let row = conn
        .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// Joins Kota Semarang, registers and verifies a vendor there; answers
/// its id.
async fn onboard_vendor(endpoint: &str) -> String {
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
    let registration = ven::RegisterVendorRequest {
        name: "Katering Bu Sri".into(),
        legal_form: ven::LegalForm::Individual as i32,
        nik: "3374015708800002".into(),
        scale: ven::Scale::Micro as i32,
        address: "Jl. Pandanaran 12".into(),
        regency_code: "33.74".into(),
        contact: Some(ven::Contact {
            phone: "081225001234".into(),
            email: String::new(),
        }),
        bank_account: Some(ven::BankAccount {
            bank_name: "Bank Jateng".into(),
            account_number: "2010123456".into(),
            account_holder: "Sri".into(),
        }),
        ..Default::default()
    };
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

/// Buyers placing orders of one to three boxes, each retried with its
/// idempotency key while the answer is retryable.
pub struct Load {
    stop: Arc<AtomicBool>,
    placed: Arc<AtomicI64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    pub fn start(shop: &Shop, buyers: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let placed = Arc::new(AtomicI64::new(0));
        let tasks = (0..buyers)
            .map(|i| {
                let (stop, placed) = (stop.clone(), placed.clone());
                let (endpoint, product_id) = (shop.order_endpoint(), shop.product_id.clone());
                tokio::spawn(async move { buyer(i, endpoint, product_id, stop, placed).await })
            })
            .collect();
        Self {
            stop,
            placed,
            tasks,
        }
    }

    pub fn placed(&self) -> i64 {
        self.placed.load(Ordering::Relaxed)
    }

    /// Stops the buyers after their orders in flight; answers how many
    /// orders they placed.
    pub async fn stop(self) -> i64 {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.unwrap();
        }
        self.placed.load(Ordering::Relaxed)
    }
}

async fn buyer(
    i: usize,
    endpoint: String,
    product_id: String,
    stop: Arc<AtomicBool>,
    placed: Arc<AtomicI64>,
) {
    let buyer = token(
        Role::Buyer,
        TokenRequest {
            subject: format!("ppk-{i}@disdik"),
            regency: Some("33.74".into()),
            work_unit: Some(format!("Dinas Pendidikan {i}")),
            ..TokenRequest::default()
        },
    );
    let mut orders = OrderServiceClient::connect(endpoint).await.unwrap();
    let mut n = 0i64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let request = ord::PlaceOrderRequest {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            lines: vec![ord::OrderLine {
                product_id: product_id.clone(),
                quantity: 1 + n % 3,
            }],
            note: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match orders.place_order(with(&buyer, request.clone())).await {
                Ok(_) => {
                    placed.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(status)
                    if matches!(status.code(), Code::Unavailable | Code::Aborted)
                        && Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(status) => panic!("buyer {i}: placing failed: {status}"),
            }
        }
    }
}
