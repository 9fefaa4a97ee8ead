//! Prometheus metrics: one registry per service, served as OpenMetrics
//! text on `metrics.listen` (`GET /metrics`). Figures that live elsewhere
//! (the relay's health, the database pool) are read into their gauges at
//! each scrape, so reading them costs nothing between scrapes.
//!
//! Built on `prometheus-client` (the Prometheus project's Rust client):
//! the OpenTelemetry Prometheus exporter trails the OpenTelemetry version
//! the suite uses, and scraping is what provincial IT's Prometheus (or an
//! OpenTelemetry collector's Prometheus receiver) does either way.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use futures::future::BoxFuture;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
pub use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::kafka::PartitionLags;
use crate::outbox::RelayHealth;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The OpenMetrics text format's content type.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How long a scrape waits for a figure it must ask the database for; a
/// figure not read in time keeps its last value.
const SCRAPE_QUERY_TIMEOUT: Duration = Duration::from_secs(2);

type Refresh = Box<dyn Fn() + Send + Sync>;
type Query = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

/// A service's metrics: what it registered, and what to read before each
/// scrape.
#[derive(Clone, Default)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    refreshes: Arc<Mutex<Vec<Refresh>>>,
    queries: Arc<Mutex<Vec<Query>>>,
    consumers: Arc<OnceLock<ConsumerMetrics>>,
}

