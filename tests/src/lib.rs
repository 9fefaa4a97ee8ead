//! The whole suite under test: a broker of the test's own that the test
//! may hang and resume ([`Broker`]), the four services on fresh databases
//! with one verified vendor and one listed product ([`Shop`]), buyers
//! placing orders ([`Load`]), and the reconciliation every fault scenario
//! ends with ([`Reconciliation`]).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod charts;
pub mod containers;

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
use blangkon_testkit::fixtures::{SECRET, individual_vendor, listed_product, token, with};
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
            // The mock cluster's broker can be taken down and up too, but
            // only tansu hangs as a real broker does: CI must have it.
            blangkon_testkit::missing_part(
                "a broker fault test on a real broker",
                "tansu (deploy/local/tansu.sh install)",
            );
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

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A TCP proxy between the services and PostgreSQL that the test can cut:
/// every connection through it drops at once and new ones are refused
/// until it is restored — what the services see of a database restart,
/// without disturbing the other tests on the same server.
pub struct DbProxy {
    pub port: u16,
    cut: Arc<AtomicBool>,
    connections: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl DbProxy {
    /// A proxy to the server of `url` (`postgres://…@host:port/db`).
    pub async fn to(url: &str) -> Self {
        let upstream = url
            .split('@')
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .expect("a postgres:// URL with a host")
            .to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (refusing, open) = (cut.clone(), connections.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                if refusing.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is refused
                }
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                open.lock().unwrap().push(task.abort_handle());
            }
        });
        Self {
            port,
            cut,
            connections,
            accept,
        }
    }

    /// `url` of a database on the proxied server, through the proxy.
    pub fn route(&self, url: &str) -> String {
        let (before, rest) = url.split_once('@').expect("a postgres:// URL");
        let (_, path) = rest.split_once('/').expect("a database name");
        format!("{before}@127.0.0.1:{}/{path}", self.port)
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for DbProxy {
    fn drop(&mut self) {
        self.accept.abort();
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }
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
    outboxes: Outboxes,
    hosts: Hosts,
    order_endpoint: String,
    reporting_endpoint: String,
    pub product_id: String,
}

/// Where the shop's services run.
// One per test: the size of its variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Hosts {
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

    async fn open_routed(broker: &Broker, route: impl Fn(&str) -> String) -> Self {
        let services = suite_on(broker).await;
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
async fn suite_on(broker: &Broker) -> TestSuite {
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

struct Databases {
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

/// A service running as its own binary, `blangkon-<name>`, beside the
/// test's (both built by `cargo test --workspace`).
pub struct ServiceProcess {
    name: String,
    port: u16,
    env: Vec<(String, String)>,
    child: Child,
}

impl ServiceProcess {
    async fn start(name: &str, port: u16, env: Vec<(String, String)>) -> Self {
        let child = spawn_service(name, &env);
        let mut process = Self {
            name: name.to_string(),
            port,
            env,
            child,
        };
        process.wait_listening().await;
        process
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn terminate(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.kill();
    }

    async fn restart(&mut self) {
        self.child = spawn_service(&self.name, &self.env);
        self.wait_listening().await;
    }

    async fn wait_listening(&mut self) {
        let address = format!("127.0.0.1:{}", self.port);
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(&address).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("blangkon-{} exited at start: {status}", self.name);
            }
            assert!(
                Instant::now() < deadline,
                "blangkon-{} did not listen",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn_service(name: &str, env: &[(String, String)]) -> Child {
    let binary = service_binary(name);
    // Its log, for a failing scenario: where the service says why.
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(std::env::temp_dir().join(format!("blangkon-faults-{name}.log")))
        .unwrap();
    let filter = format!("BLANGKON_{}__TELEMETRY__LOG_FILTER", name.to_uppercase());
    Command::new(binary)
        .envs(env.iter().cloned())
        .env(filter, "warn,blangkon_platform=info")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// The environment that runs service `name` as its own process, a binary
/// or a container, on the host's network: gRPC on `grpc_port` and metrics on
/// `metrics_port` of 127.0.0.1 (0: any free port), its database at
/// `database_url`, the broker and consumer groups of `services`.
pub fn service_env(
    services: &TestSuite,
    name: &str,
    grpc_port: u16,
    metrics_port: u16,
    database_url: &str,
) -> Vec<(String, String)> {
    let kafka = &services.config.kafka;
    let key = |k: &str| format!("BLANGKON_{}__{k}", name.to_uppercase());
    vec![
        (key("GRPC__LISTEN"), format!("127.0.0.1:{grpc_port}")),
        (key("METRICS__LISTEN"), format!("127.0.0.1:{metrics_port}")),
        (key("DATABASE__URL"), database_url.into()),
        (key("DATABASE__MAX_CONNECTIONS"), "5".into()),
        (key("AUTH__JWT_SECRET"), SECRET.into()),
        (
            key("KAFKA__BOOTSTRAP_SERVERS"),
            kafka.bootstrap_servers.clone(),
        ),
        (
            key("KAFKA__CONSUMER_GROUP_PREFIX"),
            kafka.consumer_group_prefix.clone(),
        ),
        (key("KAFKA__CREATE_TOPICS"), kafka.create_topics.to_string()),
        (key("KAFKA__RELAY_POLL_MS"), "200".into()),
        (key("KAFKA__DELIVERY_TIMEOUT_MS"), "3000".into()),
    ]
}

/// The binary of service `name`, `blangkon-<name>`, beside the running
/// test's own: `cargo test --workspace` builds both.
pub fn service_binary(name: &str) -> PathBuf {
    // The test runs from target/<profile>/deps; the binaries sit one up.
    let exe = std::env::current_exe().unwrap();
    let binary = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join(format!("blangkon-{name}")))
        .unwrap();
    assert!(
        binary.exists(),
        "{} is missing: build the services first (cargo test --workspace builds them)",
        binary.display()
    );
    binary
}

/// `GET /metrics` at `address` over plain HTTP/1.1: the status line, the
/// headers and the body.
pub fn scrape(address: std::net::SocketAddr) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// Prints a scenario's figures where CI shows them: straight to stderr,
/// past the test harness's capture of `println!`.
pub fn report(figures: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{figures}");
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

/// Buyers placing orders of one to three boxes, each retried with its
/// idempotency key while the answer is retryable.
pub struct Load {
    stop: Arc<AtomicBool>,
    placed: Arc<AtomicI64>,
    retried: Arc<AtomicI64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    pub fn start(shop: &Shop, buyers: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let placed = Arc::new(AtomicI64::new(0));
        let retried = Arc::new(AtomicI64::new(0));
        let tasks = (0..buyers)
            .map(|i| {
                let counts = (stop.clone(), placed.clone(), retried.clone());
                let (endpoint, product_id) = (shop.order_endpoint(), shop.product_id.clone());
                tokio::spawn(async move { buyer(i, endpoint, product_id, counts).await })
            })
            .collect();
        Self {
            stop,
            placed,
            retried,
            tasks,
        }
    }

    pub fn placed(&self) -> i64 {
        self.placed.load(Ordering::Relaxed)
    }

    /// Calls retried after a retryable refusal or a broken connection.
    pub fn retried(&self) -> i64 {
        self.retried.load(Ordering::Relaxed)
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

/// The token of buyer `i`: a work unit of its own in Kota Semarang.
fn buyer_token(i: usize) -> String {
    token(
        Role::Buyer,
        TokenRequest {
            subject: format!("ppk-{i}@disdik"),
            regency: Some("33.74".into()),
            work_unit: Some(format!("Dinas Pendidikan {i}")),
            ..TokenRequest::default()
        },
    )
}

/// An order of `quantity` units of `product_id`, under a fresh key.
fn one_line_order(product_id: &str, quantity: i64) -> ord::PlaceOrderRequest {
    ord::PlaceOrderRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        lines: vec![ord::OrderLine {
            product_id: product_id.to_string(),
            quantity,
        }],
        note: String::new(),
    }
}

/// Whether a buyer retries the same placing (same idempotency key) after
/// `status`: the service was unavailable, a concurrent call got in the
/// way, or the connection broke under the call (the service died).
fn retryable(status: &tonic::Status) -> bool {
    let transport = std::error::Error::source(status).is_some();
    matches!(
        status.code(),
        Code::Unavailable | Code::Aborted | Code::Cancelled
    ) || (status.code() == Code::Unknown && transport)
}

async fn buyer(
    i: usize,
    endpoint: String,
    product_id: String,
    (stop, placed, retried): (Arc<AtomicBool>, Arc<AtomicI64>, Arc<AtomicI64>),
) {
    let buyer = buyer_token(i);
    let mut orders = OrderServiceClient::connect(endpoint).await.unwrap();
    let mut n = 0i64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let request = one_line_order(&product_id, 1 + n % 3);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match orders.place_order(with(&buyer, request.clone())).await {
                Ok(_) => {
                    placed.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(status) if retryable(&status) && Instant::now() < deadline => {
                    retried.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(status) => panic!("buyer {i}: placing failed: {status}"),
            }
        }
    }
}
