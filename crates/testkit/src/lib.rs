//! Test infrastructure shared by the services' integration tests.
//!
//! - [`TestDatabase`]: a fresh PostgreSQL database per test when
//!   `BLANGKON_TEST_DATABASE_URL` names a server (CI does), otherwise a
//!   fresh SQLite file.
//! - [`TestKafka`]: the broker named by `BLANGKON_TEST_KAFKA` (CI runs
//!   tansu), otherwise an in-process librdkafka mock cluster, which speaks
//!   the real Kafka protocol on a loopback port.
//! - [`EventReader`]: reads a topic from the start and decodes envelopes.
//! - [`TestSuite`]: the services under test, started as `blangkon dev`
//!   starts them, with test settings; [`stop`] stops one cleanly or fails.
//! - [`fixtures`]: tokens, requests and catalog listings.
//! - [`provider::TestProvider`]: a real OpenID provider for one test.
//! - [`init_tracing`]: the services' logs with the failing test's output.

#![allow(clippy::expect_used, clippy::panic)]

pub mod browser;
pub mod fixtures;
pub mod provider;
mod suite;

pub use suite::{TestSuite, stop};

use std::collections::HashMap;
use std::time::{Duration, Instant};

use blangkon_proto::events::EventEnvelope;
use prost::Message as _;
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

/// Waits until `probe` answers (`Some`, or `Ok`), for at most `within`, and
/// answers what it answered. Each probe runs under the same deadline, so a
/// probe that hangs fails the test at the deadline instead of hanging it;
/// the failure says `what` was awaited and, for a probe answering
/// `Result`, the last `Err` it saw.
pub async fn eventually<T, Probe, Answer>(what: &str, within: Duration, mut probe: Probe) -> T
where
    Probe: FnMut() -> Answer,
    Answer: std::future::Future,
    Answer::Output: Outcome<T>,
{
    let deadline = tokio::time::Instant::now() + within;
    let mut seen: Option<String> = None;
    let not_within = |seen: Option<String>, during_probe: bool| -> ! {
        let seen = seen.map(|seen| format!("; last seen: {seen}"));
        let during = if during_probe {
            " (it ran out during a probe)"
        } else {
            ""
        };
        panic!(
            "{what}: not within {within:?}{during}{}",
            seen.unwrap_or_default()
        );
    };
    loop {
        match tokio::time::timeout_at(deadline, probe()).await {
            Ok(answer) => match answer.outcome() {
                Ok(answer) => return answer,
                Err(now) => seen = now.or(seen),
            },
            Err(_) => not_within(seen, true),
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            not_within(seen, false);
        }
        // The last probe gets its turn before the deadline, not after it.
        tokio::time::sleep((deadline - now).min(Duration::from_millis(50))).await;
    }
}

/// What a probe of [`eventually`] answers: the awaited `T`, or not yet
/// (with what it saw, where it says).
pub trait Outcome<T> {
    fn outcome(self) -> Result<T, Option<String>>;
}