/// Labels of one consumer's counts: `consumer`, and what became of it.
pub type ConsumerLabels = [(&'static str, String); 2];

/// What the inbox consumers of a service count, by consumer.
#[derive(Clone, Debug, Default)]
pub struct ConsumerMetrics {
    /// Records taken from Kafka, by outcome: `applied`, `duplicate` (seen
    /// before), `dead_lettered` (set aside: it cannot be applied as it
    /// is); and dead letters `replayed` (applied by a replay).
    pub events: Family<ConsumerLabels, Counter>,
    /// Times a consumer rejoined its group with a new client.
    pub rejoins: Family<[(&'static str, String); 1], Counter>,
    /// Each consumer's lag figures, read into `blangkon_consumer_lag` at
    /// each scrape.
    lags: Arc<Mutex<Vec<(String, PartitionLags)>>>,
}

impl ConsumerMetrics {
    /// Reports `lags` as consumer `name`'s.
    pub fn watch_lag(&self, name: &str, lags: PartitionLags) {
        self.lags
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((name.to_string(), lags));
    }
}

/// Labels of one partition's lag: `consumer`, `topic`, `partition`.
type LagLabels = [(&'static str, String); 3];

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Registers `metric` as `blangkon_<name>`.
    pub fn register(
        &self,
        name: &str,
        help: &str,
        metric: impl prometheus_client::registry::Metric,
    ) {
        self.registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .register(format!("blangkon_{name}"), help, metric);
    }

    /// Runs `refresh` before each scrape.
    pub fn on_scrape(&self, refresh: impl Fn() + Send + Sync + 'static) {
        self.refreshes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Box::new(refresh));
    }

    /// Runs `query` before each scrape, for a figure that takes I/O to
    /// read (a database count); it gets [`SCRAPE_QUERY_TIMEOUT`].
    pub fn on_scrape_query<F, Fut>(&self, query: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let query: Query = Arc::new(move || {
            let read = query();
            Box::pin(async move {
                let _ = tokio::time::timeout(SCRAPE_QUERY_TIMEOUT, read).await;
            })
        });
        self.queries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(query);
    }

    /// A gauge `blangkon_<name>` whose value `read` gives at each scrape.
    pub fn gauge_fn(&self, name: &str, help: &str, read: impl Fn() -> i64 + Send + Sync + 'static) {
        let gauge = Gauge::<i64>::default();
        self.register(name, help, gauge.clone());
        self.on_scrape(move || {
            gauge.set(read());
        });
    }

    /// A counter `blangkon_<name>_total` whose running total `read` gives
    /// at each scrape (a figure counted elsewhere, that only grows).
    pub fn counter_fn(
        &self,
        name: &str,
        help: &str,
        read: impl Fn() -> u64 + Send + Sync + 'static,
    ) {
        let counter = Counter::<u64>::default();
        self.register(name, help, counter.clone());
        self.on_scrape(move || {
            counter.inc_by(read().saturating_sub(counter.get()));
        });
    }

    /// A gauge `blangkon_<name>` in seconds, which `read` gives at each
    /// scrape.
    pub fn seconds_fn(
        &self,
        name: &str,
        help: &str,
        read: impl Fn() -> Duration + Send + Sync + 'static,
    ) {
        let gauge = Gauge::<f64, AtomicU64>::default();
        self.register(name, help, gauge.clone());
        self.on_scrape(move || {
            gauge.set(read().as_secs_f64());
        });
    }

    /// A histogram `blangkon_<name>` with the upper bounds `buckets`, for
    /// the caller to observe into.
    /// Registers `metric` (a histogram family of seconds) as
    /// `blangkon_`-less `name_seconds`, under OpenTelemetry's name for it.
    pub fn register_seconds(
        &self,
        name: &str,
        help: &str,
        metric: impl prometheus_client::registry::Metric,
    ) {
        self.registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .register_with_unit(
                name,
                help,
                prometheus_client::registry::Unit::Seconds,
                metric,
            );
    }

    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        buckets: impl Iterator<Item = f64>,
    ) -> Histogram {
        let histogram = Histogram::new(buckets);
        self.register(name, help, histogram.clone());
        histogram
    }

    /// Every metric, as OpenMetrics text.
    pub async fn encode(&self) -> String {
        let queries: Vec<Query> = self
            .queries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        futures::future::join_all(queries.iter().map(|query| query())).await;
        for refresh in self
            .refreshes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            refresh();
        }
        let mut text = String::new();
        let registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &registry);
        text
    }

    /// The inbox consumers' counts, registered on first use.
    pub fn consumers(&self) -> ConsumerMetrics {
        self.consumers
            .get_or_init(|| {
                let counts = ConsumerMetrics::default();
                self.register(
                    "consumer_events",
                    "Records an inbox consumer took from Kafka, by outcome",
                    counts.events.clone(),
                );
                self.register(
                    "consumer_rejoins",
                    "Times an inbox consumer rejoined its group with a new client (stalled or failed)",
                    counts.rejoins.clone(),
                );
                let lag = Family::<LagLabels, Gauge>::default();
                self.register(
                    "consumer_lag",
                    "Records between the end of a partition and an inbox consumer's position, \
                     for the partitions this replica holds (librdkafka statistics, every 5 s)",
                    lag.clone(),
                );
                let lags = counts.lags.clone();
                self.on_scrape(move || {
                    // Partitions move between replicas: report only those
                    // held now.
                    lag.clear();
                    for (consumer, lags) in lags.lock().unwrap_or_else(PoisonError::into_inner).iter() {
                        for ((topic, partition), behind) in lags.current() {
                            let labels = [
                                ("consumer", consumer.clone()),
                                ("topic", topic),
                                ("partition", partition.to_string()),
                            ];
                            lag.get_or_create(&labels).set(behind);
                        }
                    }
                });
                counts
            })
            .clone()
    }

    /// The outbox relay's figures.
    pub fn watch_relay(&self, health: Arc<RelayHealth>) {
        let age = Gauge::<f64, AtomicU64>::default();
        let stalled = Gauge::<f64, AtomicU64>::default();
        let failures = Gauge::<i64>::default();
        let replaced = Counter::<u64>::default();
        let failed = Counter::<u64>::default();
        self.register(
            "outbox_relay_failed_rounds",
            "Relay rounds that did not deliver everything they took",
            failed.clone(),
        );
        self.register(
            "outbox_oldest_unpublished_age_seconds",
            "How long the oldest event not yet acknowledged by Kafka has waited (0: none waits)",
            age.clone(),
        );
        self.register(
            "outbox_relay_stalled_seconds",
            "How long events have waited while the relay published nothing (0: it publishes, or none waits)",
            stalled.clone(),
        );
        self.register(
            "outbox_relay_consecutive_failures",
            "Relay rounds failed in a row (0: the last round delivered)",
            failures.clone(),
        );
        self.register(
            "outbox_producers_replaced",
            "Kafka producers the relay gave up for new ones (fenced, fatal, failing)",
            replaced.clone(),
        );
        self.on_scrape(move || {
            age.set(health.oldest_unpublished_age().as_secs_f64());
            stalled.set(health.stalled_for().as_secs_f64());
            failures.set(i64::try_from(health.consecutive_failures()).unwrap_or(i64::MAX));
            let more = health.producers_replaced().saturating_sub(replaced.get());
            replaced.inc_by(more);
            failed.inc_by(health.failed_rounds().saturating_sub(failed.get()));
        });
    }

    /// The events in the service's outbox that Kafka has not acknowledged,
    /// counted at each scrape (every replica counts the same table).
    pub fn watch_outbox(&self, db: DatabaseConnection) {
        let unpublished = Gauge::<i64>::default();
        self.register(
            "outbox_unpublished_events",
            "Events committed but not yet acknowledged by Kafka (the outbox backlog)",
            unpublished.clone(),
        );
        self.on_scrape_query(move || {
            let (db, unpublished) = (db.clone(), unpublished.clone());
            async move {
                match crate::outbox::pending_count(&db).await {
                    Ok(n) => {
                        unpublished.set(i64::try_from(n).unwrap_or(i64::MAX));
                    }
                    Err(e) => tracing::debug!(error = %e, "cannot count the outbox backlog"),
                }
            }
        });
    }

    /// The dead letters waiting for a replay, by consumer, counted at each
    /// scrape (every replica counts the same table).
    pub fn watch_dead_letters(&self, db: DatabaseConnection) {
        let waiting = Family::<[(&'static str, String); 1], Gauge>::default();
        self.register(
            "dead_letters_waiting",
            "Records an inbox consumer set aside as dead letters and no replay has applied yet",
            waiting.clone(),
        );
        self.on_scrape_query(move || {
            let (db, waiting) = (db.clone(), waiting.clone());
            async move {
                match crate::dead_letters::waiting_by_consumer(&db).await {
                    Ok(counts) => {
                        waiting.clear();
                        for (consumer, count) in counts {
                            waiting.get_or_create(&[("consumer", consumer)]).set(count);
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "cannot count the dead letters"),
                }
            }
        });
    }

    /// The database pool's connections, in use and idle.
    pub fn watch_pool(&self, db: DatabaseConnection) {
        let connections = Family::<[(&'static str, &'static str); 1], Gauge>::default();
        self.register(
            "database_pool_connections",
            "Connections of the service's database pool, by state",
            connections.clone(),
        );
        self.on_scrape(move || {
            let (size, idle) = pool_size(&db);
            let idle = i64::try_from(idle).unwrap_or(i64::MAX);
            let in_use = (i64::from(size) - idle).max(0);
            connections
                .get_or_create(&[("state", "in_use")])
                .set(in_use);
            connections.get_or_create(&[("state", "idle")]).set(idle);
        });
    }
}

fn pool_size(db: &DatabaseConnection) -> (u32, usize) {
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
    }
}

/// Things of the domain that reached a status, counted as the change
/// commits: `blangkon_<name>_total{status}` (orders placed, accepted, ...;
/// vendors registered as pending, verified, ...).
#[derive(Clone, Debug, Default)]
pub struct StatusCounts(Family<[(&'static str, &'static str); 1], Counter>);

impl StatusCounts {
    /// Counts registered as `blangkon_<name>` in `metrics`.
    pub fn registered(metrics: &Metrics, name: &str, help: &str) -> Self {
        let counts = Self::default();
        metrics.register(name, help, counts.0.clone());
        counts
    }

    /// One more reached `status`.
    pub fn reached(&self, status: &'static str) {
        self.0.get_or_create(&[("status", status)]).inc();
    }
}

/// Labels of a gRPC call's duration, named as OpenTelemetry's semantic
/// conventions name them (`rpc.method`, `rpc.grpc.status_code`).
type CallLabels = [(&'static str, String); 2];

/// The label of every path that names no method the server has: what a
/// caller sends is no label, or random paths would add series without
/// bound.
pub const UNKNOWN_METHOD: &str = "unknown";

/// The gRPC methods a server has, as `package.Service/Method` without the
/// leading slash of their paths: every method of the suite's contracts,
/// health and reflection.
#[derive(Debug, Clone)]
pub struct KnownMethods(Arc<std::collections::HashSet<String>>);

impl KnownMethods {
    /// Every method of the suite's contracts and of the services each
    /// server adds beside them.
    pub fn of_the_suite() -> Self {
        use prost::Message as _;
        let mut methods = std::collections::HashSet::new();
        // The suite's own descriptors always decode: they are built in.
        if let Ok(set) = prost_types::FileDescriptorSet::decode(blangkon_proto::FILE_DESCRIPTOR_SET)
        {
            for file in set.file {
                let package = file.package.unwrap_or_default();
                for service in file.service {
                    let service_name = service.name.unwrap_or_default();
                    for method in service.method {
                        methods.insert(format!(
                            "{package}.{service_name}/{}",
                            method.name.unwrap_or_default()
                        ));
                    }
                }
            }
        }
        methods.extend(
            [
                "grpc.health.v1.Health/Check",
                "grpc.health.v1.Health/Watch",
                "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            ]
            .map(String::from),
        );
        Self(Arc::new(methods))
    }

    /// The label of a call to `path`: its method, or [`UNKNOWN_METHOD`].
    pub fn label(&self, path: &str) -> &str {
        let method = path.strip_prefix('/').unwrap_or(path);
        match self.0.get(method) {
            Some(known) => known,
            None => UNKNOWN_METHOD,
        }
    }
}

/// A tower layer that times every gRPC call into
/// `rpc_server_call_duration_seconds{rpc_method, rpc_grpc_status_code}`
/// (OpenTelemetry's `rpc.server.call.duration`), labelled by the method
/// the path names when it names one of `methods`.
#[derive(Clone)]
pub struct CallTimer {
    durations: Family<CallLabels, Histogram>,
    methods: KnownMethods,
}

impl CallTimer {
    pub fn new(metrics: &Metrics, methods: KnownMethods) -> Self {
        let durations = Family::<CallLabels, Histogram>::new_with_constructor(|| {
            // 1 ms to about 16 s.
            Histogram::new(exponential_buckets(0.001, 2.0, 15))
        });
        metrics
            .registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .register_with_unit(
                "rpc_server_call_duration",
                "Duration of gRPC calls served, by method and gRPC status code",
                prometheus_client::registry::Unit::Seconds,
                durations.clone(),
            );
        Self { durations, methods }
    }
}

impl<S> tower::Layer<S> for CallTimer {
    type Service = TimedCalls<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TimedCalls {
            inner,
            durations: self.durations.clone(),
            methods: self.methods.clone(),
        }
    }
}

/// A gRPC service whose calls [`CallTimer`] times.
#[derive(Clone)]
pub struct TimedCalls<S> {
    inner: S,
    durations: Family<CallLabels, Histogram>,
    methods: KnownMethods,
}

impl<S, B, R> tower::Service<http::Request<B>> for TimedCalls<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = self.methods.label(request.uri().path()).to_string();
        let started = std::time::Instant::now();
        let answer = self.inner.call(request);
        let durations = self.durations.clone();
        Box::pin(async move {
            let response = answer.await?;
            // A failed unary call answers its status in the headers
            // (trailers-only); a successful one in trailers, as 0.
            let code = response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("0")
                .to_string();
            durations
                .get_or_create(&[("rpc_method", method), ("rpc_grpc_status_code", code)])
                .observe(started.elapsed().as_secs_f64());
            Ok(response)
        })
    }
}

/// Binds the metrics endpoint.
pub async fn bind(listen: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(listen).await
}

/// Serves `GET /metrics` on `listener` until `shutdown`.
pub async fn serve(listener: TcpListener, metrics: Metrics, shutdown: CancellationToken) {
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move {
                let text = metrics.encode().await;
                ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
            }
        }),
    );
    let stopped = async move { shutdown.cancelled().await };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stopped)
        .await
    {
        tracing::error!(error = %e, "the metrics endpoint stopped");
    }
}

