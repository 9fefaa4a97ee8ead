//! `blangkon bench`: the benchmarks, each against the real service code:
//! [`catalog`] (search at national scale, with its generated products in
//! [`catalog_data`]), [`order`] (placing against the raw write limit of the
//! same PostgreSQL), [`reporting`] (the projection and the public reads,
//! over the generated year in [`reporting_data`]), [`lag`] (an order's
//! way to the public under load, against a bare Kafka round trip),
//! [`memory`] (each service's resident memory as its own process) and
//! [`overload`] (the catalog under ten times what it serves at once).

mod catalog;
mod catalog_data;
mod lag;
mod memory;
mod order;
mod overload;
mod partitions;
mod reporting;
mod reporting_data;
mod suite;

use std::time::Duration;

use anyhow::Context;
use blangkon_platform::settings::DatabaseSettings;
use clap::{Args, Subcommand};
use sea_orm::{ConnectionTrait, Database};

/// Where a benchmark runs: the PostgreSQL server it makes its databases
/// on, and the broker.
#[derive(Args, Clone)]
pub struct Infrastructure {
    /// PostgreSQL server; the benchmark makes its own databases on it.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pub(super) server: String,
    /// Kafka bootstrap servers (the test broker: deploy/local/tansu.sh
    /// start, which the make targets run); without it, librdkafka's
    /// embedded mock cluster.
    #[arg(long)]
    pub(super) kafka: Option<String>,
}

#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    target: BenchTarget,
}

#[derive(Subcommand)]
enum BenchTarget {
    /// Search latency and throughput at catalog scale.
    Catalog(catalog::CatalogBench),
    /// Order placement throughput against the raw write limit of PostgreSQL.
    Order(order::OrderBench),
    /// Reporting: events applied per second, and read latency at scale.
    Reporting(reporting::ReportingBench),
    /// From an order's commit to the public ledger and the analysts'
    /// stream under load, beside a bare Kafka round trip.
    Lag(lag::LagBench),
    /// Resident memory of each service as its own process: idle, after
    /// load, and the catalog's with a national catalogue.
    Memory(memory::MemoryBench),
    /// The catalog under ten times the calls it serves at once: the share
    /// it admits keeps its latency, the rest is shed at once, and it
    /// answers as before when the flood stops.
    Overload(overload::OverloadBench),
    /// All of the above in one run, one table: every figure beside the
    /// limit measured the same way in the same run (`make bench`).
    Suite(suite::SuiteBench),
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.target {
        BenchTarget::Catalog(bench) => catalog::run(bench).await.map(drop),
        BenchTarget::Order(bench) => order::run(bench).await.map(drop),
        BenchTarget::Reporting(bench) => reporting::run(bench).await.map(drop),
        BenchTarget::Lag(bench) => lag::run(bench).await.map(drop),
        BenchTarget::Memory(bench) => memory::run(bench).await.map(drop),
        BenchTarget::Overload(bench) => overload::run(bench).await.map(drop),
        BenchTarget::Suite(bench) => suite::run(bench).await,
    }
}

/// One measured figure, with the limit it is read against: the same kind
/// of measurement of the machine's own floor (a raw insert, an empty call,
/// a bare Kafka round trip) made in the same run.
#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct Figure {
    pub(super) what: String,
    pub(super) value: f64,
    pub(super) unit: &'static str,
    pub(super) limit: Option<Limit>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct Limit {
    pub(super) what: String,
    pub(super) value: f64,
    /// `value / limit.value`: a share of a rate, a multiple of a latency.
    pub(super) ratio: f64,
}

impl Figure {
    pub(super) fn new(what: impl Into<String>, value: f64, unit: &'static str) -> Self {
        Self {
            what: what.into(),
            value,
            unit,
            limit: None,
        }
    }

    /// Beside `limit` (in the same unit), measured as `what`.
    pub(super) fn beside(mut self, what: impl Into<String>, limit: f64) -> Self {
        self.limit = Some(Limit {
            what: what.into(),
            value: limit,
            ratio: if limit > 0.0 { self.value / limit } else { 0.0 },
        });
        self
    }
}

