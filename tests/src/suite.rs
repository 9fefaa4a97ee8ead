//! The four services on fresh databases and one broker: where every
//! whole-suite test starts. A test may stop and start one of them again
//! (in the test's process), or kill and restart it (as its own binary).

use crate::*;
use blangkon_catalog::CatalogService;
use blangkon_order::OrderService;
use blangkon_platform::kafka::topics;
use blangkon_platform::service::{Service, Settings};
use blangkon_platform::suite::Running;
use blangkon_proto::catalog::catalog_service_client::CatalogServiceClient;
use blangkon_proto::order::order_service_client::OrderServiceClient;
use blangkon_proto::reporting::reporting_service_client::ReportingServiceClient;
use blangkon_proto::vendor::vendor_service_client::VendorServiceClient;
use blangkon_reporting::ReportingService;
use blangkon_testkit::{TestDatabase, TestKafka, TestSuite, stop};
use blangkon_vendor::VendorService;
use std::time::Duration;
use tonic::transport::Channel;

/// One of the suite's four services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member {
    Vendor,
    Catalog,
    Order,
    Reporting,
}

impl Member {
    /// In the order the suite starts them.
    pub const ALL: [Self; 4] = [Self::Vendor, Self::Catalog, Self::Order, Self::Reporting];

    /// The service's name: `blangkon-<name>` is its binary.
    pub fn name(self) -> &'static str {
        match self {
            Self::Vendor => "vendor",
            Self::Catalog => "catalog",
            Self::Order => "order",
            Self::Reporting => "reporting",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The four services on fresh databases, all on one broker.
pub struct Suite {
    pub services: TestSuite,
    pub vendor_db: TestDatabase,
    pub catalog_db: TestDatabase,
    pub order_db: TestDatabase,
    pub reporting_db: TestDatabase,
    hosts: Hosts,
    /// The port each member serves gRPC on, in [`Member::ALL`]'s order: 0
    /// until it first starts (the system picks one); a member started
    /// again keeps its port.
    ports: [u16; 4],
}

/// Where the suite's services run.
enum Hosts {
    /// On tasks of the test's process.
    InProcess(Box<InProcess>),
    /// As the services' own binaries, which the test may kill.
    Processes(Vec<ServiceProcess>),
}

/// The services running on tasks of the test's process (`None` while
/// stopped), and the database URLs they start with (behind a proxy,
/// perhaps).
struct InProcess {
    database_urls: [String; 4],
    vendor: Option<Running<VendorService>>,
    catalog: Option<Running<CatalogService>>,
    order: Option<Running<OrderService>>,
    reporting: Option<Running<ReportingService>>,
}

/// How the services reach their databases.
type Route<'a> = &'a dyn Fn(&str) -> String;

impl Suite {
    /// The four services on tasks of the test's process, on `services`
    /// as the test configured them (its broker, its topics).
    pub async fn open_on(services: TestSuite) -> Self {
        Self::open_in_process(services, &|url| url.to_string(), &Member::ALL).await
    }

    /// The four services on tasks of the test's process, on `broker`.
    pub async fn open(broker: &Broker) -> Self {
        Self::open_on(suite_on(broker).await).await
    }

    /// The four services on tasks of the test's process, each consumer
    /// started before the service whose topics it reads: reporting, the
    /// catalog, the order service, the vendor service.
    pub async fn open_reversed(broker: &Broker) -> Self {
        use Member::*;
        let reversed = [Reporting, Catalog, Order, Vendor];
        Self::open_in_process(suite_on(broker).await, &|url| url.to_string(), &reversed).await
    }

    /// The four services on tasks of the test's process, reaching their
    /// databases through `proxy`.
    pub async fn open_behind(broker: &Broker, proxy: &DbProxy) -> Self {
        Self::open_in_process(
            suite_on(broker).await,
            &|url| proxy.route(url),
            &Member::ALL,
        )
        .await
    }

    /// Starts the services in the order `members` gives, each on a port
    /// the system picks. The order service calls the vendor service only
    /// when placing, so it may start first: then the vendor's port is
    /// chosen before, for the order service to know where to call.
    async fn open_in_process(services: TestSuite, route: Route<'_>, members: &[Member]) -> Self {
        let dbs = Databases::new().await;
        let database_urls = dbs.urls().map(|url| route(&url));
        let mut ports = [0; 4];
        let position = |m: Member| members.iter().position(|&x| x == m);
        if position(Member::Order) < position(Member::Vendor) {
            ports[Member::Vendor.index()] = free_port();
        }
        assert!(
            position(Member::Catalog) < position(Member::Order),
            "the order service starts after the catalog it calls"
        );
        let mut suite = Self::from_parts(
            services,
            dbs,
            Hosts::InProcess(Box::new(InProcess {
                database_urls,
                vendor: None,
                catalog: None,
                order: None,
                reporting: None,
            })),
            ports,
        );
        for member in members {
            suite.start(*member).await;
        }
        suite
    }

    /// The four services as their own binaries (built by `cargo test
    /// --workspace`), which the test may kill and start again.
    pub async fn open_processes(broker: &Broker) -> Self {
        let services = suite_on(broker).await;
        let dbs = Databases::new().await;
        // Each binary needs its port before it starts: the listeners are
        // held until all four are chosen, so no two are the same.
        let listeners = Member::ALL.map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap());
        let ports = listeners.each_ref().map(|l| l.local_addr().unwrap().port());
        drop(listeners);
        let endpoints = ports.map(|port| format!("http://127.0.0.1:{port}"));
        let mut processes = Vec::new();
        for (member, url) in Member::ALL.into_iter().zip(dbs.urls()) {
            let port = ports[member.index()];
            let mut env = service_env(&services, member.name(), port, 0, &url);
            if member == Member::Order {
                let key = |k: &str| format!("BLANGKON_ORDER__ORDER__{k}");
                env.push((
                    key("VENDOR_ENDPOINT"),
                    endpoints[Member::Vendor.index()].clone(),
                ));
                env.push((
                    key("CATALOG_ENDPOINT"),
                    endpoints[Member::Catalog.index()].clone(),
                ));
            }
            processes.push(ServiceProcess::start(member.name(), port, env).await);
        }
        Self::from_parts(services, dbs, Hosts::Processes(processes), ports)
    }

    fn from_parts(services: TestSuite, dbs: Databases, hosts: Hosts, ports: [u16; 4]) -> Self {
        exit_if_a_failed_test_hangs();
        Self {
            services,
            vendor_db: dbs.vendor,
            catalog_db: dbs.catalog,
            order_db: dbs.order,
            reporting_db: dbs.reporting,
            hosts,
            ports,
        }
    }

    /// Where `member` serves gRPC.
    pub fn endpoint(&self, member: Member) -> String {
        let port = self.ports[member.index()];
        assert!(port != 0, "{} has not started yet", member.name());
        format!("http://127.0.0.1:{port}")
    }

    pub fn vendor_endpoint(&self) -> String {
        self.endpoint(Member::Vendor)
    }

    pub fn catalog_endpoint(&self) -> String {
        self.endpoint(Member::Catalog)
    }

    pub fn order_endpoint(&self) -> String {
        self.endpoint(Member::Order)
    }

    pub fn reporting_endpoint(&self) -> String {
        self.endpoint(Member::Reporting)
    }

    pub async fn vendors(&self) -> VendorServiceClient<Channel> {
        VendorServiceClient::connect(self.vendor_endpoint())
            .await
            .unwrap()
    }

    pub async fn catalog(&self) -> CatalogServiceClient<Channel> {
        CatalogServiceClient::connect(self.catalog_endpoint())
            .await
            .unwrap()
    }

    pub async fn orders(&self) -> OrderServiceClient<Channel> {
        OrderServiceClient::connect(self.order_endpoint())
            .await
            .unwrap()
    }

    pub async fn reports(&self) -> ReportingServiceClient<Channel> {
        ReportingServiceClient::connect(self.reporting_endpoint())
            .await
            .unwrap()
    }

    /// A topic's name on the broker (the test's prefix before it).
    pub fn topic(&self, name: &str) -> String {
        self.services.config.kafka.topic(name)
    }

    /// Starts `member` in the test's process on its port: the first time
    /// or after [`Suite::stop`].
    pub async fn start(&mut self, member: Member) {
        let port = self.ports[member.index()];
        let (vendor, catalog) = (Member::Vendor.index(), Member::Catalog.index());
        let peers = [self.ports[vendor], self.ports[catalog]]
            .map(|port| format!("http://127.0.0.1:{port}"));
        let Hosts::InProcess(hosts) = &mut self.hosts else {
            panic!("start needs the services in the test's process");
        };
        let services = &self.services;
        let url = hosts.database_urls[member.index()].as_str();
        /// Starts a service in its empty slot; answers where it listens.
        async fn run<S: Service>(
            services: &TestSuite,
            slot: &mut Option<Running<S>>,
            settings: Settings<S>,
        ) -> std::net::SocketAddr {
            assert!(slot.is_none(), "the {} service is running", S::ABOUT.name);
            let running = services.start(settings).await;
            let address = running.address();
            *slot = Some(running);
            address
        }
        let config = &services.config;
        let address = match member {
            Member::Vendor => {
                let settings = config.settings::<VendorService>(url, port);
                run(services, &mut hosts.vendor, settings).await
            }
            Member::Catalog => {
                let mut settings = config.settings::<CatalogService>(url, port);
                // New products become searchable within a tenth of a second.
                settings.service.search_poll_ms = 100;
                run(services, &mut hosts.catalog, settings).await
            }
            Member::Order => {
                let mut settings = config.settings::<OrderService>(url, port);
                let service = &mut settings.service;
                [service.vendor_endpoint, service.catalog_endpoint] = peers;
                run(services, &mut hosts.order, settings).await
            }
            Member::Reporting => {
                let settings = config.settings::<ReportingService>(url, port);
                run(services, &mut hosts.reporting, settings).await
            }
        };
        self.ports[member.index()] = address.port();
    }

    /// Stops `member` as a deployment would (drained, final commits);
    /// [`Suite::start`] brings it back on the same port.
    pub async fn stop(&mut self, member: Member) {
        let Hosts::InProcess(hosts) = &mut self.hosts else {
            panic!("stop needs the services in the test's process");
        };
        async fn stop_running<S: Service>(running: &mut Option<Running<S>>) {
            let running = running.take().expect("the service is running");
            stop(running).await;
        }
        match member {
            Member::Vendor => stop_running(&mut hosts.vendor).await,
            Member::Catalog => stop_running(&mut hosts.catalog).await,
            Member::Order => stop_running(&mut hosts.order).await,
            Member::Reporting => stop_running(&mut hosts.reporting).await,
        }
    }

    /// Kills `member` (SIGKILL: no drain, no final commit), waits `down`,
    /// and starts it again on its port. Processes only.
    pub async fn crash(&mut self, member: Member, down: Duration) {
        let Hosts::Processes(processes) = &mut self.hosts else {
            panic!("crash needs the services as processes (open_processes)");
        };
        let process = processes
            .iter_mut()
            .find(|p| p.name == member.name())
            .expect("a service of the suite");
        process.kill().await;
        tokio::time::sleep(down).await;
        process.restart().await;
    }

    /// Where `member` serves its metrics (services in the test's process).
    pub fn metrics_address(&self, member: Member) -> Option<std::net::SocketAddr> {
        let Hosts::InProcess(hosts) = &self.hosts else {
            return None;
        };
        match member {
            Member::Vendor => hosts.vendor.as_ref()?.metrics_address(),
            Member::Catalog => hosts.catalog.as_ref()?.metrics_address(),
            Member::Order => hosts.order.as_ref()?.metrics_address(),
            Member::Reporting => hosts.reporting.as_ref()?.metrics_address(),
        }
    }

    /// The base URL of `member`'s public HTTP API (services in the test's
    /// process that publish one: catalog and reporting).
    pub fn http_base(&self, member: Member) -> Option<String> {
        let Hosts::InProcess(hosts) = &self.hosts else {
            return None;
        };
        match member {
            Member::Vendor => hosts.vendor.as_ref()?.http_base(),
            Member::Catalog => hosts.catalog.as_ref()?.http_base(),
            Member::Order => hosts.order.as_ref()?.http_base(),
            Member::Reporting => hosts.reporting.as_ref()?.http_base(),
        }
    }

    /// Stops every service still running, reporting first.
    pub async fn close(self) {
        match self.hosts {
            Hosts::InProcess(hosts) => {
                let InProcess {
                    vendor,
                    catalog,
                    order,
                    reporting,
                    ..
                } = *hosts;
                if let Some(reporting) = reporting {
                    stop(reporting).await;
                }
                if let Some(order) = order {
                    stop(order).await;
                }
                if let Some(catalog) = catalog {
                    stop(catalog).await;
                }
                if let Some(vendor) = vendor {
                    stop(vendor).await;
                }
            }
            Hosts::Processes(processes) => {
                for mut process in processes.into_iter().rev() {
                    process.terminate().await;
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

/// A test's services on the broker the tests share (`TestKafka::new`),
/// with topics and consumer groups of their own (the broker keeps other
/// tests' events), made with `partitions` each or, if `None`, as
/// production lays them out.
pub async fn own_topics(partitions: Option<i32>) -> TestSuite {
    let mut services = TestSuite::new();
    let kafka = &mut services.config.kafka;
    kafka.topic_prefix = format!("{}.", kafka.consumer_group_prefix);
    for spec in topics::ALL {
        let name = services.config.kafka.topic(spec.name);
        let partitions = partitions.unwrap_or(spec.partitions);
        services.kafka.create_topic(&name, partitions).await;
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

    /// In [`Member::ALL`]'s order.
    fn urls(&self) -> [String; 4] {
        [&self.vendor, &self.catalog, &self.order, &self.reporting].map(|db| db.url.clone())
    }
}

/// How long a test binary may live on after one of its tests failed.
const AFTER_A_FAILURE: Duration = Duration::from_secs(120);

/// Makes a failed suite test fail the run promptly: its panic is printed
/// at once, past the harness's capture, and the test binary exits
/// [`AFTER_A_FAILURE`] later if it has not ended by then. A test that
/// panics drops its suite without closing it, and its runtime may then
/// never finish dropping the services' tasks: a Kafka consumer dropped
/// with its task polls until it has left its group (rdkafka's
/// `BaseConsumer::drop`), which the test's broker, killed by then, never
/// lets it (seen in gdb). The broker-hang test once kept CI waiting so
/// after its assertion failed, with the panic still captured.
/// The run has failed by then; what the binary's other tests would have
/// said is lost, which the printed panic names. Panics in tasks are left
/// to the harness: a task's panic fails the test, if it should, through
/// the task's handle in the test's body.
fn exit_if_a_failed_test_hangs() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |panic| {
            previous(panic);
            // A task's panic reaches the test through its handle, if it
            // matters: only the test's own body (no task, on any runtime
            // flavour) fails the test.
            if tokio::task::try_id().is_some() {
                return;
            }
            report(format_args!(
                "a suite test failed: {panic}; the test binary exits in \
                 {AFTER_A_FAILURE:?} if it has not ended"
            ));
            std::thread::spawn(|| {
                std::thread::sleep(AFTER_A_FAILURE);
                report(format_args!(
                    "the test binary did not end {AFTER_A_FAILURE:?} after a test failed: exiting"
                ));
                std::process::exit(101);
            });
        }));
    });
}