/// The Prometheus endpoint: `GET /metrics` in the OpenMetrics text format.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Serve it at all.
    pub enabled: bool,
    /// Address it binds, `host:port`; port 0 picks a free port (the local
    /// suite, tests). An IPv6 host may come without brackets, as a pod's
    /// IP does when the chart writes `$(POD_IP):9464`.
    #[serde(deserialize_with = "listen_address")]
    #[schemars(with = "String")]
    pub listen: SocketAddr,
}

/// `10.1.2.3:9464`, `[fd00::1]:9464` or `fd00::1:9464`: the port is what
/// follows the last colon.
fn listen_address<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    use serde::de::Error as _;
    let text = String::deserialize(d)?;
    if let Ok(address) = text.parse() {
        return Ok(address);
    }
    let invalid = || D::Error::custom(format!("`{text}` is not host:port"));
    let (host, port) = text.rsplit_once(':').ok_or_else(invalid)?;
    let ip: std::net::IpAddr = host.parse().map_err(|_| invalid())?;
    let port: u16 = port.parse().map_err(|_| invalid())?;
    Ok(SocketAddr::new(ip, port))
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: SocketAddr::from(([0, 0, 0, 0], 9464)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listen_address_may_be_a_pods_ipv6_without_brackets() {
        let read = |listen: &str| {
            serde_json::from_value::<MetricsSettings>(serde_json::json!({
                "enabled": true,
                "listen": listen,
            }))
            .map(|s| s.listen)
        };
        assert_eq!(
            read("10.1.2.3:9464").unwrap(),
            "10.1.2.3:9464".parse().unwrap()
        );
        assert_eq!(
            read("[fd00::1]:9464").unwrap(),
            "[fd00::1]:9464".parse().unwrap()
        );
        assert_eq!(
            read("fd00::1:9464").unwrap(),
            "[fd00::1]:9464".parse().unwrap()
        );
        let refused = read("pod-ip:9464").unwrap_err().to_string();
        assert!(
            refused.contains("`pod-ip:9464` is not host:port"),
            "{refused}"
        );
    }

    #[tokio::test]
    async fn a_gauge_function_is_read_at_each_scrape() {
        let metrics = Metrics::default();
        let value = Arc::new(std::sync::atomic::AtomicI64::new(3));
        let read = value.clone();
        metrics.gauge_fn("things", "Things", move || {
            read.load(std::sync::atomic::Ordering::Relaxed)
        });
        assert!(metrics.encode().await.contains("blangkon_things 3\n"));
        value.store(5, std::sync::atomic::Ordering::Relaxed);
        assert!(metrics.encode().await.contains("blangkon_things 5\n"));
    }

    #[tokio::test]
    async fn consumer_counts_are_registered_once_for_every_consumer() {
        let metrics = Metrics::default();
        let (first, second) = (metrics.consumers(), metrics.consumers());
        let applied = |consumer: &str| {
            [
                ("consumer", consumer.to_string()),
                ("outcome", "applied".to_string()),
            ]
        };
        first.events.get_or_create(&applied("projection")).inc();
        second.events.get_or_create(&applied("projection")).inc();
        let text = metrics.encode().await;
        assert_eq!(
            text.matches("# TYPE blangkon_consumer_events counter")
                .count(),
            1
        );
        assert!(
            text.contains(
                "blangkon_consumer_events_total{consumer=\"projection\",outcome=\"applied\"} 2"
            ),
            "{text}"
        );
    }

    #[tokio::test]
    async fn calls_are_labelled_by_their_method_and_unknown_paths_share_one_label() {
        use tower::{Layer as _, ServiceExt as _};
        let metrics = Metrics::default();
        let timer = CallTimer::new(&metrics, KnownMethods::of_the_suite());
        let unimplemented = tower::service_fn(|_: http::Request<()>| async {
            Ok::<_, std::convert::Infallible>(
                http::Response::builder()
                    .header("grpc-status", "12")
                    .body(())
                    .unwrap(),
            )
        });
        let service = timer.layer(unimplemented);
        let call = |path: String| {
            let request = http::Request::builder().uri(path).body(()).unwrap();
            service.clone().oneshot(request)
        };
        for i in 0..3_000 {
            let random = uuid::Uuid::new_v4().simple();
            call(format!("/{random}.Service/Method{i}")).await.unwrap();
        }
        call("/blangkon.catalog.v1.CatalogService/SearchProducts".into())
            .await
            .unwrap();
        call("/grpc.health.v1.Health/Check".into()).await.unwrap();
        let text = metrics.encode().await;
        let series: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("rpc_server_call_duration_seconds_count{"))
            .collect();
        assert_eq!(series.len(), 3, "{series:?}");
        assert!(text.contains(
            "rpc_server_call_duration_seconds_count{rpc_method=\"unknown\",rpc_grpc_status_code=\"12\"} 3000"
        ));
        assert!(text.contains("rpc_method=\"blangkon.catalog.v1.CatalogService/SearchProducts\""));
        assert!(text.contains("rpc_method=\"grpc.health.v1.Health/Check\""));
    }

    #[tokio::test]
    async fn the_relay_figures_are_read_at_each_scrape() {
        let metrics = Metrics::default();
        let health = Arc::new(RelayHealth::default());
        metrics.watch_relay(health.clone());
        let text = metrics.encode().await;
        assert!(
            text.contains("blangkon_outbox_oldest_unpublished_age_seconds 0"),
            "{text}"
        );
        assert!(
            text.contains("blangkon_outbox_relay_consecutive_failures 0"),
            "{text}"
        );
        assert!(
            text.contains("blangkon_outbox_producers_replaced_total 0"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");

        health.waiting_since(Some(chrono::Utc::now() - chrono::Duration::seconds(90)));
        let text = metrics.encode().await;
        let age: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("blangkon_outbox_oldest_unpublished_age_seconds "))
            .unwrap()
            .parse()
            .unwrap();
        assert!((89.0..120.0).contains(&age), "{age}");
    }
}