impl<T> Outcome<T> for Option<T> {
    fn outcome(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T, E: std::fmt::Debug> Outcome<T> for Result<T, E> {
    fn outcome(self) -> Result<T, Option<String>> {
        self.map_err(|seen| Some(format!("{seen:#?}")))
    }
}

/// Whether this is a CI run (`CI` set, and not to `false` or `0`), where
/// every real part a test needs must be there: .ci/run provides them.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "false" | "0"))
}

/// A real part `test` needs is missing. In CI the test fails, naming the
/// part: a broken CI set-up must not pass unseen. Elsewhere it says what it
/// does not test, and the caller returns.
pub fn missing_part(test: &str, part: &str) {
    assert!(!in_ci(), "{test} cannot run in CI without {part}");
    eprintln!("{test} does not run here: it needs {part}");
}

/// Runs `deploy/local/<script> install`, which installs a real part the
/// tests need once per machine and prints where it is; that line, or why
/// the part cannot be had.
pub fn installed_by(script: &str) -> Result<String, String> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/local")
        .join(script);
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg("install")
        .output()
        .map_err(|e| format!("running {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().into())
}

/// Environment variable naming a PostgreSQL server for tests, e.g.
/// `postgres://postgres@127.0.0.1:5432`.
pub const DATABASE_ENV: &str = "BLANGKON_TEST_DATABASE_URL";
/// Environment variable naming an external Kafka broker, `host:port`.
pub const KAFKA_ENV: &str = "BLANGKON_TEST_KAFKA";

/// A database that exists for one test.
pub struct TestDatabase {
    pub url: String,
    /// Server URL and database name to drop afterwards (PostgreSQL).
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A fresh database: on the PostgreSQL server [`DATABASE_ENV`] names,
    /// else a SQLite file. In CI the server must be named.
    pub async fn new() -> Self {
        let server = std::env::var(DATABASE_ENV).unwrap_or_default();
        assert!(
            !(in_ci() && server.trim().is_empty()),
            "CI runs the tests on PostgreSQL: set {DATABASE_ENV}"
        );
        match std::env::var(DATABASE_ENV) {
            Ok(server) if !server.trim().is_empty() => {
                let server = server.trim().trim_end_matches('/').to_string();
                let name = format!("blangkon_test_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(format!("{server}/postgres"))
                    .await
                    .unwrap_or_else(|e| panic!("{DATABASE_ENV}={server}: cannot connect: {e}"));
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                Self {
                    url: format!("{server}/{name}"),
                    postgres: Some((server, name)),
                    _dir: None,
                }
            }
            _ => Self::sqlite(),
        }
    }

    /// A fresh SQLite file, whatever server [`DATABASE_ENV`] names: for
    /// what must hold on both backends.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
        Self {
            url,
            postgres: None,
            _dir: Some(dir),
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// A fresh PostgreSQL database for `test`, which needs a server (to
    /// stop, restart or share); `None`, said why, where there is none. In
    /// CI there must be one.
    pub async fn postgres(test: &str) -> Option<Self> {
        let db = Self::new().await;
        if db.is_postgres() {
            Some(db)
        } else {
            missing_part(test, &format!("PostgreSQL ({DATABASE_ENV})"));
            None
        }
    }

    /// A connection of the test's own, for assertions on what a service
    /// stored.
    pub async fn connect(&self) -> DatabaseConnection {
        Database::connect(self.url.as_str())
            .await
            .expect("connect to the test database")
    }

    /// How many rows `table` holds.
    pub async fn count(&self, table: &str) -> i64 {
        let db = self.connect().await;
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count rows")
            .expect("a count");
        db.close().await.ok();
        row.try_get::<i64>("", "n").expect("a count")
    }
}

/// The tansu broker `deploy/local/tansu.sh install` put in `~/.cargo/bin`
/// (or `$TANSU`), where it is installed.
pub fn tansu_binary() -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let tansu = std::env::var_os("TANSU")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join("bin/tansu"));
    tansu.exists().then_some(tansu)
}

/// The bin directory of the project's Python tools (the OCDS validator,
/// confluent-kafka, the Helm SDK and Kubernetes' schemas), installed on
/// first use by deploy/local/python-tools.sh.
pub fn python_tools() -> std::path::PathBuf {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/local/python-tools.sh");
    let installed = std::process::Command::new("bash")
        .arg(&script)
        .output()
        .expect("run deploy/local/python-tools.sh");
    assert!(
        installed.status.success(),
        "installing the Python tools failed: {}",
        String::from_utf8_lossy(&installed.stderr)
    );
    String::from_utf8_lossy(&installed.stdout).trim().into()
}

/// Shows the logs of the services under test with the failing test's
/// output (`RUST_LOG` to see more). Safe to call from every test.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn,librdkafka=off,rdkafka=off".into()),
        )
        .try_init();
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((server, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime; use a thread with its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(admin) = Database::connect(format!("{server}/postgres")).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// A Kafka-protocol broker for one test.
pub struct TestKafka {
    pub bootstrap: String,
    mock: Option<MockCluster<'static, DefaultProducerContext>>,
}

impl TestKafka {
    /// The external broker if configured, else a fresh mock cluster. In CI
    /// the broker must be named.
    pub fn new() -> Self {
        let named = std::env::var(KAFKA_ENV).unwrap_or_default();
        assert!(
            !(in_ci() && named.trim().is_empty()),
            "CI runs the tests on a real broker: set {KAFKA_ENV}"
        );
        match std::env::var(KAFKA_ENV) {
            Ok(bootstrap) if !bootstrap.trim().is_empty() => Self {
                bootstrap: bootstrap.trim().to_string(),
                mock: None,
            },
            _ => Self::mock(),
        }
    }

    /// The broker at `bootstrap`, which the test started itself.
    pub fn external(bootstrap: impl Into<String>) -> Self {
        Self {
            bootstrap: bootstrap.into(),
            mock: None,
        }
    }

    /// Always an in-process mock cluster: for tests that take the broker
    /// down and up, which an external broker cannot do on command.
    pub fn mock() -> Self {
        let mock = MockCluster::new(1).expect("start mock cluster");
        Self {
            bootstrap: mock.bootstrap_servers(),
            mock: Some(mock),
        }
    }

    pub fn is_mock(&self) -> bool {
        self.mock.is_some()
    }

    /// The librdkafka properties every client of the services under test
    /// takes on this broker (`KafkaSettings::properties`): on an external
    /// broker, one record per producer batch.
    ///
    /// Why: the external broker of CI and of the developers' runs is tansu
    /// 0.6.0 on its in-memory engine, which stores each produced batch as
    /// one object and answers a fetch with the batches that *start* at or
    /// after the offset asked (tansu-storage `dynostore.rs`,
    /// `offsets.split_off(&offset)`). A consumer that resumes from a
    /// committed offset inside a batch (after a rebalance, a rejoin of its
    /// group or a restart) therefore never reads the rest of that batch.
    /// Apache Kafka answers the batch that holds the offset, and the client
    /// passes over the records before it. With one record a batch every
    /// offset starts a batch. The broker-hang fault test once ended with 64
    /// orders' events acknowledged and never applied; this is the one way
    /// found, reading tansu's and librdkafka's sources, that loses them.
    /// The cost: on tansu the tests no longer send batches of several
    /// records, and the services run as processes log that consumers
    /// ignore this producer property.
    pub fn client_properties(&self) -> std::collections::BTreeMap<String, String> {
        let mut properties = std::collections::BTreeMap::new();
        if !self.is_mock() {
            properties.insert("batch.num.messages".to_string(), "1".to_string());
        }
        properties
    }

    /// Creates a topic. The mock cluster does not implement the CreateTopics
    /// API, so it gets the topic through its own control interface.
    pub async fn create_topic(&self, name: &str, partitions: i32) {
        if let Some(mock) = &self.mock {
            mock.create_topic(name, partitions, 1)
                .expect("create mock topic");
            return;
        }
        let admin: rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext> =
            ClientConfig::new()
                .set("bootstrap.servers", &self.bootstrap)
                .set("broker.address.family", "v4")
                .create()
                .expect("admin client");
        let topic = rdkafka::admin::NewTopic::new(
            name,
            partitions,
            rdkafka::admin::TopicReplication::Fixed(1),
        );
        let results = admin
            .create_topics([&topic], &rdkafka::admin::AdminOptions::new())
            .await
            .expect("create topics request");
        for result in results {
            match result {
                Ok(_) | Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => panic!("create topic {topic}: {code:?}"),
            }
        }
    }

    /// Makes the broker unreachable (mock cluster only).
    pub fn broker_down(&self) {
        self.mock
            .as_ref()
            .expect("broker_down needs the mock cluster")
            .broker_down(1)
            .expect("broker down");
    }

    /// Answers the next `errors.len()` produce requests with `errors`, in
    /// order (mock cluster only): how a test makes a producer fail,
    /// fatally or not.
    pub fn fail_produce_requests(&self, errors: &[rdkafka::types::RDKafkaRespErr]) {
        self.mock
            .as_ref()
            .expect("fail_produce_requests needs the mock cluster")
            .request_errors(rdkafka::types::RDKafkaApiKey::Produce, errors);
    }

    pub fn broker_up(&self) {
        self.mock
            .as_ref()
            .expect("broker_up needs the mock cluster")
            .broker_up(1)
            .expect("broker up");
    }
}

impl Default for TestKafka {
    fn default() -> Self {
        Self::new()
    }
}

/// A decoded record of a domain-event topic.
#[derive(Debug, Clone)]
pub struct ReadEvent {
    pub key: String,
    pub envelope: EventEnvelope,
    pub headers: HashMap<String, String>,
}

/// Reads a topic from its beginning with a consumer group of its own.
pub struct EventReader {
    consumer: StreamConsumer,
    topic: String,
    subscribed: std::sync::atomic::AtomicBool,
}

impl EventReader {
    pub fn new(bootstrap: &str, topic: &str) -> Self {
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("broker.address.family", "v4")
            .set("group.id", format!("test-reader-{}", uuid::Uuid::new_v4()))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            // Notice a topic created after subscribing within a second.
            .set("topic.metadata.refresh.interval.ms", "1000")
            .create()
            .expect("test consumer");
        Self {
            consumer,
            topic: topic.to_string(),
            subscribed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Assigns every partition of the topic, from the beginning, once the
    /// topic exists. No consumer group is joined: a join waits for the
    /// group coordinator and rebalances, which on a busy machine outlasted
    /// tests; reading assigned partitions has no such wait.
    async fn subscribe(&self, deadline: Instant) {
        use std::sync::atomic::Ordering;
        if self.subscribed.load(Ordering::Relaxed) {
            return;
        }
        let mut partitions = 0;
        while Instant::now() < deadline {
            partitions = self
                .consumer
                .fetch_metadata(Some(&self.topic), Duration::from_millis(500))
                .ok()
                .and_then(|m| {
                    m.topics()
                        .iter()
                        .find(|t| t.name() == self.topic && t.error().is_none())
                        .map(|t| t.partitions().len())
                })
                .unwrap_or(0);
            if partitions > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut assignment = rdkafka::TopicPartitionList::new();
        for partition in 0..partitions as i32 {
            assignment
                .add_partition_offset(&self.topic, partition, rdkafka::Offset::Beginning)
                .expect("partition offset");
        }
        self.consumer
            .assign(&assignment)
            .expect("assign partitions");
        self.subscribed.store(true, Ordering::Relaxed);
    }

    /// Reads envelopes until `done` holds for what was read, or `timeout`
    /// passes. Records that are not envelopes are passed over.
    pub async fn read_until(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&[ReadEvent]) -> bool,
    ) -> Vec<ReadEvent> {
        let deadline = Instant::now() + timeout;
        self.subscribe(deadline).await;
        let mut events = Vec::new();
        while !done(&events) {
            let Some(record) = self.next_record(deadline).await else {
                break;
            };
            let Ok(envelope) = EventEnvelope::decode(record.value.as_slice()) else {
                continue;
            };
            events.push(ReadEvent {
                key: record.key,
                envelope,
                headers: record.headers,
            });
        }
        events
    }

    /// Reads records as they are (the JSON analyst streams) until `done`
    /// holds for what was read, or `timeout` passes.
    pub async fn read_records_until(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&[RawRecord]) -> bool,
    ) -> Vec<RawRecord> {
        let deadline = Instant::now() + timeout;
        self.subscribe(deadline).await;
        let mut records = Vec::new();
        while !done(&records) {
            let Some(record) = self.next_record(deadline).await else {
                break;
            };
            records.push(record);
        }
        records
    }

    /// The next record, or `None` once `deadline` passed.
    async fn next_record(&self, deadline: Instant) -> Option<RawRecord> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let wait = left.min(Duration::from_millis(500));
            let Ok(Ok(message)) = tokio::time::timeout(wait, self.consumer.recv()).await else {
                continue;
            };
            let key = message
                .key()
                .map(|k| String::from_utf8_lossy(k).into_owned())
                .unwrap_or_default();
            let mut headers = HashMap::new();
            if let Some(h) = message.headers() {
                use rdkafka::message::Headers;
                for header in h.iter() {
                    if let Some(value) = header.value {
                        headers.insert(
                            header.key.to_string(),
                            String::from_utf8_lossy(value).into_owned(),
                        );
                    }
                }
            }
            return Some(RawRecord {
                key,
                value: message.payload().unwrap_or_default().to_vec(),
                headers,
                partition: message.partition(),
                offset: message.offset(),
            });
        }
    }
}

/// A record of any topic, undecoded.
#[derive(Debug, Clone)]
pub struct RawRecord {
    pub key: String,
    pub value: Vec<u8>,
    pub headers: HashMap<String, String>,
    pub partition: i32,
    pub offset: i64,
}

/// A loopback port nobody listens on now, for a service a test starts
/// later on a port it must know first. Drawn below the kernel's ephemeral
/// range (32768 and up by default), from which every `:0` listener of the
/// tests is given its port: a port drawn here is never handed to one of
/// them between the draw and its use.
pub fn free_port() -> u16 {
    for _ in 0..200 {
        let port = rand::random_range(20_000..32_000);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port between 20000 and 32000");
}