/// A latency in milliseconds.
pub(super) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(super) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// A new, empty database `name` on the PostgreSQL `server` (dropped first
/// if a previous run left it).
pub(super) async fn fresh_database(server: &str, name: &str) -> anyhow::Result<DatabaseSettings> {
    let admin = drop_database(server, name).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    admin.close().await.ok();
    Ok(DatabaseSettings::new(format!("{server}/{name}"), 20))
}

/// Drops the benchmark's database `name` on `server`; answers the
/// connection to the server's `postgres` database it used.
pub(super) async fn drop_database(
    server: &str,
    name: &str,
) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let admin = Database::connect(format!("{server}/postgres"))
        .await
        .with_context(|| format!("connecting to {server}"))?;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    Ok(admin)
}

/// A fresh topic of one partition for raw measurements on the broker at
/// `bootstrap`, made first where the broker does not make topics on first
/// use (`create`: a real broker; librdkafka's mock cluster makes them).
pub(super) async fn raw_topic(bootstrap: &str, create: bool) -> anyhow::Result<String> {
    use blangkon_platform::kafka::{TopicSpec, ensure_topics};
    let topic = format!("blangkon.bench.raw.{}", uuid::Uuid::new_v4().simple());
    if create {
        let settings = blangkon_platform::settings::KafkaSettings {
            bootstrap_servers: bootstrap.into(),
            ..Default::default()
        };
        ensure_topics(&settings, &[TopicSpec::new(&topic, 1)]).await?;
    }
    Ok(topic)
}

/// The broker a benchmark runs against: the one named (`--kafka`, the test
/// broker), or else librdkafka's embedded mock cluster with the suite's
/// topics made (it has no CreateTopics API), kept alive as long as this.
pub(super) struct Broker {
    pub(super) bootstrap: String,
    mock: Option<rdkafka::mocking::MockCluster<'static, rdkafka::producer::DefaultProducerContext>>,
}

impl Broker {
    pub(super) fn new(kafka: Option<&str>) -> anyhow::Result<Self> {
        if let Some(bootstrap) = kafka {
            return Ok(Self {
                bootstrap: bootstrap.to_string(),
                mock: None,
            });
        }
        let mock = rdkafka::mocking::MockCluster::new(1).context("starting the embedded broker")?;
        crate::dev::create_embedded_topics(&mock)?;
        Ok(Self {
            bootstrap: mock.bootstrap_servers(),
            mock: Some(mock),
        })
    }

    /// A real broker, which makes topics on request (not on first use).
    pub(super) fn is_real(&self) -> bool {
        self.mock.is_none()
    }

    /// A suite of services on this broker. On a real broker its topics
    /// and consumer groups are this run's own, the topics made now, so
    /// that earlier runs' records and members stay out and every consumer
    /// finds its topics; the mock cluster holds the suite's topics already.
    pub(super) async fn suite(&self) -> anyhow::Result<blangkon_platform::suite::Suite> {
        use blangkon_platform::kafka::{ensure_topics, topics};
        let mut suite =
            blangkon_platform::suite::Suite::new(self.bootstrap.clone(), order::issuer()?);
        if self.is_real() {
            let run = uuid::Uuid::new_v4().simple();
            suite.kafka.topic_prefix = format!("bench-{run}.");
            // Groups of this run's own too: a member an earlier run left
            // behind must not share this run's partitions.
            suite.kafka.consumer_group_prefix = format!("bench-{run}");
            ensure_topics(&suite.kafka, topics::ALL).await?;
        }
        // A real broker makes each service's dead-letter topics as it
        // starts; the mock cluster takes topics on first use.
        suite.kafka.create_topics = self.is_real();
        Ok(suite)
    }

    /// What the tables name it.
    pub(super) fn name(&self) -> &str {
        if self.is_real() {
            &self.bootstrap
        } else {
            "embedded mock cluster"
        }
    }
}
